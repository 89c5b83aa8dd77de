"""What the administrator interfaces (the web admin at /admin/ and the admin API under
/admin/api/) read and do. Every read returns plain rows (dicts) so both front ends
render the same thing; every change is one ``perform`` call, which validates, runs the
logic function snf-manage uses where there is one, and writes the audit record."""

import os

from django.db.models import Count, Q

from synnefo.backend import cluster
from synnefo.backend.rapi import RapiError, user_reason
from synnefo.db.models import Backend, Flavor, Image, Network, User, VirtualMachine

from . import (
    audit,
    backends,
    dead_letters,
    flavors,
    identity,
    image_store,
    images,
    invitations,
    login_throttle,
    network_admin,
    quotas,
    server_state,
    servers,
    users,
)
from .errors import Conflict, InvalidInput, LogicError, NotFound
from .ids import parse_id
from .management.commands._backends import backend_row
from .management.commands._flavors import flavor_row
from .management.commands._images import image_row
from .management.commands._networks import network_row
from .management.commands._servers import server_row
from .management.commands._users import user_row

# Seconds each RAPI read of the dashboard may take: a dead cluster shows "unreachable".
STATUS_TIMEOUT = 5
SERVER_FILTERS = ("state", "user", "backend", "image", "flavor", "name")
LIST_LIMIT = 500


# -- reading ------------------------------------------------------------------------------

def backend_status(backend):
    """The dashboard's row of one backend: its live state over RAPI, or why not."""
    row = {"id": backend.id, "clustername": backend.clustername, "drained": backend.drained,
           "offline": backend.offline, "reachable": False, "error": ""}
    if backend.offline:
        row["error"] = "offline (not contacted)"
        return row
    try:
        status = cluster.cluster_status(backend, STATUS_TIMEOUT)
    except RapiError as exc:
        row["error"] = "unreachable: %s" % user_reason(exc)
        return row
    row.update(status._asdict(), reachable=True)
    return row


def dashboard():
    states = dict(VirtualMachine.objects.filter(deleted=False).values_list("operstate")
                  .annotate(n=Count("id")).order_by())
    return {
        "users": User.objects.count(),
        "users_suspended": User.objects.filter(state=User.STATE_SUSPENDED).count(),
        "servers": sum(states.values()), "servers_by_state": dict(sorted(states.items())),
        "images": Image.objects.exclude(state=Image.STATE_DELETED).count(),
        "flavors": Flavor.objects.filter(deleted=False).count(),
        "networks": Network.objects.filter(deleted=False).count(),
        "backends": [backend_status(b) for b in Backend.objects.all()],
        "dead_letters": dead_letters.total_depth(),
    }


def list_users(search=""):
    query = User.objects.all().order_by("name")
    if search:
        query = query.filter(Q(name__icontains=search) | Q(email__icontains=search))
    return [user_row(u) for u in query[:LIST_LIMIT]]


def user_detail(name_or_id):
    user = users.get_user(name_or_id)
    row = user_row(user)
    row["usage"] = quotas.usage(user)
    row["usage"]["networks"] = user.networks.filter(deleted=False).count()
    row["usage"]["image_space"] = images.space_used(user)
    row["invitations"] = invitations.invitation_quota(user)
    row["usage"]["invitations"] = row["invitations"] - invitations.invitations_left(user)
    row["server_list"] = [server_row(vm) for vm in _servers().filter(owner=user)]
    row["network_list"] = [network_row(n) for n in user.networks.filter(deleted=False)]
    return row


def _servers():
    return VirtualMachine.objects.filter(deleted=False).select_related(
        "owner", "flavor", "image", "backend").order_by("-id")


def list_servers(**filters):
    """Servers of every user; filters: state (ACTIVE, STOPPED... or a Ganeti operstate),
    user (name or id), backend (cluster name or id), image, flavor (ids), name (part)."""
    unknown = set(filters) - set(SERVER_FILTERS)
    if unknown:
        raise InvalidInput("Unknown filter(s) %s; known: %s."
                           % (", ".join(sorted(unknown)), ", ".join(SERVER_FILTERS)))
    query = _servers()
    f = {k: str(v).strip() for k, v in filters.items() if v not in (None, "")}
    if "user" in f:
        query = query.filter(owner=users.get_user(f["user"]))
    if "backend" in f:
        query = query.filter(backend=get_backend(f["backend"]))
    for field in ("image", "flavor"):
        if field in f:
            query = query.filter(**{field + "_id": _number(f[field], field)})
    if "name" in f:
        query = query.filter(name__icontains=f["name"])
    state = f.get("state", "").upper()
    if state:
        # in the database first (so the limit counts matches only): the Ganeti states
        # the status can come from; REBOOT and RESIZE are ACTIVE/SHUTOFF servers busy
        query = query.filter(operstate__in=[
            op for op, status in server_state.OPERSTATE_TO_STATUS.items()
            if state in (op, status) or (state in server_state.ACTION_TO_STATUS.values()
                                         and status in ("ACTIVE", "SHUTOFF"))])
    rows = [server_row(vm) for vm in query[:LIST_LIMIT]]
    return [r for r in rows if not state or state in (r["status"], r["operstate"])]


