"""Database rows -> Neutron v2.0 shaped JSON (networks, subnets, ports) and the
compute API's interfaceAttachment."""

import ipaddress

from synnefo.logic.ports import port_addresses
from synnefo.logic.subnets import IPV6_MODE, subnet_id, subnets_of

from ..util import isotime

# Network.state -> Neutron status
STATUS = {"ACTIVE": "ACTIVE", "PENDING": "BUILD", "ERROR": "ERROR", "DELETED": "DOWN"}
# NetworkInterface.state -> Neutron port status
PORT_STATUS = {"ACTIVE": "ACTIVE", "BUILD": "BUILD", "DOWN": "DOWN", "ERROR": "ERROR"}


def project_of(owner_id):
    """Each user is their own project (see synnefo.api.identity); shared rows have none."""
    return str(owner_id) if owner_id is not None else ""


def _times(row):
    return {"created_at": isotime(row.created), "updated_at": isotime(row.updated)}


def network(net):
    project = project_of(net.owner_id)
    out = {"id": str(net.id), "name": net.name, "status": STATUS.get(net.state, "ERROR"),
           "admin_state_up": True, "shared": bool(net.public),
           "router:external": bool(net.public),
           "subnets": [subnet_id(net, s[0]) for s in subnets_of(net)],
           "tenant_id": project, "project_id": project, "description": "",
           "mtu": 1500, "port_security_enabled": net.type != "PRIVATE_BRIDGED",
           "availability_zones": [], "availability_zone_hints": [], "tags": [],
           "ipv4_address_scope": None, "ipv6_address_scope": None,
           "revision_number": 0, "SNF:type": net.type}
    out.update(_times(net))
    return out


def _pool(cidr, gateway):
    """Neutron's allocation_pools: the subnet's host addresses without the gateway."""
    net = ipaddress.ip_network(cidr)
    if net.version == 6:
        return [{"start": str(net.network_address + 2 if gateway else net.network_address + 1),
                 "end": str(net.broadcast_address)}]
    hosts = list(net.hosts())
    if gateway and hosts and str(hosts[0]) == gateway:
        hosts = hosts[1:]
    if gateway and hosts and str(hosts[-1]) == gateway:
        hosts = hosts[:-1]
    return [{"start": str(hosts[0]), "end": str(hosts[-1])}] if hosts else []


def subnet(net, entry):
    version, cidr, gateway, name = entry
    project = project_of(net.owner_id)
    out = {"id": subnet_id(net, version), "name": name, "network_id": str(net.id),
           "ip_version": version, "cidr": cidr, "gateway_ip": gateway or None,
           "enable_dhcp": bool(net.dhcp), "allocation_pools": _pool(cidr, gateway),
           "dns_nameservers": [], "host_routes": [], "tenant_id": project,
           "project_id": project, "description": "", "tags": [], "subnetpool_id": None,
           "ipv6_address_mode": IPV6_MODE if version == 6 else None,
           "ipv6_ra_mode": IPV6_MODE if version == 6 else None, "revision_number": 0,
           "service_types": []}
    out.update(_times(net))
    return out


def fixed_ips(nic):
    return [{"subnet_id": subnet_id(nic.network, version), "ip_address": addr}
            for version, addr in port_addresses(nic)]


def port(nic):
    project = project_of(nic.machine.owner_id)
    out = {"id": str(nic.id), "name": nic.name, "network_id": str(nic.network_id),
           "device_id": str(nic.machine_id), "device_owner": "compute:nova",
           "mac_address": nic.mac, "fixed_ips": fixed_ips(nic),
           "status": PORT_STATUS.get(nic.state, "DOWN"), "admin_state_up": True,
           "tenant_id": project, "project_id": project, "security_groups": [],
           "binding:vnic_type": "normal", "description": "", "tags": [],
           "allowed_address_pairs": [], "extra_dhcp_opts": [], "revision_number": 0,
           "port_security_enabled": nic.network.type != "PRIVATE_BRIDGED"}
    if nic.firewall_profile:
        out["SNF:firewall_profile"] = nic.firewall_profile
    out.update(_times(nic))
    return out


def interface_attachment(nic):
    return {"port_id": str(nic.id), "net_id": str(nic.network_id), "mac_addr": nic.mac,
            "port_state": PORT_STATUS.get(nic.state, "DOWN"), "fixed_ips": fixed_ips(nic),
            "tag": None}
