"""Subnets: a network's IPv4 subnet (a Ganeti network object on every backend, whose
pool hands out the addresses) and its IPv6 /64 (guests take EUI-64 addresses; Ganeti
learns it as the network6 of that object). One of each per network; a subnet's id is
``<network id>-v<version>``.
"""

import ipaddress
import logging

from django.db import transaction
from django.utils import timezone

from synnefo.backend import networks as gnet
from synnefo.backend.rapi import RapiError, user_reason
from synnefo.db.models import Backend, BackendNetwork, Network

from .backend_allocator import ensure_default_backend
from .errors import BackendUnavailable, Conflict, InvalidInput, NotFound
from .ids import parse_id
from .networks import (
    check_name,
    get_network,
    list_networks,
    may_change,
    network_ports,
    remove_from_backends,
)

log = logging.getLogger(__name__)

# Sizes of IPv4 subnets Ganeti's pool handles well (its map is one char per address).
MIN_PREFIXLEN, MAX_PREFIXLEN = 16, 29
# The values Neutron knows for a subnet's ipv6_ra_mode and ipv6_address_mode, and the one
# an IPv6 subnet here has (the API reports it for every IPv6 subnet).
NEUTRON_IPV6_MODES = ("slaac", "dhcpv6-stateful", "dhcpv6-stateless")
IPV6_MODE = "slaac"


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


def list_subnets(user):
    """[(network, subnet entry)] of the networks ``user`` sees, oldest network first."""
    return [(network, entry) for network in list_networks(user)
            for entry in subnets_of(network)]


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


def check_ipv6_modes(ip_version, dhcp, ra_mode=None, address_mode=None):
    """Neutron's ``ipv6_ra_mode`` and ``ipv6_address_mode`` as asked for a new subnet (None:
    not given). Either may only be IPV6_MODE: a guest always takes its address by SLAAC
    from nfdhcpd's router advertisements, never by DHCPv6 (nfdhcpd's DHCPv6 answers only
    Information-Requests, and only where its node enables it), so reporting another mode
    would promise what the network does not do."""
    for field, mode in (("ipv6_ra_mode", ra_mode), ("ipv6_address_mode", address_mode)):
        if mode is None:
            continue
        if mode not in NEUTRON_IPV6_MODES:
            raise InvalidInput("'subnet.%s' must be one of %s, got %r."
                               % (field, ", ".join(NEUTRON_IPV6_MODES), mode))
        if ip_version != 6:
            raise InvalidInput("'subnet.%s' applies to IPv6 subnets only (ip_version is %s)."
                               % (field, ip_version))
        if mode != IPV6_MODE:
            raise InvalidInput("'subnet.%s' %s is not offered: guests take their IPv6 "
                               "address by SLAAC (EUI-64 of the MAC); use %s or leave it "
                               "out." % (field, mode, IPV6_MODE))
        if not dhcp:
            raise InvalidInput("'subnet.%s' cannot be set when enable_dhcp is false."
                               % field)


def add_subnet(user, network_id, ip_version, cidr, gateway=None, dhcp=True, name="",
               ipv6_modes=(None, None)):
    """Give a network its IPv4 or IPv6 subnet (one of each per network); ``ipv6_modes``
    is the (ra mode, address mode) asked for, see check_ipv6_modes."""
    name = check_name(name or "", "subnet.name")
    if ip_version not in (4, 6):
        raise InvalidInput("'ip_version' must be 4 or 6, got %r." % (ip_version,))
    check_ipv6_modes(ip_version, dhcp, *ipv6_modes)
    network = get_network(user, network_id)
    may_change(user, network)
    return add_subnet_to(network, ip_version, cidr, gateway, dhcp, name)


def add_subnet_to(network, ip_version, cidr, gateway, dhcp, name):
    """Give ``network`` its IPv4 or IPv6 subnet (``ip_version``); the caller has checked
    that the requester may change it. Returns the network as it is now."""
    if ip_version == 6:
        with transaction.atomic():
            network = Network.objects.select_for_update().get(pk=network.pk)
            if network.deleted:
                raise NotFound("Network %d not found." % network.id)
            _set_subnet6(network, cidr, gateway, name)
        return Network.objects.get(pk=network.pk)
    if ip_version != 4:
        raise InvalidInput("'ip_version' must be 4 or 6, got %r." % (ip_version,))
    return _add_subnet4(network, cidr, gateway, dhcp, name)


def _add_subnet4(network, cidr, gateway, dhcp, name):
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


def delete_subnet(user, subnet):
    """Remove a subnet of a network without ports (409 otherwise)."""
    net_id, version = parse_subnet_id(subnet)
    with transaction.atomic():
        network = get_network(user, net_id, for_update=True)
        if not (network.subnet if version == 4 else network.subnet6):
            raise NotFound("Subnet %s not found." % (subnet,))
        may_change(user, network)
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
    remove_from_backends(network)
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
    name = check_name(name, "subnet.name")
    network, entry = get_subnet(user, subnet)
    may_change(user, network)
    field = "subnet_name" if entry[0] == 4 else "subnet6_name"
    Network.objects.filter(pk=network.pk).update(**{field: name, "updated": timezone.now()})
    return get_subnet(user, subnet)