def _number(text, what):
    number = parse_id(text)
    if number is None:
        raise InvalidInput("%s must be a numeric id, got %r." % (what, text))
    return number


def _admin_server(server_id):
    vm = _servers().filter(pk=_number(server_id, "server")).first()
    if vm is None:
        raise server_state.server_not_found(server_id)
    return vm


def server_detail(server_id):
    """The server with its last Ganeti job, its fault and the admin actions on it."""
    vm = _admin_server(server_id)
    row = server_row(vm, full=True)
    row["fault"] = ({"code": vm.fault_code, "message": vm.fault_message,
                     "details": vm.fault_details} if vm.fault_message else None)
    row["history"] = [audit.entry_row(e) for e in audit.entries(target="server %d" % vm.id)]
    return row


def list_flavors():
    query = Flavor.objects.annotate(
        live_servers=Count("servers", filter=Q(servers__deleted=False))).order_by("id")
    return [flavor_row(f) for f in query]


def list_images():
    return [image_row(i) for i in Image.objects.exclude(state=Image.STATE_DELETED)
            .select_related("owner").order_by("id")]


def store_files():
    """Files of the image store (IMAGE_STORE_DIR) no image uses yet: what can be
    registered."""
    try:
        names = sorted(os.listdir(image_store.directory()))
    except OSError:
        return []
    used = set(Image.objects.exclude(state=Image.STATE_DELETED)
               .values_list("backend_id", flat=True))
    return [n for n in names if image_store.valid_name(n) and n not in used
            and os.path.isfile(image_store.path_of(n))]


def list_networks(public_only=False):
    query = Network.objects.filter(deleted=False).select_related("owner").order_by("id")
    if public_only:
        query = query.filter(public=True)
    return [network_row(n) for n in query]


def list_invitations():
    return [{"id": i.id, "inviter": i.inviter.name, "email": i.email,
             "created": i.created.strftime("%Y-%m-%d %H:%M:%S"),
             "sent": i.sent.strftime("%Y-%m-%d %H:%M:%S"), "send_count": i.send_count,
             "accepted": i.accepted.strftime("%Y-%m-%d %H:%M:%S") if i.accepted else None,
             "user": i.user.name if i.user_id else None}
            for i in invitations.list_invitations()[:LIST_LIMIT]]


def get_backend(ident):
    text = str(ident)
    query = Backend.objects.filter(pk=parse_id(text)) if text.isdigit() else \
        Backend.objects.filter(clustername=text)
    backend = query.first()
    if backend is None:
        raise NotFound("No backend %r." % text)
    return backend


def list_backends():
    return [backend_row(b) for b in Backend.objects.all()]


# -- changing -----------------------------------------------------------------------------

def _flag(params, key, default=None):
    value = params.get(key, default)
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "yes", "true", "on"):
        return True
    if text in ("0", "no", "false", "off", ""):
        return False
    raise InvalidInput("%s must be yes or no, got %r." % (key, value))


def _int(params, key, default=None, minimum=0):
    value = params.get(key, default)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise InvalidInput("%s must be a whole number, got %r." % (key, value)) from None
    if number < minimum:
        raise InvalidInput("%s must be at least %d, got %d." % (key, minimum, number))
    return number


def _text(params, key, required=True):
    value = params.get(key)
    if value is None or (required and not str(value).strip()):
        if required:
            raise InvalidInput("%s is required." % key)
        return None
    if not isinstance(value, (str, int)):
        raise InvalidInput("%s must be text, got %r." % (key, value))
    return str(value).strip()


def _stop_for_suspension(admin, vm):
    """Stop a running server of a suspended user/server; the reason it could not."""
    if vm.operstate != "STARTED":
        return None
    try:
        servers.stop_server(admin, vm.id)
    except LogicError as exc:
        return "server %d: %s" % (vm.id, exc)
    return None


def _suspend_servers(admin, query, suspended):
    """Mark the servers (un)suspended; suspending stops the running ones first."""
    problems = []
    if suspended:
        problems = [p for p in (_stop_for_suspension(admin, vm) for vm in query) if p]
    query.update(suspended=suspended)
    return problems


def _user_suspend(admin, params, suspended):
    user = users.get_user(_text(params, "user"))
    if user.id == admin.id:
        raise Conflict("Administrators cannot suspend themselves.")
    users.modify_user(user, state=User.STATE_SUSPENDED if suspended else User.STATE_ACTIVE)
    problems = _suspend_servers(admin, user.servers.filter(deleted=False), suspended)
    return "user %s" % user.name, {"not_stopped": problems}


