"""/network/v2.0/networks: list, create (private networks), show, rename, delete."""

from synnefo.logic import networks as logic

from .. import faults
from ..util import api_view, json_response
from . import serializers as ser
from .common import body, check_booleans, filtered, item, name_of

# Query parameters a list may filter on (exact match on the serialized value);
# others (fields, sort_key, ...) are ignored, as Neutron ignores unknown filters.
NETWORK_FILTERS = ("id", "name", "status", "shared", "router:external", "tenant_id",
                   "project_id")


NETWORK_CREATE_KEYS = ("name", "admin_state_up", "shared", "router:external", "description",
                       "port_security_enabled", "tenant_id", "project_id", "mtu",
                       "availability_zone_hints", "SNF:type")


@api_view(["GET", "POST"])
def networks_collection(request):
    user = request.snf_user
    if request.method == "POST":
        spec = body(request, "network", NETWORK_CREATE_KEYS)
        check_booleans(spec, "network", ("admin_state_up", "shared", "router:external",
                                   "port_security_enabled"))
        for field in ("shared", "router:external"):
            if spec.get(field):
                raise faults.BadRequest("'network.%s' is not available: users create private "
                                        "networks; the public network is made by an "
                                        "administrator." % field)
        if spec.get("admin_state_up") is False:
            raise faults.BadRequest("'network.admin_state_up' false is not supported.")
        net = logic.create_network(user, name_of(spec, "network"), spec.get("SNF:type"))
        return json_response({"network": ser.network(net)}, status=201)
    items = [ser.network(n) for n in logic.list_networks(user)]
    return json_response({"networks": filtered(request, items, NETWORK_FILTERS)})


@api_view(["GET", "PUT", "DELETE"])
def network_item(request, network_id):
    return item(request, "network", network_id, logic.delete_network, logic.rename_network,
                 lambda user, pk: ser.network(logic.get_network(user, pk)))
