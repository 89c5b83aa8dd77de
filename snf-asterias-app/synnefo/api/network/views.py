"""The Neutron v2.0 shaped network API (networks, subnets, ports) and the compute
API's os-interface: HTTP only -- parse, validate, call synnefo.logic.networks,
serialize. Auth, faults and headers come from synnefo.api.util.api_view."""

from synnefo.logic import networks as logic
from synnefo.logic import servers as server_logic

from .. import faults
from ..util import api_view, base_url, empty_response, json_response, parse_body
from . import serializers as ser

# Query parameters a list may filter on (exact match on the serialized value);
# others (fields, sort_key, ...) are ignored, as Neutron ignores unknown filters.
NETWORK_FILTERS = ("id", "name", "status", "shared", "router:external", "tenant_id",
                   "project_id")
SUBNET_FILTERS = ("id", "name", "network_id", "ip_version", "cidr", "gateway_ip",
                  "tenant_id", "project_id", "enable_dhcp")
PORT_FILTERS = ("id", "name", "network_id", "device_id", "device_owner", "mac_address",
                "status", "tenant_id", "project_id")


def _text(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _filtered(request, items, names):
    wanted = {k: request.GET.getlist(k) for k in names if k in request.GET}
    out = []
    for item in items:
        if all(_text(item.get(k)).lower() in [v.lower() for v in values]
               if isinstance(item.get(k), bool) else _text(item.get(k)) in values
               for k, values in wanted.items()):
            out.append(item)
    return out


def _body(request, key, allowed):
    spec = parse_body(request, key)
    unknown = set(spec) - set(allowed)
    if unknown:
        raise faults.BadRequest("'%s' has attributes this service does not support: %s."
                                % (key, ", ".join(sorted(unknown))))
    return spec


def _name(spec, key):
    name = spec.get("name", "")
    if name is None:
        name = ""
    if not isinstance(name, str):
        raise faults.BadRequest("'%s.name' must be a string." % key)
    return name


def _no_true(spec, key, fields):
    for field in fields:
        if spec.get(field) not in (None, False, True):
            raise faults.BadRequest("'%s.%s' must be a boolean." % (key, field))


def _item(request, key, item_id, delete, rename, show,
          put_keys=("name", "description", "admin_state_up")):
    """GET, PUT or DELETE of one network, subnet or port: DELETE answers 204; PUT may
    change only the name; GET and PUT answer ``{key: show(user, item_id)}``."""
    user = request.snf_user
    if request.method == "DELETE":
        delete(user, item_id)
        return empty_response(204)
    if request.method == "PUT":
        spec = _body(request, key, put_keys)
        if "name" in spec:
            rename(user, item_id, _name(spec, key))
    return json_response({key: show(user, item_id)})


# -- versions ------------------------------------------------------------------------

@api_view(["GET"], auth=False)
def versions(request):
    href = "%s/network/v2.0/" % base_url(request)
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT",
                                        "links": [{"rel": "self", "href": href}]}]})


@api_view(["GET"])
def v2_root(request):
    base = "%s/network/v2.0" % base_url(request)
    return json_response({"resources": [
        {"name": name, "collection": name + "s",
         "links": [{"rel": "self", "href": "%s/%ss" % (base, name)}]}
        for name in ("network", "subnet", "port")]})


@api_view(["GET"])
def extensions(request):
    return json_response({"extensions": []})


@api_view(["GET"])
def extension_item(request, alias):
    raise faults.ItemNotFound("Extension %s is not supported." % alias)


@api_view(["GET", "POST", "PUT", "DELETE", "PATCH"], auth=False)
def unknown(request, rest=""):
    raise faults.ItemNotFound("No such resource: %s. The network API offers "
                              "/network/v2.0/networks, subnets and ports." % request.path)


# -- networks ------------------------------------------------------------------------

NETWORK_CREATE_KEYS = ("name", "admin_state_up", "shared", "router:external", "description",
                       "port_security_enabled", "tenant_id", "project_id", "mtu",
                       "availability_zone_hints", "SNF:type")