def _secret(params, key):
    """A password as given (spaces are part of it); None when empty or absent."""
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise InvalidInput("%s must be text." % key)
    return value or None


def _user_create(admin, params):
    user = users.create_user(_text(params, "name"), email=_text(params, "email", False) or "",
                             password=_secret(params, "password"),
                             is_admin=_flag(params, "admin", False))
    return "user %s" % user.name, {"id": user.id}


def _user_quotas(admin, params):
    """Quotas (-1: back to the default), the invitation quota among them."""
    user = users.get_user(_text(params, "user"))
    values = {field: _int(params, field, minimum=-1) for field in users.QUOTA_FIELDS}
    users.modify_user(user, **values)
    count = _int(params, "max_invitations", minimum=-1)
    if count is not None:
        invitations.set_invitation_quota(user, None if count == -1 else count)
    return "user %s" % user.name, {}


def _invitation_resend(admin, params):
    invitation = invitations.get_invitation(_text(params, "invitation"))
    invitations.resend(invitation)
    return "invitation %d" % invitation.id, {"email": invitation.email}


def _server_action(action):
    def run(admin, params):
        vm = _admin_server(_text(params, "server"))
        if action == "start":
            job = servers.start_server(admin, vm.id)
        elif action == "stop":
            job = servers.stop_server(admin, vm.id)
        elif action == "reboot":
            job = servers.reboot_server(admin, vm.id, _text(params, "type", False) or "SOFT")
        else:
            job = servers.delete_server(admin, vm.id)
        return "server %d" % vm.id, {"job": job}
    return run


def _server_suspend(suspended):
    def run(admin, params):
        vm = _admin_server(_text(params, "server"))
        problems = _suspend_servers(admin, VirtualMachine.objects.filter(pk=vm.pk), suspended)
        if problems:
            raise Conflict("Not suspended: %s" % problems[0])
        return "server %d" % vm.id, {}
    return run


def _flavor_create(admin, params):
    created, existing = flavors.create_flavors(
        [params.get("cpu")], [params.get("ram")], [params.get("disk")],
        [_text(params, "disk_template", False)] if params.get("disk_template") else None)
    flavor = (created or existing)[0]
    if existing:
        raise Conflict("Flavor %s exists already (id %d)." % (flavor.name, flavor.id))
    return "flavor %d" % flavor.id, {"name": flavor.name}


def _flavor_deleted(deleted):
    def run(admin, params):
        flavor = flavors.get_flavor(_text(params, "flavor"))
        flavors.set_deleted(flavor, deleted)
        return "flavor %d" % flavor.id, {"name": flavor.name}
    return run


def _image_register(admin, params):
    name = _text(params, "file")
    if name not in store_files():
        raise InvalidInput("%r is not an unregistered file of the image store." % name)
    image = images.register_file(_text(params, "name", False) or name,
                                 image_store.path_of(name), public=_flag(params, "public", True))
    return "image %d" % image.id, {"file": name}


def _image_visibility(admin, params):
    image = images.get_image(admin, _text(params, "image"))
    public = _flag(params, "public")
    if public is None:
        raise InvalidInput("public is required (yes or no).")
    images.update_image(admin, image, [("replace", "visibility",
                                        "public" if public else "private")])
    return "image %d" % image.id, {"public": public}


def _certificate(params):
    """The PEM certificate to pin from ``certificate`` (None when not given)."""
    text = _text(params, "certificate", False)
    if not text:
        return None
    try:
        return backends.pinned_certificate(text, "the certificate given")
    except backends.BackendError as exc:
        raise InvalidInput(str(exc)) from None


def _pinned(backend):
    """The audit log's record of the pinned certificate: its fingerprint, not the PEM."""
    return backends.certificate_fingerprint(backend.certificate) \
        if backend.certificate else None


def _backend_add(admin, params):
    """As snf-manage backend-add: a checked cluster also gets the existing networks."""
    check = _flag(params, "check", True)
    try:
        backend = backends.add_backend(
            _text(params, "clustername"), port=_int(params, "port", 5080, minimum=1),
            username=_text(params, "username", False) or "",
            password=_secret(params, "password") or "", certificate=_certificate(params),
            check=check)
    except backends.BackendError as exc:
        raise InvalidInput(str(exc)) from None
    result = {"id": backend.id, "pinned": _pinned(backend)}
    if check:
        try:
            result["networks"] = [n.id for n in network_admin.ensure_on_backend(backend)]
        except RapiError as exc:
            result["networks_failed"] = user_reason(exc)  # backend-modify --refresh retries
    return "backend %s" % backend.clustername, result


