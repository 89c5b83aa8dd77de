"""Identity: Keystone v3 and v2.0 shaped token endpoints over our own users and tokens.

Each user is their own project (tenant): project id = user id, project name = user
name. The catalog lists this service's compute, image, identity and network endpoints
under API_PUBLIC_BASE_URL.
"""

from django.conf import settings

from synnefo.logic import identity, login_throttle

from . import faults
from .client_address import client_address
from .util import (
    api_view,
    authenticate,
    base_url,
    empty_response,
    isotime,
    json_response,
    parse_body,
)

DOMAIN = {"id": "default", "name": "Default"}


def _iso_micro(value):
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ") if value else None


def _roles(user):
    roles = [{"id": "member", "name": "member"}, {"id": "reader", "name": "reader"}]
    if user.is_admin:
        roles.append({"id": "admin", "name": "admin"})
    return roles


def _endpoints(request):
    base = base_url(request)
    return [("compute", "nova", base + "/compute/v2.1"),
            ("image", "glance", base + "/image"),
            ("identity", "keystone", base + "/identity/v3"),
            ("network", "neutron", base + "/network")]


def _v3_catalog(request):
    region = settings.API_REGION_NAME
    catalog = []
    for service_type, name, url in _endpoints(request):
        catalog.append({"id": service_type, "type": service_type, "name": name, "endpoints": [
            {"id": "%s-%s" % (service_type, iface), "interface": iface, "region": region,
             "region_id": region, "url": url} for iface in ("public", "internal", "admin")]})
    return catalog


def _v3_token(request, row, methods=("password",), with_catalog=True):
    user = row.user
    expires = row.expires
    body = {"methods": list(methods),
            "user": {"id": str(user.id), "name": user.name, "domain": DOMAIN,
                     "password_expires_at": None},
            "project": {"id": str(user.id), "name": user.name, "domain": DOMAIN},
            "roles": _roles(user),
            "is_domain": False,
            "issued_at": _iso_micro(row.created),
            "expires_at": _iso_micro(expires) or "2099-12-31T23:59:59.000000Z",
            "audit_ids": [row.key_hash[:22]]}
    if with_catalog:
        body["catalog"] = _v3_catalog(request)
    return {"token": body}


def _v3_versions(request):
    return {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": base_url(request) + "/identity/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}


def _v2_versions(request):
    return {"id": "v2.0", "status": "deprecated", "updated": "2016-08-04T00:00:00Z",
            "links": [{"rel": "self", "href": base_url(request) + "/identity/v2.0/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v2.0+json"}]}


@api_view(["GET"], auth=False, style="keystone")
def versions(request):
    return json_response({"versions": {"values": [_v3_versions(request),
                                                  _v2_versions(request)]}}, status=300)


@api_view(["GET"], auth=False, style="keystone")
def v3_root(request):
    return json_response({"version": _v3_versions(request)})


@api_view(["GET"], auth=False, style="keystone")
def v2_root(request):
    return json_response({"version": _v2_versions(request)})


def _v3_credentials(body):
    """(user name or None, user id or None, password) from a v3 password auth request."""
    auth = body.get("auth")
    if not isinstance(auth, dict) or not isinstance(auth.get("identity"), dict):
        raise faults.BadRequest("'auth.identity' is required.")
    ident = auth["identity"]
    methods = ident.get("methods")
    if not isinstance(methods, list) or not methods:
        raise faults.BadRequest("'auth.identity.methods' must list the auth methods.")
    return ident, methods, auth.get("scope")


def _check_scope(scope, user):
    """A scope naming another project than the user's own is refused (401)."""
    if not scope:
        return
    if not isinstance(scope, dict):
        raise faults.BadRequest("'auth.scope' must be an object.")
    project = scope.get("project")
    if project is None:
        if "system" in scope or "domain" in scope:
            return  # treated as the user's own project
        raise faults.BadRequest("'auth.scope' must name a project.")
    if not isinstance(project, dict):
        raise faults.BadRequest("'auth.scope.project' must be an object.")
    if "id" in project and str(project["id"]) != str(user.id):
        raise faults.Unauthorized("User %s has no access to project %s: every user has one "
                                  "project, named after the user." % (user.name, project["id"]))
    if "name" in project and project["name"] != user.name:
        raise faults.Unauthorized("User %s has no access to project %s: every user has one "
                                  "project, named after the user." % (user.name,
                                                                      project["name"]))


def _password_login(request, password, name=None, user_id=None):
    """(token, Token row) for a password login, throttled per account and per source
    address (synnefo.logic.login_throttle): 429 with Retry-After once either has had too
    many failures; unknown users count like known ones."""
    if not isinstance(name, (str, type(None))) or isinstance(user_id, bool) \
            or not isinstance(user_id, (str, int, type(None))):
        raise faults.BadRequest("A user's 'name' and 'id' are strings.")
    user = identity.find_login_user(name=name, user_id=user_id)
    user_key = login_throttle.user_key(user, name, user_id)
    address_key = login_throttle.address_key(client_address(request))
    try:
        login_throttle.check(user_key, address_key)
    except login_throttle.Throttled as exc:
        raise faults.TooManyRequests(str(exc), headers={"Retry-After": str(exc.retry_after)}) \
            from None
    try:
        secret, row = identity.login(user, password)
    except identity.AuthenticationFailed as exc:
        login_throttle.record_failure(user_key, address_key)
        raise faults.Unauthorized(str(exc)) from None
    login_throttle.record_success(user_key)
    return secret, row


