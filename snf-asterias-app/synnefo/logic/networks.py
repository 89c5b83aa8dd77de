"""Networks, subnets and ports (server NICs): the business rules.

* The public network (PUBLIC_ROUTED, one per deployment, made by an administrator)
  routes an IPv4 pool and an IPv6 /64 in which guests take EUI-64 addresses.
* Users create private networks: PRIVATE_MAC_FILTERED (one shared bridge, isolated
  by a per-network MAC prefix) or PRIVATE_BRIDGED (a bridge of their own, taken from
  a pool of pre-provisioned ones).
* A network's IPv4 subnet is a Ganeti network object on every backend, connected to
  the node groups; Ganeti's pool hands out the addresses. The database records an
  address only when Ganeti reports it (net-status messages): a new port has none.
* A port is a NetworkInterface row: ports exist only attached to a server.

Writes after a RAPI call use ``QuerySet.update`` (the dispatcher may have written the
row meanwhile); lock order is user, then server, then network, then backend rows.
"""

import ipaddress
import logging
import time

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from synnefo.backend import networks as gnet
from synnefo.backend.client import client_for
from synnefo.backend.rapi import RapiError, user_reason
from synnefo.common.protocol import eui64_address
from synnefo.db.models import (
    Backend,
    BackendNetwork,
    Network,
    NetworkInterface,
    User,
    VirtualMachine,
)

from . import network_callbacks, quotas
from .backend_allocator import ensure_default_backend
from .errors import BackendUnavailable, Conflict, Forbidden, InvalidInput, NotFound, OverLimit
from .ids import parse_id
from .server_state import get_server, guard, record_action, store_job, submit
from .text import check_no_control

log = logging.getLogger(__name__)

PRIVATE_TYPES = ("PRIVATE_MAC_FILTERED", "PRIVATE_BRIDGED")
TYPES = ("PUBLIC_ROUTED",) + PRIVATE_TYPES
# Ganeti allows at most 8 NICs per instance (constants.MAX_NICS).
MAX_NICS = 8
# Sizes of IPv4 subnets Ganeti's pool handles well (its map is one char per address).
MIN_PREFIXLEN, MAX_PREFIXLEN = 16, 29
# Ganeti NIC states of a port that are not yet confirmed.
PENDING_NIC = "BUILD"


def _setting(name, default=None):
    return getattr(settings, name, default)


# -- reading -----------------------------------------------------------------------------

def visible_networks(user, include_deleted=False):
    query = Network.objects.all()
    if not user.is_admin:
        query = query.filter(Q(public=True) | Q(owner=user))
    if not include_deleted:
        query = query.filter(deleted=False)
    return query


def _pk(value, what):
    pk = parse_id(value.strip() if isinstance(value, str) else value)
    if pk is None:
        raise NotFound("%s %s not found." % (what, value))
    return pk


def get_network(user, network_id, for_update=False):
    pk = _pk(network_id, "Network")
    query = visible_networks(user)
    if for_update:
        query = query.select_for_update()
    try:
        return query.get(pk=pk)
    except Network.DoesNotExist:
        raise NotFound("Network %s not found." % (network_id,)) from None


def _may_change(user, network):
    if network.public and not user.is_admin:
        raise Forbidden("The public network %d can be changed only by an administrator."
                        % network.id)
    if network.owner_id not in (None, user.id) and not user.is_admin:
        raise Forbidden("Network %d belongs to another user." % network.id)


def network_ports(network):
    """The live ports (NICs of servers not deleted) on ``network``."""
    return NetworkInterface.objects.filter(network=network, machine__deleted=False)


# -- pools: bridges and MAC prefixes ----------------------------------------------------

def _in_use(field):
    """Values of ``field`` held by networks that exist or still exist on some backend."""
    alive = Q(deleted=False) | Q(backend_networks__operstate__in=("PENDING", "ACTIVE",
                                                                  "ERROR"))
    return set(Network.objects.filter(alive).values_list(field, flat=True))


