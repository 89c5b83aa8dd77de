"""Ports: the NICs of servers (a NetworkInterface row; ports exist only attached to a
server). A new port has no address: Ganeti's pool allocates it and the net-status
message brings it back. Attach and detach are server actions (MODIFY) and take the
``server_state`` path: guard, record, submit with rollback, store the job id.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from synnefo.backend import networks as gnet
from synnefo.common.protocol import eui64_address
from synnefo.db.models import Network, NetworkInterface, VirtualMachine

from .errors import Conflict, Forbidden, InvalidInput, NotFound, OverLimit
from .networks import check_name, get_network, id_or_not_found
from .server_state import get_server, guard, record_action, store_job, submit

# Ganeti allows at most 8 NICs per instance (constants.MAX_NICS).
MAX_NICS = 8
# Ganeti NIC states of a port that are not yet confirmed.
PENDING_NIC = "BUILD"


def visible_ports(user):
    query = NetworkInterface.objects.filter(machine__deleted=False, network__deleted=False)
    if not user.is_admin:
        query = query.filter(machine__owner=user)
    return query.select_related("network", "machine")


# What a listed port shows (api/network/serializers.port): a port list loads no other
# column of the NIC, its server or its network. Each model instance and each timestamp
# the database adapter parses costs microseconds; a server row has two of them and a
# user_data text, and a list of 1,000 ports brought 1,000 of each.
PORT_LIST_FIELDS = ("id", "name", "index", "mac", "ipv4", "ipv6", "state", "firewall_profile",
                    "created", "updated", "machine__id", "machine__owner_id", "network__id",
                    "network__type", "network__subnet6")


def list_ports(user):
    """The ports ``user`` sees, oldest first (only the columns a port list shows)."""
    return list(visible_ports(user).only(*PORT_LIST_FIELDS).order_by("id"))


def server_ports(user, vm):
    """The ports of server ``vm`` that ``user`` sees, in NIC order."""
    return list(visible_ports(user).filter(machine=vm).order_by("index", "id"))


def get_port(user, port_id):
    pk = id_or_not_found(port_id, "Port")
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
    name = check_name(name or "", "port.name")
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
    name = check_name(name, "port.name")
    nic = get_port(user, port_id)
    NetworkInterface.objects.filter(pk=nic.pk).update(name=name, updated=timezone.now())
    return get_port(user, port_id)