@api_view(["POST", "GET", "DELETE"], auth=False, style="keystone")
def v3_tokens(request):
    if request.method in ("GET", "HEAD"):
        return _v3_validate(request)
    if request.method == "DELETE":
        return _v3_revoke(request)
    ident, methods, scope = _v3_credentials(parse_body(request))
    if "password" in methods:
        password = ident.get("password")
        user_spec = password.get("user") if isinstance(password, dict) else None
        if not isinstance(user_spec, dict) or not isinstance(user_spec.get("password"), str):
            raise faults.BadRequest("'auth.identity.password.user' needs 'name' or 'id' and "
                                    "'password'.")
        secret, row = _password_login(request, user_spec["password"],
                                      name=user_spec.get("name"), user_id=user_spec.get("id"))
        try:
            _check_scope(scope, row.user)
        except faults.Fault:
            row.delete()
            raise
        used = ["password"]
    elif "token" in methods:
        token = ident.get("token")
        if not isinstance(token, dict) or not isinstance(token.get("id"), str):
            raise faults.BadRequest("'auth.identity.token.id' is required.")
        try:
            parent = identity.lookup_token(token["id"])
            _check_scope(scope, parent.user)
            secret, row = identity.issue_token(parent.user, description="token rescope",
                                               parent=parent)
        except identity.AuthenticationFailed as exc:
            raise faults.Unauthorized(str(exc)) from None
        used = ["token"]
    else:
        raise faults.Unauthorized("Only the password and token auth methods are supported.")
    return json_response(_v3_token(request, row, used), status=201,
                         headers={"X-Subject-Token": secret})


def _caller_and_subject(request):
    caller = authenticate(request)
    subject = request.META.get("HTTP_X_SUBJECT_TOKEN")
    if not subject:
        raise faults.BadRequest("The X-Subject-Token header names the token to check.")
    try:
        row = identity.lookup_token(subject)
    except identity.AuthenticationFailed as exc:
        raise faults.ItemNotFound(str(exc)) from None
    if row.user_id != caller.id and not caller.is_admin:
        raise faults.ItemNotFound("The token is unknown.")
    return subject, row


def _v3_validate(request):
    subject, row = _caller_and_subject(request)
    nocatalog = "nocatalog" in request.GET
    return json_response(_v3_token(request, row, with_catalog=not nocatalog),
                         headers={"X-Subject-Token": subject})


def _v3_revoke(request):
    _subject, row = _caller_and_subject(request)
    row.delete()
    return empty_response(204)


@api_view(["POST"], auth=False, style="keystone")
def v2_tokens(request):
    auth = parse_body(request, "auth")
    creds = auth.get("passwordCredentials")
    if isinstance(creds, dict):
        password = creds.get("password")
        if not isinstance(password, str):
            raise faults.BadRequest("'auth.passwordCredentials' needs 'username' and "
                                    "'password'.")
        secret, row = _password_login(request, password, name=creds.get("username"))
    elif isinstance(auth.get("token"), dict):
        try:
            parent = identity.lookup_token(auth["token"].get("id"))
            secret, row = identity.issue_token(parent.user, description="token rescope",
                                               parent=parent)
        except identity.AuthenticationFailed as exc:
            raise faults.Unauthorized(str(exc)) from None
    else:
        raise faults.BadRequest("'auth' needs 'passwordCredentials' or 'token'.")
    user = row.user
    for key, value in (("tenantName", user.name), ("tenantId", str(user.id))):
        if auth.get(key) not in (None, value):
            row.delete()
            raise faults.Unauthorized("User %s has no access to tenant %s." % (user.name,
                                                                            auth[key]))
    region = settings.API_REGION_NAME
    catalog = [{"type": t, "name": n, "endpoints_links": [],
                "endpoints": [{"id": t, "region": region, "publicURL": url,
                               "internalURL": url, "adminURL": url}]}
               for t, n, url in _endpoints(request)]
    catalog[2]["endpoints"][0].update(
        {k: base_url(request) + "/identity/v2.0" for k in ("publicURL", "internalURL",
                                                           "adminURL")})
    tenant = {"id": str(user.id), "name": user.name, "enabled": True, "description": ""}
    access = {"token": {"id": secret, "issued_at": isotime(row.created),
                        "expires": isotime(row.expires) or "2099-12-31T23:59:59Z",
                        "tenant": tenant, "audit_ids": [row.key_hash[:22]]},
              "serviceCatalog": catalog,
              "user": {"id": str(user.id), "name": user.name, "username": user.name,
                       "roles": [{"name": r["name"]} for r in _roles(user)],
                       "roles_links": []},
              "metadata": {"is_admin": int(user.is_admin),
                           "roles": [r["id"] for r in _roles(user)]}}
    return json_response({"access": access})
