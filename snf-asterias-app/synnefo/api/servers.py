"""/compute/v2.1/servers: list, detail, create, show, rename, delete, actions,
metadata and addresses."""

import secrets

from synnefo.logic import servers as logic
from synnefo.logic.errors import NotFound

from . import faults
from . import serializers as ser
from .serializers import AVAILABILITY_ZONE
from .util import (
    api_view,
    changes_since,
    empty_response,
    json_response,
    list_response,
    metadata_item,
    metadata_item_body,
    parse_body,
)
from .validation import query_id


def _list(request, detail):
    since = changes_since(request)
    query = logic.filter_servers(request.snf_user, name=request.GET.get("name"),
                                 status=request.GET.get("status"),
                                 image=query_id(request, "image", links=True),
                                 flavor=query_id(request, "flavor", links=True), since=since)
    if detail:
        return list_response(request, logic.with_details(query), "servers", ser.server_detail,
                             since, complete=logic.complete_details)
    return list_response(request, query, "servers", ser.server_brief, since)


@api_view(["GET", "POST"])
def servers_collection(request):
    if request.method == "POST":
        return _create(request)
    return _list(request, detail=False)


@api_view(["GET"])
def servers_detail(request):
    return _list(request, detail=True)


def _ref(value, field):
    """An id from "42" or a link ending in /42."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise faults.BadRequest("'server.%s' must be an id or a link to one." % field)
    return value.rstrip("/").rsplit("/", 1)[-1]


# Create fields this service acts on.
CREATE_FIELDS = ("name", "imageRef", "flavorRef", "metadata", "personality", "key_name",
                 "networks", "adminPass", "user_data", "availability_zone", "min_count",
                 "max_count", "return_reservation_id", "accessIPv4", "accessIPv6")
# Nova fields accepted only with the value that asks for nothing this service lacks.
CREATE_DEFAULTS = {
    "availability_zone": ((None, "", AVAILABILITY_ZONE),
                          "the only availability zone is %r" % AVAILABILITY_ZONE),
    "OS-DCF:diskConfig": ((None, "AUTO", "MANUAL"), "disks are as the image makes them"),
    "security_groups": ((None, [], [{"name": "default"}]),
                        "only the 'default' group; firewall profiles are set with the "
                        "firewallProfile action"),
    "config_drive": ((None, False, "", "false"), "there are no config drives; user_data "
                                                 "reaches the image's OS provider"),
    "block_device_mapping": ((None, []), "servers boot from their image's disk only"),
    "block_device_mapping_v2": ((None, []), "servers boot from their image's disk only"),
}


def _check_supported(spec):
    """badRequest naming what is supported, for any field we would otherwise ignore."""
    unknown = set(spec) - set(CREATE_FIELDS) - set(CREATE_DEFAULTS)
    if unknown:
        raise faults.BadRequest("'server' has fields this service does not support: %s. "
                                "Supported: %s." % (", ".join(sorted(unknown)),
                                                    ", ".join(CREATE_FIELDS)))
    for field, (accepted, why) in CREATE_DEFAULTS.items():
        if field in spec and spec[field] not in accepted:
            raise faults.BadRequest("'server.%s' %r is not supported: %s." % (
                field, spec[field], why))


# Nova's bound on the counts ("minimum": 1; no maximum but the quota).
MAX_COUNT = 2 ** 31 - 1


def _count(spec, field, default):
    """A positive whole number given as a number or a decimal string, as Nova takes it."""
    value = spec.get(field, default)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
        raise faults.BadRequest(("'server.%s' must be a whole number from 1, got %r."
                                 % (field, spec.get(field)))[:300])
    return value


def _create(request):
    spec = parse_body(request, "server")
    _check_supported(spec)
    for field in ("name", "imageRef", "flavorRef"):
        if field not in spec:
            raise faults.BadRequest("'server.%s' is required." % field)
    min_count = _count(spec, "min_count", 1)
    max_count = _count(spec, "max_count", min_count)
    if max_count < min_count:
        raise faults.BadRequest("'server.max_count' (%d) must not be less than "
                                "'server.min_count' (%d)." % (max_count, min_count))
    reservation = spec.get("return_reservation_id", False)
    if not isinstance(reservation, bool):
        raise faults.BadRequest("'server.return_reservation_id' must be true or false.")
    metadata = spec.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise faults.BadRequest("'server.metadata' must be an object of strings.")
    key_name = spec.get("key_name")
    if key_name is not None and not isinstance(key_name, str):
        raise faults.BadRequest("'server.key_name' must be a string.")
    password = spec.get("adminPass")
    if password is not None and (not isinstance(password, str) or not password
                                 or len(password) > 255):
        raise faults.BadRequest("'server.adminPass' must be a non-empty string.")
    image_ref = _ref(spec["imageRef"], "imageRef")
    flavor_ref = _ref(spec["flavorRef"], "flavorRef")
    try:
        vms, password = logic.create_servers(
            request.snf_user, spec["name"], image_ref, flavor_ref, metadata=metadata,
            personality=spec.get("personality"), key_name=key_name,
            networks=spec.get("networks"), password=password,
            user_data=spec.get("user_data"), min_count=min_count, max_count=max_count,
            access_ipv4=spec.get("accessIPv4"), access_ipv6=spec.get("accessIPv6"))
    except NotFound as exc:
        # A reference in the body that does not resolve is a bad request, not a 404.
        raise faults.BadRequest(exc.message) from None
    if reservation:
        # Nova's "r-" and 8 characters; we keep no reservations, so it names none.
        return json_response({"reservation_id": "r-" + secrets.token_hex(4)}, status=202)
    vm = vms[0]  # as Nova: a multi-create answers its first server
    body = {"server": {"id": str(vm.id), "links": ser.links(request, "servers", vm.id),
                       "adminPass": password, "OS-DCF:diskConfig": "MANUAL"}}
    return json_response(body, status=202,
                         headers={"Location": ser.links(request, "servers", vm.id)[0]["href"]})


def _show(request, server_id):
    return ser.server_detail(request, logic.server_details(request.snf_user, server_id))


@api_view(["GET", "PUT", "DELETE"])
def server_item(request, server_id):
    user = request.snf_user
    if request.method == "DELETE":
        logic.delete_server(user, server_id)
        return empty_response(204)
    if request.method == "PUT":
        spec = parse_body(request, "server")
        unknown = set(spec) - {"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig",
                               "description"}
        if unknown:
            raise faults.BadRequest("'server' may contain only 'name', 'accessIPv4' and "
                                    "'accessIPv6'; got %s." % ", ".join(sorted(unknown)))
        logic.update_server(user, server_id, name=spec.get("name"),
                            access_ipv4=spec.get("accessIPv4"),
                            access_ipv6=spec.get("accessIPv6"))
        # Like Nova, the update answer has the base fields only (no extended attributes).
        data = {k: v for k, v in _show(request, server_id).items() if k in UPDATE_FIELDS}
        return json_response({"server": data})
    return json_response({"server": _show(request, server_id)})


UPDATE_FIELDS = ("id", "name", "status", "image", "flavor", "fault", "user_id", "tenant_id",
                 "created", "updated", "progress", "metadata", "links", "addresses", "hostId",
                 "OS-DCF:diskConfig", "accessIPv4", "accessIPv6")


def _empty_args(args, action):
    if args not in (None, {}):
        raise faults.BadRequest("'%s' takes no arguments (use null or {})." % action)


@api_view(["POST"])
def server_action(request, server_id):
    body = parse_body(request)
    if len(body) != 1:
        raise faults.BadRequest("An action body must have exactly one key, the action; got %d."
                                % len(body))
    action, args = next(iter(body.items()))
    user = request.snf_user
    if action == "reboot":
        if not isinstance(args, dict) or "type" not in args:
            raise faults.BadRequest("'reboot' needs {\"type\": \"SOFT\" or \"HARD\"}.")
        logic.reboot_server(user, server_id, args["type"])
    elif action in ("os-start", "start"):
        _empty_args(args, action)
        logic.start_server(user, server_id)
    elif action in ("os-stop", "shutdown"):
        _empty_args(args, action)
        logic.stop_server(user, server_id)
    elif action == "resize":
        if not isinstance(args, dict) or "flavorRef" not in args:
            raise faults.BadRequest("'resize' needs {\"flavorRef\": <flavor id>}.")
        try:
            logic.resize_server(user, server_id, _ref(args["flavorRef"], "flavorRef"))
        except NotFound as exc:
            logic.get_server(user, server_id)  # an unknown server is still a 404
            raise faults.BadRequest(exc.message) from None
    elif action in ("confirmResize", "revertResize"):
        # Resizes here are in place: there is never anything to confirm or revert.
        logic.get_server(user, server_id)
        raise faults.Conflict("Server %s has no resize waiting for confirmation: resizes "
                              "take effect without one." % server_id)
    elif action in ("console", "os-getVNCConsole"):
        # Synnefo's action gives a VNC client's host/port/password; Nova's a noVNC URL.
        wanted = "vnc" if action == "console" else "novnc"
        if not isinstance(args, dict) or "type" not in args:
            raise faults.BadRequest("'%s' needs {\"type\": \"%s\"}." % (action, wanted))
        if args["type"] != wanted:
            logic.get_server(user, server_id)  # an unknown server is still a 404
            raise faults.BadRequest("'%s' offers console type %r only, not %r."
                                    % (action, wanted, args["type"]))
        return json_response({"console": logic.console(user, server_id, wanted)})
    elif action == "firewallProfile":
        if not isinstance(args, dict) or "profile" not in args:
            raise faults.BadRequest("'firewallProfile' needs {\"profile\": ENABLED, DISABLED "
                                    "or PROTECTED}.")
        logic.set_firewall_profile(user, server_id, args["profile"], args.get("nic"))
    else:
        logic.get_server(user, server_id)
        raise faults.BadRequest("Unknown or unsupported server action %r." % (action,))
    return empty_response(202)


# -- metadata ----------------------------------------------------------------------------

@api_view(["GET", "POST", "PUT"])
def server_metadata(request, server_id):
    user = request.snf_user
    if request.method == "GET":
        vm = logic.get_server(user, server_id)
        return json_response({"metadata": logic.server_metadata(vm)})
    items = parse_body(request, "metadata")
    result = logic.update_metadata(user, server_id, items, replace=request.method == "PUT")
    return json_response({"metadata": result})


@api_view(["GET", "PUT", "DELETE"])
def server_metadata_item(request, server_id, key):
    user = request.snf_user
    if request.method == "GET":
        vm = logic.get_server(user, server_id)
        return metadata_item(logic.server_metadata(vm), key, "Server %s" % server_id)
    if request.method == "DELETE":
        logic.delete_metadata_item(user, server_id, key)
        return empty_response(204)
    meta = metadata_item_body(request, key)
    logic.update_metadata(user, server_id, meta)
    return json_response({"meta": meta})


# -- addresses -----------------------------------------------------------------------------

@api_view(["GET"])
def server_ips(request, server_id):
    vm = logic.server_details(request.snf_user, server_id)
    return json_response({"addresses": ser.addresses(vm)})


@api_view(["GET"])
def server_ips_network(request, server_id, network):
    vm = logic.server_details(request.snf_user, server_id)
    for nic in vm.nics:
        if network in (ser.network_key(nic.network_name, nic.network_id), str(nic.network_id)):
            key = ser.network_key(nic.network_name, nic.network_id)
            return json_response({key: ser.addresses(vm).get(key, [])})
    raise faults.ItemNotFound("Server %s is not connected to network %r." % (server_id, network))