def _allocate_bridge():
    prefix = _setting("PRIVATE_BRIDGE_PREFIX", "prv")
    taken = _in_use("link")
    for i in range(1, int(_setting("PRIVATE_BRIDGE_COUNT", 20)) + 1):
        link = "%s%d" % (prefix, i)
        if link not in taken:
            return link
    raise OverLimit("No private bridge is free (all %d of PRIVATE_BRIDGE_COUNT are in use): "
                    "delete a network or ask an administrator for more bridges."
                    % _setting("PRIVATE_BRIDGE_COUNT", 20), resource="networks")


def _allocate_mac_prefix():
    base = _setting("MAC_PREFIX_BASE", "aa:00").lower()
    taken = _in_use("mac_prefix")
    for i in range(1, 256):
        prefix = "%s:%02x" % (base, i)
        if prefix not in taken:
            return prefix
    raise OverLimit("No MAC prefix is free for a new private network: delete a network or "
                    "ask an administrator.", resource="networks")


def _lock_pools():
    """Serialise pool allocations: every creation locks the backend rows, in id order."""
    list(Backend.objects.select_for_update().order_by("pk").values_list("pk", flat=True))


# -- networks ---------------------------------------------------------------------------

def _check_name(name, what="name"):
    if not isinstance(name, str) or len(name) > 255:
        raise InvalidInput("'%s' must be a string of at most 255 characters." % what)
    check_no_control(name, "'%s'" % what)
    return name.strip()


def create_network(user, name, net_type=None):
    """A private network of ``user`` (no subnet yet: nothing to do on Ganeti)."""
    name = _check_name(name)
    net_type = net_type or _setting("DEFAULT_PRIVATE_NETWORK_TYPE", "PRIVATE_MAC_FILTERED")
    if net_type not in PRIVATE_TYPES:
        raise InvalidInput("A network users create is one of %s, not %r."
                           % (", ".join(PRIVATE_TYPES), net_type))
    with transaction.atomic():
        owner = User.objects.select_for_update().get(pk=user.pk)
        limit = quotas.limits(owner)["networks"]
        used = Network.objects.filter(owner=owner, deleted=False).count()
        if used + 1 > limit:
            raise OverLimit("Quota exceeded for networks: %d in use, limit %d. Delete a network "
                            "or ask an administrator for a larger quota." % (used, limit),
                            resource="networks")
        _lock_pools()
        if net_type == "PRIVATE_BRIDGED":
            link, mac_prefix = _allocate_bridge(), ""
        else:
            link = _setting("PRIVATE_MAC_FILTERED_BRIDGE", "prv0")
            mac_prefix = _allocate_mac_prefix()
        return Network.objects.create(name=name, owner=owner, public=False, type=net_type,
                                      link=link, mac_prefix=mac_prefix, state="ACTIVE")


def create_public_network(name, subnet, gateway=None, subnet6=None, gateway6=None,
                          link=None, dhcp=True):
    """The public routed network (administrators: snf-manage network-create --public)."""
    name = _check_name(name)
    with transaction.atomic():
        network = Network.objects.create(
            name=name, public=True, type="PUBLIC_ROUTED", state="ACTIVE", dhcp=dhcp,
            link=link or _setting("PUBLIC_NETWORK_LINK", "snf_public"))
    if subnet6:
        _set_subnet6(network, subnet6, gateway6, name="")
    if subnet:
        network = add_subnet_to(network, 4, subnet, gateway, dhcp, name="")
    return Network.objects.get(pk=network.pk)


def rename_network(user, network_id, name):
    name = _check_name(name)
    with transaction.atomic():
        network = get_network(user, network_id, for_update=True)
        _may_change(user, network)
        Network.objects.filter(pk=network.pk).update(name=name, updated=timezone.now())
    return get_network(user, network_id)


def delete_network(user, network_id):
    """Delete a network without ports (409 otherwise); its Ganeti objects go too.
    Returns the problems met submitting their removal (empty when all went well)."""
    with transaction.atomic():
        network = get_network(user, network_id, for_update=True)
        _may_change(user, network)
        ports = network_ports(network).count()
        if ports:
            raise Conflict("Network %d has %d port(s) in use: detach the servers from it "
                           "first." % (network.id, ports))
        Network.objects.filter(pk=network.pk).update(deleted=True, updated=timezone.now())
    errors = _remove_from_backends(network)
    with transaction.atomic():
        if not BackendNetwork.objects.filter(network=network).exclude(
                operstate="DELETED").exists():
            Network.objects.filter(pk=network.pk).update(state="DELETED")
    # The user's network is gone either way; what Ganeti refused stays visible as
    # ERROR on the BackendNetwork for the administrator (snf-manage network-remove).
    return errors


