"""/network/v2.0/subnets: list, create (one IPv4 and one IPv6 per network), show,
rename, delete."""

from synnefo.logic import subnets as logic
from synnefo.logic.errors import NotFound

from .. import faults
from ..util import api_view, json_response
from . import serializers as ser
from .common import body, filtered, item, name_of

SUBNET_FILTERS = ("id", "name", "network_id", "ip_version", "cidr", "gateway_ip",
                  "tenant_id", "project_id", "enable_dhcp")


SUBNET_CREATE_KEYS = ("name", "network_id", "ip_version", "cidr", "gateway_ip",
                      "enable_dhcp", "description", "tenant_id", "project_id",
                      "ipv6_address_mode", "ipv6_ra_mode", "allocation_pools",
                      "dns_nameservers", "host_routes", "use_default_subnetpool",
                      "service_types")


@api_view(["GET", "POST"])
def subnets_collection(request):
    user = request.snf_user
    if request.method == "POST":
        spec = body(request, "subnet", SUBNET_CREATE_KEYS)
        for field in ("network_id", "cidr"):
            if not isinstance(spec.get(field), str) or not spec[field]:
                raise faults.BadRequest("'subnet.%s' is required." % field)
        for field in ("allocation_pools", "dns_nameservers", "host_routes"):
            if spec.get(field):
                raise faults.BadRequest("'subnet.%s' is not supported: Ganeti's pool takes "
                                        "the whole subnet." % field)
        version = spec.get("ip_version", 4)
        if version in ("4", "6"):  # not isdigit(): "²" is a digit int() refuses
            version = int(version)
        if spec.get("enable_dhcp") not in (None, True, False):
            raise faults.BadRequest("'subnet.enable_dhcp' must be a boolean.")
        # Absent gateway_ip: the first address; null: no gateway.
        gateway = spec["gateway_ip"] if "gateway_ip" in spec else None
        if "gateway_ip" in spec and gateway is None:
            gateway = ""
        try:
            net = logic.add_subnet(user, spec["network_id"], version, spec["cidr"], gateway,
                                   dhcp=spec.get("enable_dhcp", True) is not False,
                                   name=name_of(spec, "subnet"),
                                   ipv6_modes=(spec.get("ipv6_ra_mode"),
                                               spec.get("ipv6_address_mode")))
        except NotFound as exc:
            raise faults.ItemNotFound(exc.message) from None
        entry = next(s for s in logic.subnets_of(net) if s[0] == version)
        return json_response({"subnet": ser.subnet(net, entry)}, status=201)
    items = [ser.subnet(n, s) for n, s in logic.list_subnets(user)]
    return json_response({"subnets": filtered(request, items, SUBNET_FILTERS)})


@api_view(["GET", "PUT", "DELETE"])
def subnet_item(request, subnet_id):
    return item(request, "subnet", subnet_id, logic.delete_subnet, logic.rename_subnet,
                 lambda user, pk: ser.subnet(*logic.get_subnet(user, pk)),
                 put_keys=("name", "description"))
