"""Networks on a Ganeti backend: Ganeti network objects, their node-group
connections, and the NICs of instances on them.

A network with an IPv4 subnet is a Ganeti network object named
``Network.backend_id`` (e.g. ``snf-net-7``): Ganeti keeps its address pool and
hands out the addresses (NICs are created with ``ip: "pool"``), so the database
learns an address only from Ganeti's own reports. The object is connected to the
node groups of GANETI_NETWORK_GROUPS with the network's mode and link; NICs on it
then take mode and link from that connection.

Every function submits Ganeti jobs over RAPI and returns their ids at once; the
outcome reaches the database through eventd -> RabbitMQ -> the dispatcher (or, for
the admin tools, ``synnefo.backend.jobs.wait_for_job``). All raise
``synnefo.backend.rapi.RapiError``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.conf import settings

from synnefo.backend.client import client_for, client_of
from synnefo.backend.rapi import RapiClient, RapiError

if TYPE_CHECKING:
    from synnefo.db.models import Backend, Network, NetworkInterface, VirtualMachine

log = logging.getLogger(__name__)

# network type -> Ganeti NIC mode of its node-group connection
MODES = {"PUBLIC_ROUTED": "routed", "PRIVATE_BRIDGED": "bridged",
         "PRIVATE_MAC_FILTERED": "bridged"}


def _path(network_name: str, action: str = "") -> str:
    return "/2/networks/%s%s" % (quote(network_name, safe=""), "/" + action if action else "")


def _groups() -> list[str]:
    return list(settings.GANETI_NETWORK_GROUPS)


def _after(job_id: int | None) -> list[list[Any]] | None:
    """Job dependency: run only once ``job_id`` succeeded (Ganeti cancels otherwise)."""
    return [[int(job_id), ["success"]]] if job_id is not None else None


def mode_of(network: Network) -> str:
    return MODES.get(network.type, "bridged")


def add_network_spec(network: Network) -> dict[str, Any]:
    """The OP_NETWORK_ADD body for ``network`` (it must have an IPv4 subnet)."""
    if not network.subnet:
        raise ValueError("network %s has no IPv4 subnet: Ganeti networks need one"
                         % network.id)
    spec = {"network_name": network.backend_id, "network": network.subnet,
            "gateway": network.gateway or None, "conflicts_check": True,
            "tags": ["synnefo:network:%s" % network.type]}
    if network.subnet6:
        spec.update(network6=network.subnet6, gateway6=network.gateway6 or None)
    if network.mac_prefix:
        spec["mac_prefix"] = network.mac_prefix
    reserved = reserved_ips(network)
    if reserved:
        spec["add_reserved_ips"] = reserved
    return spec


def reserved_ips(network: Network) -> list[str]:
    """Addresses Ganeti must never allocate on ``network`` (public: from settings)."""
    if network.public:
        return list(settings.PUBLIC_NETWORK_RESERVED_IPS or [])
    return []


def create_network(network: Network, backend: Backend) -> list[int]:
    """Add ``network`` to ``backend`` and connect it to the node groups.

    Returns the job ids, the add first; each connect depends on the add, so a
    failed add cancels them instead of leaving half a network.
    """
    client = client_for(backend)
    add_job = int(client.request("POST", "/2/networks", body=add_network_spec(network)))
    jobs = [add_job]
    for group in _groups():
        jobs.append(connect_network(network, backend, group, depends_on=add_job,
                                    client=client))
    log.info("creating network %s on %s: jobs %s", network.backend_id, backend.clustername,
             jobs)
    return jobs


def connect_network(network: Network, backend: Backend, group: str,
                    depends_on: int | None = None, client: RapiClient | None = None) -> int:
    client = client or client_for(backend)
    # No conflicts_check: with it Ganeti locks every instance of the group and fails the
    # connect ("Instances in node group ... changed since locks were acquired; retry")
    # whenever an instance is created or removed meanwhile, which on a busy cluster is
    # always. It guards against instances holding addresses of the new range outside
    # Ganeti's pool; ours take addresses only from the pool.
    body: dict[str, Any] = {"group_name": group, "network_mode": mode_of(network),
            "network_link": network.link, "conflicts_check": False}
    deps = _after(depends_on)
    if deps:
        body["depends"] = deps
    return int(client.request("PUT", _path(network.backend_id, "connect"), body=body))


# Ganeti's words for a failure that only says "try again": network connect and
# disconnect lock the instances of the node group and fail when one was created or
# removed meanwhile (cmdlib.common.CheckNodeGroupInstances).
TRANSIENT_MARKERS = ("changed since locks were acquired", "retry the operation")


def is_transient_failure(text: object) -> bool:
    """True when Ganeti's error ``text`` asks for the same operation to be retried."""
    text = str(text or "").lower()
    return any(marker in text for marker in TRANSIENT_MARKERS)


