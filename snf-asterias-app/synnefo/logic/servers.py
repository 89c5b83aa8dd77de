"""Servers (virtual machines): create, list, act on and delete them.

The database is the source of truth; ``server_state`` holds the state a user sees and
the path every action on an existing server takes to Ganeti (guard, record, submit,
store the job id). Creation is different: the row is inserted first (BUILD) and a
refused submission leaves it in ERROR with a fault the user can read.
"""

import base64
import binascii
import datetime
import ipaddress
import logging
import secrets
import string

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from synnefo.backend import instances
from synnefo.backend.rapi import RapiError, user_reason
from synnefo.common.protocol import FIREWALL_PROFILES
from synnefo.db.models import (
    KeyPair,
    NetworkInterface,
    User,
    VirtualMachine,
    VirtualMachineMetadata,
)

from . import backend_allocator, consoles, quotas, server_rows
from .errors import (
    BackendUnavailable,
    Conflict,
    InvalidInput,
    NoBackendAvailable,
    NotFound,
    OverLimit,
)
from .flavors import get_flavor
from .ids import parse_id
from .images import get_image, node_osparams
from .metadata import SERVER_VALUE_MAX, check_total, total_after, validate_metadata
from .ports import nics_for_new_server
from .server_state import (
    get_server,
    guard,
    record_action,
    server_command,
    server_not_found,
    server_query,
    store_job,
    submit,
    task_pending,
    visible_servers,
)
from .text import check_no_control

log = logging.getLogger(__name__)


# -- queries ---------------------------------------------------------------------------

def with_details(query):
    """``query`` as rows for the detailed view (``server_rows.complete`` finishes them);
    a constant number of queries for any number of servers."""
    return server_rows.row_query(query)


complete_details = server_rows.complete


def server_details(user, server_id):
    """The server of ``user`` (NotFound as ``get_server``) as a ServerRow with everything
    the detailed view needs: NICs with their network names, metadata. Three queries (the
    row itself read once: a polled view)."""
    rows = complete_details(with_details(server_query(user, server_id)))
    if not rows:
        raise server_not_found(server_id)
    return rows[0]


def parse_changes_since(value, now=None):
    """A timezone-aware datetime from an ISO-8601 value, within the POLL_LIMIT window."""
    now = now or timezone.now()
    try:
        since = parse_datetime(value.strip().replace(" ", "+"))
    except (ValueError, AttributeError):
        since = None
    if since is None:
        raise InvalidInput("'changes-since' must be an ISO-8601 date and time, got %r." % (value,))
    if timezone.is_naive(since):
        since = timezone.make_aware(since, datetime.timezone.utc)
    if since > now + datetime.timedelta(seconds=1):
        raise InvalidInput("'changes-since' is in the future: %s." % value)
    oldest = now - datetime.timedelta(seconds=settings.POLL_LIMIT)
    if since < oldest:
        raise InvalidInput("'changes-since' is too old: it may go back at most %d seconds "
                           "(POLL_LIMIT); ask for a full list instead." % settings.POLL_LIMIT)
    return since


STATUS_FILTERS = {
    "ACTIVE": Q(operstate="STARTED"),
    "SHUTOFF": Q(operstate="STOPPED"),
    "STOPPED": Q(operstate="STOPPED"),
    "BUILD": Q(operstate="BUILD"),
    "ERROR": Q(operstate="ERROR"),
    "REBOOT": Q(operstate="STARTED", action="REBOOT"),
    "RESIZE": Q(action="RESIZE"),
    "DELETED": Q(deleted=True),
}


def filter_servers(user, name=None, status=None, image=None, flavor=None, since=None):
    query = visible_servers(user, include_deleted=since is not None or status == "DELETED")
    if name:
        query = query.filter(name__icontains=name)
    if status:
        cond = STATUS_FILTERS.get(status.upper())
        if cond is None:
            return query.none()
        query = query.filter(cond)
        if status.upper() != "DELETED":
            query = query.filter(deleted=False) if since is None else query
    if image:
        query = query.filter(image_id=ref_id(image) or 0)
    if flavor:
        query = query.filter(flavor_id=ref_id(flavor) or 0)
    if since is not None:
        query = query.filter(updated__gte=since)
    return query


