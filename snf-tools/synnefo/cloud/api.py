"""The cloud as snf-cloud reaches it: openstacksdk's connection (clouds.yaml and OS_*
variables read as the openstack CLI reads them) and the few Synnefo calls the SDK has no
method for, made through its authenticated compute and identity adapters."""

import openstack
from keystoneauth1 import exceptions as ks_exceptions
from openstack import exceptions as sdk_exceptions

# Asks the compute API for Synnefo's SNF:* fields (docs/api.md: strict v2.1 bodies
# otherwise).
EXTENSIONS = {"X-Synnefo-Extensions": "true"}
FIREWALL_PROFILES = ("ENABLED", "DISABLED", "PROTECTED")


class CloudError(Exception):
    """Something the user should read: a refused request, an unknown server, bad
    credentials. The message is the API's own where it gave one."""


def connect(cloud=None):
    """An openstacksdk Connection for ``cloud`` of clouds.yaml (None: $OS_CLOUD or the
    OS_* variables)."""
    try:
        conn = openstack.connect(cloud=cloud)
        conn.authorize()
        return conn
    except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as exc:
        raise CloudError("cannot log in%s: %s" % (" to %s" % cloud if cloud else "",
                                                   _message(exc))) from None


def _message(exc):
    text = str(getattr(exc, "details", None) or exc)
    return text.strip() or exc.__class__.__name__


def _body(response, what):
    """The JSON body of a 2xx answer; CloudError with the fault's message otherwise."""
    try:
        sdk_exceptions.raise_from_response(response)
    except sdk_exceptions.HttpException as exc:
        raise CloudError("%s: %s" % (what, _message(exc))) from None
    if response.status_code == 204 or not response.content:
        return None
    return response.json()


def call(adapter, method, path, what, json=None):
    """``method`` ``path`` on a service adapter (conn.compute, conn.identity) with the
    extensions header; the JSON answer."""
    try:
        response = adapter.request(path, method, json=json, headers=EXTENSIONS,
                                   raise_exc=False)
    except ks_exceptions.ClientException as exc:
        raise CloudError("%s: %s" % (what, _message(exc))) from None
    return _body(response, what)


def find_server(conn, name_or_id):
    """The server's full body (SNF:* fields included) by id or unique name."""
    try:
        server = conn.compute.find_server(name_or_id, ignore_missing=False)
    except sdk_exceptions.DuplicateResource:
        raise CloudError("several servers are named %r: give the id" % name_or_id) from None
    except sdk_exceptions.ResourceNotFound:
        raise CloudError("no server %r" % name_or_id) from None
    except (sdk_exceptions.SDKException, ks_exceptions.ClientException) as exc:
        raise CloudError("looking up server %r: %s" % (name_or_id, _message(exc))) from None
    return server_body(conn, server.id)


def server_body(conn, server_id):
    return call(conn.compute, "GET", "/servers/%s" % server_id,
                "server %s" % server_id)["server"]


def list_servers(conn):
    return call(conn.compute, "GET", "/servers/detail", "listing servers")["servers"]


def action(conn, server_id, body, what):
    return call(conn.compute, "POST", "/servers/%s/action" % server_id, what, json=body)


def set_firewall(conn, server_id, profile, nic=None):
    args = {"profile": profile}
    if nic is not None:
        args["nic"] = nic
    action(conn, server_id, {"firewallProfile": args},
           "setting the firewall profile of server %s" % server_id)


def novnc_url(conn, server_id):
    return action(conn, server_id, {"os-getVNCConsole": {"type": "novnc"}},
                  "console of server %s" % server_id)["console"]["url"]


def vnc_console(conn, server_id):
    """{"host", "port", "password"} for a VNC client (Synnefo's console action)."""
    return action(conn, server_id, {"console": {"type": "vnc"}},
                  "console of server %s" % server_id)["console"]


def limits(conn):
    return call(conn.compute, "GET", "/limits", "limits")["limits"]["absolute"]


def invitations(conn):
    return call(conn.identity, "GET", "/invitations", "listing invitations")


def invite(conn, email):
    return call(conn.identity, "POST", "/invitations", "inviting %s" % email,
                json={"invitation": {"email": email}})


def resend_invitation(conn, invitation_id):
    return call(conn.identity, "POST", "/invitations/%s/resend" % invitation_id,
                "resending invitation %s" % invitation_id)