def _remove_from_backends(network):
    """Submit the removal of ``network``'s Ganeti objects; failures stay visible as
    ERROR on the BackendNetwork (the admin retries with snf-manage network-remove)."""
    errors = []
    for bn in BackendNetwork.objects.filter(network=network).exclude(
            operstate="DELETED").select_related("backend"):
        if bn.backend.offline:
            errors.append("%s is offline" % bn.backend.clustername)
            continue
        try:
            jobs = gnet.delete_network(network, bn.backend)
        except RapiError as exc:
            errors.append(user_reason(exc))
            BackendNetwork.objects.filter(pk=bn.pk).update(
                operstate="ERROR", backendlogmsg="removal not submitted: %s" % user_reason(exc))
            continue
        if not jobs:  # Ganeti has no such network: nothing left to remove
            BackendNetwork.objects.filter(pk=bn.pk).update(operstate="DELETED")
        else:
            BackendNetwork.objects.filter(pk=bn.pk).update(
                operstate="PENDING", backendjobid=jobs[-1], backendopcode="OP_NETWORK_REMOVE",
                backendjobstatus="queued", backendlogmsg="", batchjobid=jobs[0], retries=0)
    if errors:
        log.warning("removing network %d from Ganeti: %s", network.id, "; ".join(errors))
    return errors


# -- subnets ----------------------------------------------------------------------------

def subnet_id(network, version):
    return "%d-v%d" % (network.id, version)


def parse_subnet_id(value):
    """(network id, ip version) of a subnet id; NotFound for anything else."""
    text = str(value)
    net, _, version = text.rpartition("-v")
    if version not in ("4", "6") or parse_id(net) is None:
        raise NotFound("Subnet %s not found." % (value,))
    return parse_id(net), int(version)


def subnets_of(network):
    """[(version, cidr, gateway, name)] of ``network``'s subnets."""
    out = []
    if network.subnet:
        out.append((4, network.subnet, network.gateway, network.subnet_name))
    if network.subnet6:
        out.append((6, network.subnet6, network.gateway6, network.subnet6_name))
    return out


def _parse_cidr(cidr, version):
    try:
        net = ipaddress.ip_network(str(cidr), strict=True)
    except ValueError as exc:
        raise InvalidInput("'cidr' %r is not a network address: %s." % (cidr, exc)) from None
    if net.version != version:
        raise InvalidInput("'cidr' %s is not an IPv%d network (ip_version is %d)."
                           % (cidr, version, version))
    if version == 4 and not MIN_PREFIXLEN <= net.prefixlen <= MAX_PREFIXLEN:
        raise InvalidInput("An IPv4 subnet must be between /%d and /%d, got %s."
                           % (MIN_PREFIXLEN, MAX_PREFIXLEN, cidr))
    if version == 6 and net.prefixlen != 64:
        raise InvalidInput("An IPv6 subnet must be a /64 (guests take EUI-64 addresses), "
                           "got %s." % cidr)
    return net


def _parse_gateway(net, gateway):
    """The gateway: the given address (inside, not the network/broadcast address), the
    subnet's first address when None, no gateway when ""."""
    if gateway == "":
        return ""
    if gateway is None:
        return str(next(net.hosts()))
    try:
        addr = ipaddress.ip_address(str(gateway))
    except ValueError:
        raise InvalidInput("'gateway_ip' %r is not an IP address." % (gateway,)) from None
    if addr not in net or addr == net.network_address or (
            net.version == 4 and addr == net.broadcast_address):
        raise InvalidInput("'gateway_ip' %s is not a host address of %s." % (addr, net))
    return str(addr)


def add_subnet(user, network_id, ip_version, cidr, gateway=None, dhcp=True, name=""):
    """Give a network its IPv4 or IPv6 subnet (one of each per network)."""
    name = _check_name(name or "", "subnet.name")
    if ip_version not in (4, 6):
        raise InvalidInput("'ip_version' must be 4 or 6, got %r." % (ip_version,))
    network = get_network(user, network_id)
    _may_change(user, network)
    if ip_version == 6:
        with transaction.atomic():
            network = get_network(user, network_id, for_update=True)
            _set_subnet6(network, cidr, gateway, name)
        return get_network(user, network_id)
    return add_subnet_to(network, 4, cidr, gateway, dhcp, name)