@api_view(["GET", "POST"])
def networks_collection(request):
    user = request.snf_user
    if request.method == "POST":
        spec = _body(request, "network", NETWORK_CREATE_KEYS)
        _no_true(spec, "network", ("admin_state_up", "shared", "router:external",
                                   "port_security_enabled"))
        for field in ("shared", "router:external"):
            if spec.get(field):
                raise faults.BadRequest("'network.%s' is not available: users create private "
                                        "networks; the public network is made by an "
                                        "administrator." % field)
        if spec.get("admin_state_up") is False:
            raise faults.BadRequest("'network.admin_state_up' false is not supported.")
        net = logic.create_network(user, _name(spec, "network"), spec.get("SNF:type"))
        return json_response({"network": ser.network(net)}, status=201)
    items = [ser.network(n) for n in logic.visible_networks(user).order_by("id")]
    return json_response({"networks": _filtered(request, items, NETWORK_FILTERS)})


@api_view(["GET", "PUT", "DELETE"])
def network_item(request, network_id):
    return _item(request, "network", network_id, logic.delete_network, logic.rename_network,
                 lambda user, pk: ser.network(logic.get_network(user, pk)))


# -- subnets -------------------------------------------------------------------------

SUBNET_CREATE_KEYS = ("name", "network_id", "ip_version", "cidr", "gateway_ip",
                      "enable_dhcp", "description", "tenant_id", "project_id",
                      "ipv6_address_mode", "ipv6_ra_mode", "allocation_pools",
                      "dns_nameservers", "host_routes", "use_default_subnetpool",
                      "service_types")


@api_view(["GET", "POST"])
def subnets_collection(request):
    user = request.snf_user
    if request.method == "POST":
        spec = _body(request, "subnet", SUBNET_CREATE_KEYS)
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
                                   name=_name(spec, "subnet"))
        except logic.NotFound as exc:
            raise faults.ItemNotFound(exc.message) from None
        entry = next(s for s in logic.subnets_of(net) if s[0] == version)
        return json_response({"subnet": ser.subnet(net, entry)}, status=201)
    items = [ser.subnet(n, s) for n in logic.visible_networks(user).order_by("id")
             for s in logic.subnets_of(n)]
    return json_response({"subnets": _filtered(request, items, SUBNET_FILTERS)})


@api_view(["GET", "PUT", "DELETE"])
def subnet_item(request, subnet_id):
    return _item(request, "subnet", subnet_id, logic.delete_subnet, logic.rename_subnet,
                 lambda user, pk: ser.subnet(*logic.get_subnet(user, pk)),
                 put_keys=("name", "description"))


# -- ports ---------------------------------------------------------------------------

PORT_CREATE_KEYS = ("name", "network_id", "device_id", "device_owner", "admin_state_up",
                    "description", "tenant_id", "project_id")


@api_view(["GET", "POST"])
def ports_collection(request):
    user = request.snf_user
    if request.method == "POST":
        spec = _body(request, "port", PORT_CREATE_KEYS)
        if not spec.get("network_id"):
            raise faults.BadRequest("'port.network_id' is required.")
        if not spec.get("device_id"):
            raise faults.BadRequest("'port.device_id' (a server id) is required: ports exist "
                                    "only attached to a server.")
        nic = logic.attach(user, spec["device_id"], spec["network_id"],
                           name=_name(spec, "port"))
        return json_response({"port": ser.port(nic)}, status=201)
    query = logic.visible_ports(user).order_by("id")
    items = [ser.port(nic) for nic in query]
    return json_response({"ports": _filtered(request, items, PORT_FILTERS)})


@api_view(["GET", "PUT", "DELETE"])
def port_item(request, port_id):
    return _item(request, "port", port_id, logic.detach, logic.rename_port,
                 lambda user, pk: ser.port(logic.get_port(user, pk)))


# -- compute: os-interface ---------------------------------------------------------------

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
        except logic.NotFound as exc:
            raise faults.BadRequest(exc.message) from None
        return json_response({"interfaceAttachment": ser.interface_attachment(nic)})
    nics = logic.visible_ports(user).filter(machine=vm).order_by("index", "id")
    return json_response({"interfaceAttachments": [ser.interface_attachment(n)
                                                   for n in nics]})


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