def ref_id(value):
    """The id in a reference: an id, "42", or a link ending in /42; None otherwise."""
    if isinstance(value, str):
        value = value.rstrip("/").rsplit("/", 1)[-1]
    return parse_id(value)


# -- create ----------------------------------------------------------------------------

def generate_password():
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(settings.SERVER_PASSWORD_LENGTH))


def validate_personality(personality):
    """A list of files {"path", "contents" (base64)[, "owner", "group", "mode"]}."""
    if personality is None:
        return []
    if not isinstance(personality, list):
        raise InvalidInput("'personality' must be a list of files.")
    if len(personality) > settings.MAX_PERSONALITY:
        raise OverLimit("At most %d personality files are allowed, got %d (MAX_PERSONALITY)."
                        % (settings.MAX_PERSONALITY, len(personality)), resource="personality")
    files = []
    for i, item in enumerate(personality):
        where = "personality[%d]" % i
        if not isinstance(item, dict):
            raise InvalidInput("'%s' must be an object with 'path' and 'contents'." % where)
        unknown = set(item) - {"path", "contents", "owner", "group", "mode"}
        if unknown:
            raise InvalidInput("'%s' has unknown keys: %s." % (where, ", ".join(sorted(unknown))))
        path, contents = item.get("path"), item.get("contents")
        if not isinstance(path, str) or not path.startswith("/") or len(path) > 255:
            raise InvalidInput("'%s.path' must be an absolute path of at most 255 characters."
                               % where)
        if not isinstance(contents, str):
            raise InvalidInput("'%s.contents' must be a base64 string." % where)
        if len(contents) > settings.MAX_PERSONALITY_SIZE * 4 // 3 + 8:
            raise OverLimit("'%s' is larger than %d bytes (MAX_PERSONALITY_SIZE)."
                            % (where, settings.MAX_PERSONALITY_SIZE), resource="personality")
        try:
            data = base64.b64decode(contents.encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raise InvalidInput("'%s.contents' is not valid base64." % where) from None
        if len(data) > settings.MAX_PERSONALITY_SIZE:
            raise OverLimit("'%s' is larger than %d bytes (MAX_PERSONALITY_SIZE)."
                            % (where, settings.MAX_PERSONALITY_SIZE), resource="personality")
        entry = {"path": path, "contents": contents}
        for key in ("owner", "group"):
            if key in item:
                if not isinstance(item[key], str) or not item[key] or len(item[key]) > 32:
                    raise InvalidInput("'%s.%s' must be a user or group name." % (where, key))
                entry[key] = item[key]
        if "mode" in item:
            mode = item["mode"]
            if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o7777:
                raise InvalidInput("'%s.mode' must be an integer file mode (0-4095)." % where)
            entry["mode"] = mode
        files.append(entry)
    return files


# Nova's limit on the base64 text of user_data.
MAX_USER_DATA = 65535


def validate_user_data(user_data):
    """The base64 text of ``user_data`` (line breaks removed; "" for none); InvalidInput
    when it is not base64 or longer than MAX_USER_DATA characters."""
    if user_data is None:
        return ""
    if not isinstance(user_data, str):
        raise InvalidInput("'user_data' must be a base64 string.")
    text = "".join(user_data.split())  # base64 is often wrapped at 76 columns
    if len(text) > MAX_USER_DATA:
        raise InvalidInput("'user_data' may be at most %d base64 characters, got %d."
                           % (MAX_USER_DATA, len(text)))
    try:
        base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise InvalidInput("'user_data' is not valid base64.") from None
    return text


def create_server(user, name, image_id, flavor_id, **kwargs):
    """One server: (vm, password); see create_servers."""
    vms, password = create_servers(user, name, image_id, flavor_id, **kwargs)
    return vms[0], password


def access_ip(value, version, field):
    """An access address (accessIPv4/6) in canonical text; "" or None clears it."""
    if value is None or value == "":
        return ""
    try:
        address = ipaddress.ip_address(value) if isinstance(value, str) else None
    except ValueError:
        address = None
    # A scoped IPv6 address ("fe80::1%eth0") names a link of the client's, not an address.
    if address is None or address.version != version or getattr(address, "scope_id", None):
        raise InvalidInput("'%s' must be an IPv%d address, got %r." % (field, version,
                                                                       str(value)[:64]))
    return str(address)


def server_names(name, count):
    """Nova's names for a multi-create: "name-1" ... "name-N"; one server keeps ``name``."""
    name = name.strip()
    return [name] if count == 1 else ["%s-%d" % (name, i) for i in range(1, count + 1)]


def create_servers(user, name, image_id, flavor_id, metadata=None, personality=None,
                   key_name=None, networks=None, password=None, user_data=None,
                   min_count=1, max_count=1, access_ipv4=None, access_ipv6=None):
    """Insert the servers (BUILD), choose a backend for each, submit their create jobs.

    As many servers as the quota allows up to ``max_count``, and none unless at least
    ``min_count`` fit (OverLimit naming the resource); several get Nova's suffixed
    names and one password. Returns ([vm, ...], password). The rows are committed before
    Ganeti is called, because an instance name needs its id and the dispatcher must find
    it when the job's first events arrive. When a submission fails that server and the
    ones not yet submitted are left in ERROR with a fault the user can read (and delete),
    never in a phantom BUILD.
    """
    _check_server_name(name, "name")
    if not 1 <= min_count <= max_count:
        raise InvalidInput("'min_count' (%d) must be at least 1 and at most 'max_count' (%d)."
                           % (min_count, max_count))
    _check_server_name(server_names(name, max_count)[-1], "name")  # with its suffix
    metadata = metadata or {}
    validate_metadata(metadata, max_value=SERVER_VALUE_MAX)
    files = validate_personality(personality)
    user_data = validate_user_data(user_data)
    access = {"access_ipv4": access_ip(access_ipv4, 4, "accessIPv4"),
              "access_ipv6": access_ip(access_ipv6, 6, "accessIPv6")}
    image = get_image(user, image_id)
    if image.state != "ACTIVE":
        raise InvalidInput("Image %d is %s, not ACTIVE: choose another image."
                           % (image.id, image.state))
    flavor = get_flavor(flavor_id)
    if flavor.deleted:
        raise InvalidInput("Flavor %d is no longer offered: choose another flavor." % flavor.id)
    if flavor.disk < image.min_disk or flavor.ram < image.min_ram:
        raise InvalidInput("Flavor %s is too small for image %r (it needs %d GiB disk and "
                           "%d MiB RAM)." % (flavor.name, image.name, image.min_disk,
                                             image.min_ram))
    public_key = None
    if key_name:
        try:
            public_key = KeyPair.objects.get(owner=user, name=key_name).public_key
        except KeyPair.DoesNotExist:
            raise InvalidInput("'key_name': you have no key pair named %r." % key_name) from None
    # Validated before the transaction: only ACTIVE networks, at most MAX_NICS, public
    # NICs with the default firewall profile. With "auto" and no public network yet
    # the server gets no NIC at all (Ganeti creates an instance without NICs).
    nics = nics_for_new_server(user, networks)
    password = password or generate_password()

    with transaction.atomic():
        # The user row lock serialises this user's concurrent creates for the quota check.
        owner = User.objects.select_for_update().get(pk=user.pk)
        count = quotas.servers_that_fit(owner, flavor, max_count)
        if count < min_count:
            quotas.check_server_quota(owner, flavor, count=min_count)  # raises, naming why
        vms = []
        for vm_name in server_names(name, count):
            vm = VirtualMachine.objects.create(owner=user, name=vm_name, flavor=flavor,
                                               image=image, key_name=key_name or "",
                                               user_data=user_data, operstate="BUILD",
                                               action="CREATE", **access)
            for key, value in metadata.items():
                VirtualMachineMetadata.objects.create(vm=vm, meta_key=key, meta_value=value)
            for nic in nics:
                NetworkInterface.objects.create(
                    machine=vm, network=nic.network, index=nic.index, state=nic.state,
                    firewall_profile=nic.firewall_profile)
            vms.append(vm)

    for i, vm in enumerate(vms):
        try:
            _submit_create(vm, password, files, public_key, image)
        except Exception as exc:
            known = isinstance(exc, (RapiError, NoBackendAvailable))
            for unsent in vms[i:]:
                _fail_submission(unsent, exc if known else None)
            if not known:
                raise
            raise BackendUnavailable(
                "Server %s could not be submitted to the compute cluster (%s). It is now in "
                "ERROR: delete it and try again later."
                % (", ".join(str(v.id) for v in vms[i:]), user_reason(exc))) from None
    return vms, password


def _submit_create(vm, password, files, public_key, image):
    backend = backend_allocator.allocate_backend(vm.flavor)
    VirtualMachine.objects.filter(pk=vm.pk).update(backend=backend)
    vm.backend = backend
    job_id = instances.create_instance(vm, password, personality=files or None,
                                       public_key=public_key,
                                       image_params=node_osparams(image))
    VirtualMachine.objects.filter(pk=vm.pk).update(task_job_id=job_id)
    VirtualMachine.objects.filter(pk=vm.pk, backendjobid__isnull=True).update(
        backendjobid=job_id, backendopcode="OP_INSTANCE_CREATE", backendjobstatus="queued")
    vm.refresh_from_db()


def _fail_submission(vm, exc):
    reason = user_reason(exc) if exc is not None else "an internal error"
    log.warning("submitting the create job of server %d failed: %s", vm.id, reason)
    VirtualMachine.objects.filter(pk=vm.pk).update(
        operstate="ERROR", action="", task_job_id=None,
        fault_message="The server could not be created: the compute cluster refused the "
                      "request or was unreachable. Delete the server and try again later.",
        fault_details=reason, updated=timezone.now())


# -- actions -----------------------------------------------------------------------------

def start_server(user, server_id):
    return server_command(user, server_id, "START", instances.startup_instance,
                          suspended=False)


def stop_server(user, server_id):
    return server_command(user, server_id, "STOP", instances.shutdown_instance)


def reboot_server(user, server_id, reboot_type):
    if not isinstance(reboot_type, str) or reboot_type.upper() not in ("SOFT", "HARD"):
        raise InvalidInput("'reboot.type' must be SOFT or HARD, got %r." % (reboot_type,))
    kind = reboot_type.lower()
    return server_command(user, server_id, "REBOOT",
                          lambda vm: instances.reboot_instance(vm, kind))


def resize_server(user, server_id, flavor_id):
    """Change CPUs and RAM to those of another flavor with the same disk."""
    flavor = get_flavor(flavor_id)
    if flavor.deleted:
        raise InvalidInput("Flavor %d is no longer offered: choose another flavor." % flavor.id)
    owner_id = get_server(user, server_id).owner_id
    with transaction.atomic():
        # Lock order as in create_server: the owner's row, then the server's.
        owner = User.objects.select_for_update().get(pk=owner_id)
        vm = get_server(user, server_id, for_update=True)
        guard(vm, "RESIZE")
        old = vm.flavor
        if flavor.id == old.id:
            raise InvalidInput("Server %d already has flavor %s." % (vm.id, flavor.name))
        if flavor.disk != old.disk or flavor.disk_template != old.disk_template:
            raise InvalidInput("A resize changes CPUs and RAM only: flavor %s has a different "
                               "disk than %s; choose one with %d GiB %s."
                               % (flavor.name, old.name, old.disk, old.disk_template))
        quotas.check_server_quota(owner, flavor, adding_server=False, old_flavor=old)
        # The flavor changes when the dispatcher sees the job succeed (callbacks read
        # the new beparams), so a failed job leaves the old flavor in place.
        previous = record_action(vm, "RESIZE")
    job_id = submit(vm, lambda vm: instances.resize_instance(vm, flavor),
                    "resize of server %d" % vm.id, "RESIZE", previous)
    store_job(vm, "RESIZE", previous, job_id)
    return job_id


def _firewall_nic(vm, nic_id):
    """The public NIC a firewall profile is for: ``nic_id`` names it by its port id
    (the network API's) or its attachment id (``nic-<server>-<index>``, SNF:attachments);
    None: the first public NIC, as the original action did."""
    public = vm.nics.filter(network__public=True).order_by("index")
    if nic_id is None:
        nic = public.first()
        if nic is None:
            raise Conflict("Server %d has no public network interface to protect." % vm.id)
        return nic
    text = str(nic_id) if isinstance(nic_id, (str, int)) and not isinstance(nic_id, bool) \
        else ""
    prefix = "nic-%d-" % vm.id
    if text.startswith(prefix):
        index = text[len(prefix):]
        nic = vm.nics.filter(index=int(index)).first() \
            if index.isascii() and index.isdigit() and len(index) < 6 else None
    else:
        port = parse_id(text)
        nic = vm.nics.filter(pk=port).first() if port is not None else None
    if nic is None:
        raise InvalidInput("Server %d has no network interface %r (give a port id or an "
                           "attachment id)." % (vm.id, nic_id))
    if not nic.network.public:
        raise Conflict("Firewall profiles apply to public network interfaces only; %r is "
                       "on a private network." % (nic_id,))
    return nic


def set_firewall_profile(user, server_id, profile, nic_id=None):
    """Set the firewall profile of one public NIC of the server (``_firewall_nic``)."""
    if profile not in FIREWALL_PROFILES:
        raise InvalidInput("'firewallProfile.profile' must be one of %s, got %r."
                           % (", ".join(FIREWALL_PROFILES), profile))
    vm = get_server(user, server_id)
    guard(vm, "MODIFY")
    nic = _firewall_nic(vm, nic_id)
    job_id = server_command(
        user, server_id, "MODIFY",
        lambda vm: instances.set_firewall_profile(vm, nic.index, profile), record=False)
    # The wanted profile is recorded as soon as Ganeti accepted the tag job: the
    # DB does not wait for a hook run (no dummy instance modification). The tag
    # job's op-status confirms it (callbacks), and the hook reports the same tag at
    # every later instance operation.
    now = timezone.now()
    NetworkInterface.objects.filter(pk=nic.pk).update(firewall_profile=profile, updated=now)
    VirtualMachine.objects.filter(pk=vm.pk).update(updated=now)
    return job_id


def console(user, server_id, console_type):
    """A one-shot console of an ACTIVE server of ``user`` through snf-vncauthproxy.

    ``vnc``: {"type", "host", "port", "password"} for a VNC client (Synnefo's action);
    ``novnc``: {"type", "url"}, noVNC on a WebSocket forwarding (Nova's).
    """
    if console_type not in ("vnc", "novnc"):
        raise InvalidInput("Console type must be 'vnc' (or 'novnc'), got %r." % (console_type,))
    vm = get_server(user, server_id)
    guard(vm, "CONSOLE")
    try:
        node = instances.get_console_info(vm)
    except RapiError as exc:
        log.error("console of server %d: %s", vm.id, exc)
        raise BackendUnavailable("The console of server %d cannot be reached right now; "
                                 "try again later." % vm.id) from None
    password = consoles.new_password()
    kind = "vnc" if console_type == "vnc" else consoles.websocket_type()
    port = consoles.request_forwarding(node["host"], node["port"], password, kind)
    host = consoles.public_host()
    log.info("console of server %d (%s:%s) for user %s: proxy port %d (%s)", vm.id,
             node["host"], node["port"], user.id, port, kind)
    if console_type == "vnc":
        return {"type": "vnc", "host": host, "port": port, "password": password}
    return {"type": "novnc", "url": consoles.novnc_url(host, port, password)}


def _check_server_name(name, field):
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise InvalidInput("'%s' must be a non-empty string of at most 255 characters." % field)
    check_no_control(name, "'%s'" % field)


def update_server(user, server_id, name=None, access_ipv4=None, access_ipv6=None):
    """PUT /servers/<id>: the name and the access addresses (each only when given)."""
    changes = {}
    if name is not None:
        _check_server_name(name, "server.name")
        changes["name"] = name.strip()
    if access_ipv4 is not None:
        changes["access_ipv4"] = access_ip(access_ipv4, 4, "server.accessIPv4")
    if access_ipv6 is not None:
        changes["access_ipv6"] = access_ip(access_ipv6, 6, "server.accessIPv6")
    vm = get_server(user, server_id)
    if changes:
        VirtualMachine.objects.filter(pk=vm.pk).update(updated=timezone.now(), **changes)
    return get_server(user, server_id)



def delete_server(user, server_id):
    """Ask Ganeti to remove the server. It stays visible (task "deleting") until the
    dispatcher records the removal; a server that never reached Ganeti goes at once."""
    with transaction.atomic():
        vm = get_server(user, server_id, for_update=True)
        if vm.action == "DESTROY" and task_pending(vm):
            return None  # already being deleted: DELETE is idempotent
        never_submitted = vm.backend_id is None or (
            vm.operstate == "ERROR" and vm.backendjobid is None and vm.task_job_id is None)
        if never_submitted:
            VirtualMachine.objects.filter(pk=vm.pk).update(
                deleted=True, operstate="DESTROYED", action="DESTROY", updated=timezone.now())
            return None
        # While the create job runs, the instance is not in Ganeti's config yet: a remove
        # would fail at once ("not known", so the row goes) and the create would then
        # leave an orphan instance. Ganeti starts the remove after the create instead.
        create_job = (vm.task_job_id if vm.operstate == "BUILD" and vm.action == "CREATE"
                      else None)
        previous = record_action(vm, "DESTROY", updated=timezone.now())
    job_id = submit(vm, lambda vm: instances.delete_instance(vm, after_job=create_job),
                    "deletion of server %d" % vm.id, "DESTROY", previous)
    store_job(vm, "DESTROY", previous, job_id)
    return job_id


# -- metadata --------------------------------------------------------------------------

def server_metadata(vm):
    return {m.meta_key: m.meta_value for m in vm.metadata.all()}


def update_metadata(user, server_id, items, replace=False):
    validate_metadata(items, max_value=SERVER_VALUE_MAX)
    with transaction.atomic():
        vm = get_server(user, server_id, for_update=True)
        current = vm.metadata.values_list("meta_key", flat=True)
        check_total(total_after(current, items, replace), "Server %d" % vm.id)
        if replace:
            vm.metadata.exclude(meta_key__in=list(items)).delete()
        for key, value in items.items():
            VirtualMachineMetadata.objects.update_or_create(vm=vm, meta_key=key,
                                                            defaults={"meta_value": value})
        VirtualMachine.objects.filter(pk=vm.pk).update(updated=timezone.now())
    return server_metadata(vm)


def delete_metadata_item(user, server_id, key):
    vm = get_server(user, server_id)
    deleted, _ = vm.metadata.filter(meta_key=key).delete()
    if not deleted:
        raise NotFound("Server %d has no metadata item %r." % (vm.id, key))
    VirtualMachine.objects.filter(pk=vm.pk).update(updated=timezone.now())