def _set_subnet6(network, cidr, gateway, name):
    if network.subnet6:
        raise Conflict("Network %d already has an IPv6 subnet (%s)." % (network.id,
                                                                       network.subnet6))
    net = _parse_cidr(cidr, 6)
    gateway6 = _parse_gateway(net, gateway)
    Network.objects.filter(pk=network.pk).update(subnet6=str(net), gateway6=gateway6,
                                                 subnet6_name=name, updated=timezone.now())
    network.subnet6, network.gateway6 = str(net), gateway6
    # A Ganeti network that exists already learns its IPv6 side by a modify job.
    for bn in BackendNetwork.objects.filter(network=network, operstate__in=(
            "PENDING", "ACTIVE")).select_related("backend"):
        try:
            job = gnet.modify_network(network, bn.backend, network6=str(net),
                                            gateway6=gateway6 or None)
        except RapiError as exc:
            log.warning("IPv6 of network %d on %s not submitted: %s", network.id,
                        bn.backend.clustername, user_reason(exc))
            continue
        BackendNetwork.objects.filter(pk=bn.pk).update(backendjobid=job,
                                                       backendopcode="OP_NETWORK_SET_PARAMS",
                                                       backendjobstatus="queued")


def add_subnet_to(network, ip_version, cidr, gateway, dhcp, name):
    """Set the IPv4 subnet and create the Ganeti network on every usable backend."""
    net = _parse_cidr(cidr, 4)
    gw = _parse_gateway(net, gateway)
    with transaction.atomic():
        network = Network.objects.select_for_update().get(pk=network.pk)
        if network.subnet:
            raise Conflict("Network %d already has an IPv4 subnet (%s)." % (network.id,
                                                                           network.subnet))
        if BackendNetwork.objects.filter(network=network, operstate__in=(
                "PENDING", "ACTIVE")).exists():
            raise Conflict("Network %d is still being removed from Ganeti; try again in a "
                           "moment." % network.id)
        if network_ports(network).exists():
            raise Conflict("Network %d has ports without addresses: detach them before "
                           "adding an IPv4 subnet." % network.id)
        Network.objects.filter(pk=network.pk).update(
            subnet=str(net), gateway=gw, dhcp=bool(dhcp), subnet_name=name, state="PENDING",
            updated=timezone.now())
        network.subnet, network.gateway, network.dhcp = str(net), gw, bool(dhcp)
        backends = list(Backend.objects.filter(offline=False).order_by("pk"))
        if not backends:
            created = ensure_default_backend()
            backends = [created] if created else []
        if not backends:
            raise BackendUnavailable("No Ganeti backend is configured: an administrator must "
                                     "add one before networks can get subnets.")
        rows = []
        for backend in backends:
            bn, _ = BackendNetwork.objects.get_or_create(network=network, backend=backend)
            BackendNetwork.objects.filter(pk=bn.pk).update(
                operstate="PENDING", backendjobid=None, backendopcode="",
                backendjobstatus="", backendlogmsg="", backendtime=None, batchjobid=None,
                retries=0)
            rows.append(bn)
    failures = []
    for bn in rows:
        try:
            jobs = gnet.create_network(network, bn.backend)
        except RapiError as exc:
            failures.append("%s: %s" % (bn.backend.clustername, user_reason(exc)))
            BackendNetwork.objects.filter(pk=bn.pk).update(
                operstate="ERROR", backendlogmsg="creation not submitted: %s"
                % user_reason(exc))
            continue
        BackendNetwork.objects.filter(pk=bn.pk, backendjobid__isnull=True).update(
            backendjobid=jobs[-1], backendopcode="OP_NETWORK_CONNECT",
            backendjobstatus="queued", batchjobid=jobs[0])
    if failures:
        Network.objects.filter(pk=network.pk).update(state="ERROR")
        raise BackendUnavailable("The subnet of network %d was recorded but the compute "
                                 "cluster did not accept it (%s). Delete the subnet and try "
                                 "again later." % (network.id, "; ".join(failures)))
    return Network.objects.get(pk=network.pk)


