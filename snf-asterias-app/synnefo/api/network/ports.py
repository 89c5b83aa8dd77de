"""/network/v2.0/ports (a port exists only attached to a server) and the compute
API's os-interface on a server."""

from synnefo.logic import ports as logic
from synnefo.logic import servers as server_logic
from synnefo.logic.errors import NotFound

from .. import faults
from ..util import api_view, empty_response, json_response, parse_body
from . import serializers as ser
from .common import body, filtered, item, name_of

PORT_FILTERS = ("id", "name", "network_id", "device_id", "device_owner", "mac_address",
                "status", "tenant_id", "project_id")


PORT_CREATE_KEYS = ("name", "network_id", "device_id", "device_owner", "admin_state_up",
                    "description", "tenant_id", "project_id")


@api_view(["GET", "POST"])
def ports_collection(request):
    user = request.snf_user
    if request.method == "POST":
        spec = body(request, "port", PORT_CREATE_KEYS)
        if not spec.get("network_id"):
            raise faults.BadRequest("'port.network_id' is required.")
        if not spec.get("device_id"):
            raise faults.BadRequest("'port.device_id' (a server id) is required: ports exist "
                                    "only attached to a server.")
        nic = logic.attach(user, spec["device_id"], spec["network_id"],
                           name=name_of(spec, "port"))
        return json_response({"port": ser.port(nic)}, status=201)
    items = [ser.port(nic) for nic in logic.list_ports(user)]
    return json_response({"ports": filtered(request, items, PORT_FILTERS)})


@api_view(["GET", "PUT", "DELETE"])
def port_item(request, port_id):
    return item(request, "port", port_id, logic.detach, logic.rename_port,
                 lambda user, pk: ser.port(logic.get_port(user, pk)))


@api_view(["GET", "POST"])
def interfaces_collection(request, server_id):
    user = request.snf_user
    vm = server_logic.get_server(user, server_id)
    if request.method == "POST":
        spec = parse_body(request, "interfaceAttachment")
        if spec.get("port_id"):
            raise faults.BadRequest("Attaching an existing port is not supported: give "
                                    "'net_id' and a new port is created.")
        if not spec.get("net_id"):
            raise faults.BadRequest("'interfaceAttachment.net_id' is required.")
        if spec.get("fixed_ips"):
            raise faults.BadRequest("'fixed_ips' is not supported: Ganeti's pool chooses the "
                                    "address.")
        try:
            nic = logic.attach(user, vm.id, spec["net_id"])
        except NotFound as exc:
            raise faults.BadRequest(exc.message) from None
        return json_response({"interfaceAttachment": ser.interface_attachment(nic)})
    return json_response({"interfaceAttachments": [ser.interface_attachment(n)
                                                   for n in logic.server_ports(user, vm)]})


@api_view(["GET", "DELETE"])
def interface_item(request, server_id, port_id):
    user = request.snf_user
    vm = server_logic.get_server(user, server_id)
    if request.method == "DELETE":
        logic.detach(user, port_id, server_id=vm.id)
        return empty_response(202)
    nic = logic.get_port(user, port_id)
    if nic.machine_id != vm.id:
        raise faults.ItemNotFound("Server %s has no interface %s." % (server_id, port_id))
    return json_response({"interfaceAttachment": ser.interface_attachment(nic)})