def connect_missing_groups(network: Network, backend: Backend) -> list[int]:
    """Connect ``network`` to the groups of GANETI_NETWORK_GROUPS it is not connected to
    (a connect that failed transiently, resubmitted). Returns the job ids."""
    client = client_for(backend)
    info = get_network(network, backend, client=client) or {}
    connected = {g[0] if isinstance(g, (list, tuple)) else g
                 for g in info.get("group_list") or []}
    return [connect_network(network, backend, group, client=client)
            for group in _groups() if group not in connected]


def modify_network(network: Network, backend: Backend, **params: Any) -> int:
    """OP_NETWORK_SET_PARAMS: gateway, network6, gateway6, add/remove_reserved_ips."""
    return int(client_for(backend).request("PUT", _path(network.backend_id, "modify"),
                                           body=params))


def delete_network(network: Network, backend: Backend) -> list[int]:
    """Disconnect ``network`` from the node groups it is connected to, then remove it.

    Returns the job ids, the removal last (it depends on every disconnect). A network
    Ganeti does not know is already gone: no jobs, an empty list.
    """
    client = client_for(backend)
    info = get_network(network, backend, client=client)
    if info is None:
        return []
    jobs = []
    for group_info in info.get("group_list") or []:
        group = group_info[0] if isinstance(group_info, (list, tuple)) else group_info
        jobs.append(int(client.request("PUT", _path(network.backend_id, "disconnect"),
                                       body={"group_name": group})))
    body = {"depends": [[j, ["success"]] for j in jobs]} if jobs else None
    jobs.append(int(client.request("DELETE", _path(network.backend_id), body=body)))
    log.info("removing network %s from %s: jobs %s", network.backend_id, backend.clustername,
             jobs)
    return jobs


def get_network(network: Network, backend: Backend,
                client: RapiClient | None = None) -> dict[str, Any] | None:
    """Ganeti's view of ``network`` on ``backend`` (a dict), or None when it has none."""
    client = client or client_for(backend)
    try:
        return client.request("GET", _path(network.backend_id))
    except RapiError as exc:
        if exc.code == 404:
            return None
        raise


def list_networks(backend: Backend) -> list[dict[str, Any]]:
    return client_for(backend).request("GET", "/2/networks", {"bulk": 1})


# -- NICs of instances ------------------------------------------------------------

def nic_name(nic: NetworkInterface) -> str:
    """The Ganeti name of NIC row ``nic``: stable while indexes shift on removals."""
    return "%snic-%d" % (settings.BACKEND_PREFIX_ID, nic.id)


def nic_spec(nic: NetworkInterface) -> dict[str, Any]:
    """The Ganeti NIC parameters of NetworkInterface row ``nic``.

    On a network Ganeti knows (it has an IPv4 subnet) the NIC names the network and
    asks its pool for an address: mode and link come from the node-group connection.
    Otherwise it is a plain NIC on the network's link (GANETI_DEFAULT_LINK when the
    network has none), with the row's address if it has one.
    """
    network = nic.network
    spec: dict[str, Any] = {"name": nic_name(nic)}
    if network.subnet:
        spec.update(network=network.backend_id, ip="pool")
    else:
        # Ganeti refuses a routed NIC with neither an address nor a network, so a
        # NIC whose address is not known is bridged on the network's link.
        mode = mode_of(network)
        if mode == "routed" and not nic.ipv4:
            mode = "bridged"
        spec["mode"] = mode
        if nic.ipv4:
            spec["ip"] = nic.ipv4
        link = network.link or settings.GANETI_DEFAULT_LINK
        if link:
            spec["link"] = link
    if nic.mac:
        spec["mac"] = nic.mac
    return spec


def add_nic(vm: VirtualMachine, nic: NetworkInterface) -> int:
    """Add NIC row ``nic`` to ``vm``'s instance (one instance-modify job).

    Hotplugged where the hypervisor can (kvm); elsewhere Ganeti records the change
    and it takes effect at the next start.
    """
    return client_of(vm).modify_instance(vm.backend_vm_id, nics=[["add", -1, nic_spec(nic)]],
                                         hotplug_if_possible=True)


def _ganeti_nic_id(info: dict[str, Any], nic: NetworkInterface) -> str | None:
    """How Ganeti identifies ``nic`` in the instance ``info``: its UUID, found by MAC
    (what Ganeti reported) or by name (what we asked for); None if it is not there."""
    macs = info.get("nic.macs") or []
    names = info.get("nic.names") or []
    uuids = info.get("nic.uuids") or []
    for i, uuid in enumerate(uuids):
        if (nic.mac and i < len(macs) and macs[i] == nic.mac) or \
                (i < len(names) and names[i] == nic_name(nic)):
            return uuid
    return None


def remove_nic(vm: VirtualMachine, nic: NetworkInterface) -> int | None:
    """Remove NIC row ``nic`` from ``vm``'s instance; None when Ganeti has no such NIC."""
    client = client_of(vm)
    info = client.get_instance(vm.backend_vm_id)
    ident = _ganeti_nic_id(info, nic)
    if ident is None:
        return None
    return client.modify_instance(vm.backend_vm_id, nics=[["remove", ident, {}]],
                                  hotplug_if_possible=True)