def delete_subnet(user, subnet):
    """Remove a subnet of a network without ports (409 otherwise)."""
    net_id, version = parse_subnet_id(subnet)
    with transaction.atomic():
        network = get_network(user, net_id, for_update=True)
        if not (network.subnet if version == 4 else network.subnet6):
            raise NotFound("Subnet %s not found." % (subnet,))
        _may_change(user, network)
        if network_ports(network).exists():
            raise Conflict("Subnet %s has ports on it: detach the servers from network %d "
                           "first." % (subnet, network.id))
        if version == 6:
            Network.objects.filter(pk=network.pk).update(subnet6="", gateway6="",
                                                         subnet6_name="",
                                                         updated=timezone.now())
            return None
        Network.objects.filter(pk=network.pk).update(subnet="", gateway="", subnet_name="",
                                                     updated=timezone.now())
    _remove_from_backends(network)
    with transaction.atomic():
        if not BackendNetwork.objects.filter(network=network, operstate__in=(
                "PENDING", "ERROR")).exists():
            Network.objects.filter(pk=network.pk, subnet="").update(state="ACTIVE")
    return None


def get_subnet(user, subnet):
    net_id, version = parse_subnet_id(subnet)
    try:
        network = get_network(user, net_id)
    except NotFound:
        raise NotFound("Subnet %s not found." % (subnet,)) from None
    for entry in subnets_of(network):
        if entry[0] == version:
            return network, entry
    raise NotFound("Subnet %s not found." % (subnet,))


def rename_subnet(user, subnet, name):
    name = _check_name(name, "subnet.name")
    network, entry = get_subnet(user, subnet)
    _may_change(user, network)
    field = "subnet_name" if entry[0] == 4 else "subnet6_name"
    Network.objects.filter(pk=network.pk).update(**{field: name, "updated": timezone.now()})
    return get_subnet(user, subnet)


# -- ports (server NICs) ----------------------------------------------------------------

def visible_ports(user):
    query = NetworkInterface.objects.filter(machine__deleted=False, network__deleted=False)
    if not user.is_admin:
        query = query.filter(machine__owner=user)
    return query.select_related("network", "machine")


def get_port(user, port_id):
    pk = _pk(port_id, "Port")
    try:
        return visible_ports(user).get(pk=pk)
    except NetworkInterface.DoesNotExist:
        raise NotFound("Port %s not found." % (port_id,)) from None


def port_addresses(nic):
    """[(version, address)] Ganeti confirmed for ``nic``: the IPv4 from its pool, and
    the IPv6 EUI-64 address of the MAC it reported, inside the network's /64."""
    out = []
    if nic.ipv4:
        out.append((4, nic.ipv4))
    ipv6 = nic.ipv6
    if not ipv6 and nic.mac and nic.network.subnet6:
        try:
            ipv6 = str(eui64_address(nic.network.subnet6, nic.mac))
        except ValueError:
            ipv6 = ""
    if ipv6:
        out.append((6, ipv6))
    return out


def _usable_for_ports(network):
    if network.deleted:
        raise NotFound("Network %d not found." % network.id)
    if network.state != "ACTIVE":
        raise Conflict("Network %d is %s on the compute cluster; wait until it is ACTIVE."
                       % (network.id, network.state))
    # Without a Ganeti network there is no address pool and no MAC prefix: only a
    # bridged private network can carry address-less ports on its own bridge.
    if not network.subnet and (network.type != "PRIVATE_BRIDGED" or not network.link):
        raise Conflict("Network %d has no IPv4 subnet yet: create one for it first."
                       % network.id)


def _firewall_default(network):
    return settings.DEFAULT_FIREWALL_PROFILE if network.public else ""