def _backend_modify(admin, params):
    backend = get_backend(_text(params, "backend"))
    for field in ("drained", "offline"):
        value = _flag(params, field)
        if value is not None:
            setattr(backend, field, value)
    port = _int(params, "port", minimum=1)
    if port is not None:
        backend.port = port
    if params.get("username") is not None:
        backend.username = _text(params, "username", False) or ""
    password = _secret(params, "password")
    if password:
        backend.password = password
    certificate, unpin = _certificate(params), _flag(params, "unpin")
    if certificate and unpin:
        raise InvalidInput("certificate and unpin exclude each other.")
    result = {}
    if certificate or unpin:
        backend.certificate = certificate or ""
        result["pinned"] = _pinned(backend)
    backend.save()
    return "backend %s" % backend.clustername, result


def _dead_letters_retry(admin, params):
    queue = _text(params, "queue")
    retried, dropped = dead_letters.retry(queue)
    return "queue %s" % queue, {"retried": retried, "dropped_loops": dropped}


def _dead_letters_drop(admin, params):
    queue = _text(params, "queue")
    return "queue %s" % queue, {"dropped": dead_letters.drop(queue)}


# name -> function(admin, params) -> (target, details for the audit log)
OPERATIONS = {
    "user.create": _user_create,
    "user.suspend": lambda a, p: _user_suspend(a, p, True),
    "user.unsuspend": lambda a, p: _user_suspend(a, p, False),
    "user.quotas": _user_quotas,
    **{"server.%s" % name: _server_action(name)
       for name in ("start", "stop", "reboot", "delete")},
    "server.suspend": _server_suspend(True),
    "server.unsuspend": _server_suspend(False),
    "flavor.create": _flavor_create,
    "flavor.disable": _flavor_deleted(True),
    "flavor.enable": _flavor_deleted(False),
    "image.register": _image_register,
    "image.visibility": _image_visibility,
    "backend.add": _backend_add,
    "backend.modify": _backend_modify,
    "invitation.resend": _invitation_resend,
    "deadletters.retry": _dead_letters_retry,
    "deadletters.drop": _dead_letters_drop,
}
# Parameters the audit log shows as "(set)": secrets, and PEM certificates (the
# operation's result records the fingerprint, which administrators compare).
UNSHOWN_PARAMS = ("password", "certificate")


def perform(admin, operation, params, address="", via="web"):
    """Run ``operation`` (a key of OPERATIONS) for ``admin`` with ``params`` (a dict of
    strings or JSON values) and record it; -> the audit entry's row. Refusals raise the
    logic error (nothing is recorded)."""
    if not getattr(admin, "is_admin", False):
        raise NotFound("No such operation.")
    run = OPERATIONS.get(operation)
    if run is None:
        raise NotFound("Unknown operation %r; known: %s."
                       % (operation, ", ".join(sorted(OPERATIONS))))
    if not isinstance(params, dict):
        raise InvalidInput("The parameters must be an object.")
    target, result = run(admin, params)
    shown = {k: ("(set)" if k in UNSHOWN_PARAMS and v else v) for k, v in params.items()}
    entry = audit.record(admin, operation, target, dict(shown, result=result), address, via)
    return audit.entry_row(entry)


def audit_log(limit=200, user=None):
    return [audit.entry_row(e) for e in audit.entries(limit, user=user)]


# -- signing in ---------------------------------------------------------------------------

WEB_SESSION_LIFETIME = 8 * 3600  # seconds a web admin sign-in lasts


def sign_in(name, password, address):
    """A token for an administrator's password sign-in to the web admin, throttled like
    the identity API's logins; the same AuthenticationFailed for a wrong password and
    for a user who is not an administrator (the page tells nobody who is one)."""
    user = identity.find_login_user(name=name if isinstance(name, str) else None)
    user_key = login_throttle.user_key(user, name)
    address_key = login_throttle.address_key(address)
    login_throttle.check(user_key, address_key)
    try:
        if user is not None and not user.is_admin:
            identity.login(None, password)  # costs the same as a real check
        secret, _row = identity.login(user, password, lifetime=WEB_SESSION_LIFETIME)
    except identity.AuthenticationFailed:
        login_throttle.record_failure(user_key, address_key)
        raise
    login_throttle.record_success(user_key)
    return secret


def admin_for_token(secret):
    """The administrator a token (web session or X-Auth-Token) belongs to; None when the
    token is not valid or its user is not an administrator."""
    try:
        user = identity.lookup_token(secret).user
    except identity.AuthenticationFailed:
        return None
    return user if user.is_admin else None


def sign_out(secret):
    try:
        identity.revoke_token(secret, identity.lookup_token(secret).user)
    except identity.AuthenticationFailed:
        pass  # expired or revoked already