def resolve_networks(user, requested):
    """The networks of a server create request: "auto"/None (the public networks),
    "none", or a list of {"uuid": network id[, "port": ...]}; InvalidInput otherwise."""
    if requested is None or requested == "auto":
        return list(Network.objects.filter(public=True, deleted=False, state="ACTIVE")
                    .order_by("id"))
    if requested == "none":
        return []
    if not isinstance(requested, list):
        raise InvalidInput("'networks' must be \"auto\", \"none\" or a list of "
                           "{\"uuid\": network id}.")
    if len(requested) > MAX_NICS:
        raise InvalidInput("A server can have at most %d networks, got %d."
                           % (MAX_NICS, len(requested)))
    out = []
    for i, item in enumerate(requested):
        if not isinstance(item, dict) or "uuid" not in item:
            if isinstance(item, dict) and "port" in item:
                raise InvalidInput("'networks[%d].port': attaching existing ports is not "
                                   "supported; give the network's 'uuid'." % i)
            raise InvalidInput("'networks[%d]' must be an object with 'uuid' (a network id)."
                               % i)
        unsupported = set(item) - {"uuid", "tag"}
        if unsupported:
            raise InvalidInput("'networks[%d]' has unsupported keys: %s (only 'uuid' is "
                               "supported)." % (i, ", ".join(sorted(unsupported))))
        try:
            network = get_network(user, str(item["uuid"]).rstrip("/").rsplit("/", 1)[-1])
        except NotFound:
            raise InvalidInput("'networks[%d].uuid': network %r not found."
                               % (i, item["uuid"])) from None
        try:
            _usable_for_ports(network)
        except Conflict as exc:
            raise InvalidInput("'networks[%d].uuid': %s" % (i, exc.message)) from None
        out.append(network)
    return out


def nics_for_new_server(user, requested_networks):
    """The NIC rows (unsaved, without ``machine``) a new server gets: one per network
    of the request, in order, public NICs with the default firewall profile.

    Call it before the create transaction (it validates: InvalidInput), then inside
    it set ``nic.machine = vm`` and ``nic.save()`` for each. No address is set: Ganeti's
    pool allocates it and the net-status message brings it back.
    """
    networks = resolve_networks(user, requested_networks)
    if len(networks) > MAX_NICS:  # "auto" with more public networks than Ganeti allows
        raise InvalidInput("A server can have at most %d networks; %d were chosen: give "
                           "'networks' explicitly." % (MAX_NICS, len(networks)))
    return [NetworkInterface(network=network, index=index, state=PENDING_NIC,
                             firewall_profile=_firewall_default(network))
            for index, network in enumerate(networks)]


def _lock_for_modify(user, server_id):
    """The server, locked, once its state allows a NIC change (lock order: server, then
    network and NIC rows)."""
    vm = get_server(user, server_id, for_update=True)
    guard(vm, "MODIFY")
    return vm


def attach(user, server_id, network_id, name=""):
    """Add a NIC on ``network_id`` to the server (one instance-modify job)."""
    name = _check_name(name or "", "port.name")
    network = get_network(user, network_id)
    if network.owner_id not in (None, user.id) and not user.is_admin:
        raise Forbidden("Network %d belongs to another user." % network.id)
    with transaction.atomic():
        vm = _lock_for_modify(user, server_id)
        network = Network.objects.select_for_update().get(pk=network.pk)
        _usable_for_ports(network)
        count = NetworkInterface.objects.filter(machine=vm).count()
        if count >= MAX_NICS:
            raise OverLimit("Server %d already has %d network interfaces, the most Ganeti "
                            "allows." % (vm.id, count), resource="ports")
        nic = NetworkInterface.objects.create(
            machine=vm, network=network, index=count, state=PENDING_NIC, name=name,
            firewall_profile=_firewall_default(network))
        previous = record_action(vm, "MODIFY", updated=timezone.now())
    job_id = submit(vm, lambda vm: gnet.add_nic(vm, nic), "new interface of server %d" % vm.id,
                    "MODIFY", previous, undo=NetworkInterface.objects.filter(pk=nic.pk).delete)
    store_job(vm, "MODIFY", previous, job_id)
    return NetworkInterface.objects.select_related("network", "machine").get(pk=nic.pk)


def detach(user, port_id, server_id=None):
    """Remove a NIC from its server (one instance-modify job); the row goes at once and
    the NICs after it move down one index, as Ganeti's do."""
    nic = get_port(user, port_id)
    if server_id is not None and str(nic.machine_id) != str(server_id).strip():
        raise NotFound("Server %s has no interface %s." % (server_id, port_id))
    with transaction.atomic():
        vm = _lock_for_modify(user, nic.machine_id)
        try:
            nic = NetworkInterface.objects.select_for_update().get(pk=nic.pk, machine=vm)
        except NetworkInterface.DoesNotExist:
            raise NotFound("Port %s not found." % (port_id,)) from None
        previous = record_action(vm, "MODIFY", updated=timezone.now())
    job_id = submit(vm, lambda vm: gnet.remove_nic(vm, nic) if vm.backend_id else None,
                    "removal of interface %d of server %d" % (nic.id, vm.id), "MODIFY",
                    previous)
    with transaction.atomic():
        VirtualMachine.objects.select_for_update().filter(pk=vm.pk).first()
        NetworkInterface.objects.filter(pk=nic.pk).delete()
        if nic.index is not None:
            for later in NetworkInterface.objects.filter(
                    machine=vm, index__gt=nic.index).order_by("index"):
                NetworkInterface.objects.filter(pk=later.pk).update(index=later.index - 1)
    store_job(vm, "MODIFY", previous, job_id)
    return job_id


def rename_port(user, port_id, name):
    name = _check_name(name, "port.name")
    nic = get_port(user, port_id)
    NetworkInterface.objects.filter(pk=nic.pk).update(name=name, updated=timezone.now())
    return get_port(user, port_id)


# -- administration (snf-manage network-*) -------------------------------------------------

def admin_user():
    """A stand-in requester with every right, for the admin tools."""
    return User(id=0, name="(snf-manage)", is_admin=True)


def wait_for_backends(network, timeout=120):
    """Wait for the pending Ganeti jobs of ``network`` and record their results the way
    the dispatcher would (admin tools only: the service itself never polls).

    Returns [(clustername, operstate, job status)] per backend.
    """
    out = []
    deadline = time.monotonic() + timeout
    for bn in BackendNetwork.objects.filter(network=network).select_related("backend",
                                                                            "network"):
        client = client_for(bn.backend)
        # A transient failure is resubmitted (network_callbacks), which gives the row a
        # new last job: wait again, until the operation is over.
        while bn.operstate == "PENDING" and bn.backendjobid is not None:
            waited = bn.backendjobid
            job = client.wait_for_job(waited, timeout=max(1, deadline - time.monotonic()))
            if job["status"] != "success":
                # The last job failed: maybe only because an earlier one of the same
                # submission did (the removal depends on the disconnects). Those are
                # applied first, so that a transient failure there is retried.
                for other in _failed_jobs_before(client, bn, waited):
                    network_callbacks.apply_job(bn, other)
                bn.refresh_from_db()
            if bn.backendjobid == waited:
                network_callbacks.apply_job(bn, job)
                bn.refresh_from_db()
            if bn.backendjobid == waited:
                break  # not resubmitted: this was the end
        out.append((bn.backend.clustername, bn.operstate, bn.backendjobstatus))
    return out


def _failed_jobs_before(client, bn, last):
    """The failed jobs of ``bn``'s current submission before job ``last`` (ours only:
    job ids are shared with everything else on the cluster)."""
    failed = []
    if bn.batchjobid is None:
        return failed
    for job_id in range(bn.batchjobid, last):
        try:
            job = client.get_job_status(job_id)
        except RapiError:
            continue
        ops = job.get("ops") or [{}]
        if (job.get("status") in ("error", "canceled") and isinstance(ops[0], dict)
                and ops[0].get("network_name") == bn.network.backend_id):
            failed.append(job)
    return failed


def ensure_on_backend(backend):
    """Create every live network with a subnet on ``backend`` (a backend added later).
    Returns the networks submitted."""
    done = []
    for network in Network.objects.filter(deleted=False).exclude(subnet="").order_by("pk"):
        bn, _ = BackendNetwork.objects.get_or_create(network=network, backend=backend)
        if bn.operstate in ("ACTIVE", "PENDING") and bn.backendjobid is not None:
            continue
        jobs = gnet.create_network(network, backend)
        BackendNetwork.objects.filter(pk=bn.pk).update(
            operstate="PENDING", backendjobid=jobs[-1], backendopcode="OP_NETWORK_CONNECT",
            backendjobstatus="queued", backendlogmsg="", backendtime=None,
            batchjobid=jobs[0], retries=0)
        Network.objects.filter(pk=network.pk).update(state="PENDING")
        done.append(network)
    return done
