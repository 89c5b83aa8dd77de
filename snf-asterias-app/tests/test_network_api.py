"""The Neutron-shaped network API and os-interface over the logic layer (SQLite; the
Ganeti side is a recording fake -- the real cluster is in test_network_backend_cluster)."""

import itertools

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from support.api import create_server

from synnefo.backend import networks as gnet
from synnefo.backend.rapi import RapiError
from synnefo.db.models import BackendNetwork, Network, NetworkInterface, VirtualMachine
from synnefo.logic import callbacks, network_callbacks, ports
from synnefo.logic.errors import InvalidInput

N = "/network/v2.0"


class FakeNetworks:
    def __init__(self, monkeypatch):
        self.calls = []
        self.fail = None
        self.ganeti_nics = {}  # vm id -> [nic ids] Ganeti has
        ids = itertools.count(500)

        def job(kind, *args):
            if self.fail is not None:
                exc, self.fail = self.fail, None
                raise exc
            self.calls.append((kind,) + args)
            return next(ids)

        monkeypatch.setattr(gnet, "create_network",
                            lambda net, be: [job("create", net.id), job("connect", net.id)])
        monkeypatch.setattr(gnet, "delete_network",
                            lambda net, be: [job("disconnect", net.id), job("remove", net.id)])
        monkeypatch.setattr(gnet, "modify_network",
                            lambda net, be, **kw: job("modify", net.id, kw))
        monkeypatch.setattr(gnet, "add_nic", lambda vm, nic: job("add_nic", vm.id, nic.id))
        monkeypatch.setattr(gnet, "remove_nic", lambda vm, nic: job("remove_nic", vm.id, nic.id))


@pytest.fixture
def fake_net(monkeypatch, fake_backend):  # noqa: F811
    return FakeNetworks(monkeypatch)


def net_status(body_net, job, op, status="success", t=100):
    return {"type": "ganeti-network-status", "operation": op, "jobId": job,
            "status": status, "network": body_net.backend_id, "event_time": [t, 0],
            "cluster": "fake.ganeti.test", "logmsg": ""}


def confirm(net, jobs_from=None):
    """Ganeti reports the add and connect jobs of ``net`` as done (as eventd would)."""
    bn = BackendNetwork.objects.get(network=net)
    network_callbacks.handle(net_status(net, bn.backendjobid - 1, "OP_NETWORK_ADD", t=100))
    network_callbacks.handle(net_status(net, bn.backendjobid, "OP_NETWORK_CONNECT", t=101))
    return Network.objects.get(pk=net.pk)


def running_server(world, client, name="vm1", **extra):  # noqa: F811
    r = create_server(client, world, name=name, **extra)
    assert r.status_code == 202, r.content
    vm = VirtualMachine.objects.get(pk=int(r.json()["server"]["id"]))
    VirtualMachine.objects.filter(pk=vm.pk).update(operstate="STARTED", action="",
                                                   task_job_id=None)
    return VirtualMachine.objects.get(pk=vm.pk)


def make_net_with_subnet(world, fake_net, client=None, cidr="192.168.10.0/24"):  # noqa: F811
    client = client or world.a
    r = client.post(N + "/networks", {"network": {"name": "lan"}})
    assert r.status_code == 201, r.content
    net_id = r.json()["network"]["id"]
    r = client.post(N + "/subnets", {"subnet": {"network_id": net_id, "cidr": cidr,
                                                "ip_version": 4, "name": "lan-v4"}})
    assert r.status_code == 201, r.content
    return confirm(Network.objects.get(pk=int(net_id)))


def test_versions_and_root(world):  # noqa: F811
    r = world.anon.get("/network")
    assert r.status_code == 200
    assert r.json()["versions"][0]["id"] == "v2.0"
    assert r.json()["versions"][0]["links"][0]["href"].endswith("/network/v2.0/")
    assert world.anon.get(N + "/networks").status_code == 401
    assert world.a.get(N + "/extensions").json() == {"extensions": []}
    assert world.a.get(N + "/nonsense").status_code == 404


def test_network_create_list_show_rename_delete(world, fake_net):  # noqa: F811
    r = world.a.post(N + "/networks", {"network": {"name": "lan", "admin_state_up": True}})
    assert r.status_code == 201, r.content
    net = r.json()["network"]
    assert net["name"] == "lan" and net["status"] == "ACTIVE" and net["subnets"] == []
    assert net["shared"] is False and net["project_id"] == str(world.alice.id)
    row = Network.objects.get(pk=int(net["id"]))
    assert row.type == "PRIVATE_MAC_FILTERED" and row.mac_prefix == "aa:00:01"
    assert row.link == "prv0"
    # a second one gets the next MAC prefix
    r2 = world.a.post(N + "/networks", {"network": {"name": "lan2"}})
    assert Network.objects.get(pk=int(r2.json()["network"]["id"])).mac_prefix == "aa:00:02"
    ids = [n["id"] for n in world.a.get(N + "/networks").json()["networks"]]
    assert set(ids) == {str(world.net.id), net["id"], r2.json()["network"]["id"]}
    # Bob sees only the public network, and cannot touch Alice's
    assert [n["id"] for n in world.b.get(N + "/networks").json()["networks"]] == \
        [str(world.net.id)]
    assert world.b.get(N + "/networks/%s" % net["id"]).status_code == 404
    assert world.b.delete(N + "/networks/%s" % net["id"]).status_code == 404
    # filters (what openstack network delete <name> uses)
    found = world.a.get(N + "/networks?name=lan").json()["networks"]
    assert [n["id"] for n in found] == [net["id"]]
    r = world.a.put(N + "/networks/%s" % net["id"], {"network": {"name": "renamed"}})
    assert r.status_code == 200 and r.json()["network"]["name"] == "renamed"
    assert world.a.delete(N + "/networks/%s" % net["id"]).status_code == 204
    assert world.a.get(N + "/networks/%s" % net["id"]).status_code == 404
    assert Network.objects.get(pk=int(net["id"])).state == "DELETED"
    # its MAC prefix is free again
    r3 = world.a.post(N + "/networks", {"network": {"name": "lan3"}})
    assert Network.objects.get(pk=int(r3.json()["network"]["id"])).mac_prefix == "aa:00:01"


def test_bad_requests_and_public_network_protection(world, fake_net):  # noqa: F811
    assert world.a.post(N + "/networks", {"network": {"name": "x", "shared": True}}) \
        .status_code == 400
    assert world.a.post(N + "/networks", {"network": {"name": "x", "bogus": 1}}) \
        .status_code == 400
    assert world.a.post(N + "/networks", {"nope": {}}).status_code == 400
    assert world.a.post(N + "/networks", raw="{").status_code == 400
    assert world.a.put(N + "/networks/%d" % world.net.id,
                       {"network": {"name": "mine"}}).status_code == 403
    assert world.a.delete(N + "/networks/%d" % world.net.id).status_code == 403
    r = world.a.post(N + "/networks", {"network": {"name": "x", "SNF:type": "PUBLIC_ROUTED"}})
    assert r.status_code == 400


def test_network_quota(world, fake_net, settings):  # noqa: F811
    settings.QUOTA_MAX_NETWORKS = 1
    assert world.a.post(N + "/networks", {"network": {"name": "a"}}).status_code == 201
    r = world.a.post(N + "/networks", {"network": {"name": "b"}})
    assert r.status_code == 413 and "networks" in r.content.decode()


def test_bridged_networks_take_bridges_from_the_pool(world, fake_net, settings):  # noqa: F811
    settings.PRIVATE_BRIDGE_COUNT = 2
    links = []
    for name in ("a", "b"):
        r = world.a.post(N + "/networks", {"network": {"name": name,
                                                       "SNF:type": "PRIVATE_BRIDGED"}})
        assert r.status_code == 201
        links.append(Network.objects.get(pk=int(r.json()["network"]["id"])).link)
    assert links == ["prv1", "prv2"]
    r = world.b.post(N + "/networks", {"network": {"name": "c",
                                                   "SNF:type": "PRIVATE_BRIDGED"}})
    assert r.status_code == 413


def test_subnets_create_ganeti_networks_and_states_follow_ganeti(world, fake_net):  # noqa: F811
    r = world.a.post(N + "/networks", {"network": {"name": "lan"}})
    net_id = r.json()["network"]["id"]
    r = world.a.post(N + "/subnets", {"subnet": {"network_id": net_id, "ip_version": 4,
                                                 "cidr": "192.168.10.0/24", "name": "s4"}})
    assert r.status_code == 201, r.content
    sub = r.json()["subnet"]
    assert sub["id"] == "%s-v4" % net_id and sub["gateway_ip"] == "192.168.10.1"
    assert sub["allocation_pools"] == [{"start": "192.168.10.2", "end": "192.168.10.254"}]
    assert sub["name"] == "s4" and sub["enable_dhcp"] is True
    assert [c[0] for c in fake_net.calls] == ["create", "connect"]
    net = Network.objects.get(pk=int(net_id))
    assert net.state == "PENDING"
    assert world.a.get(N + "/networks/%s" % net_id).json()["network"]["status"] == "BUILD"
    # a port cannot be made before Ganeti confirmed the network
    vm = running_server(world, world.a)
    r = world.a.post(N + "/ports", {"port": {"network_id": net_id, "device_id": str(vm.id)}})
    assert r.status_code == 409
    net = confirm(net)
    assert net.state == "ACTIVE"
    assert world.a.get(N + "/networks/%s" % net_id).json()["network"]["subnets"] == \
        [sub["id"]]
    # one IPv4 subnet per network; IPv6 must be a /64
    again = {"subnet": {"network_id": net_id, "ip_version": 4, "cidr": "10.9.0.0/24"}}
    assert world.a.post(N + "/subnets", again).status_code == 409
    bad6 = {"subnet": {"network_id": net_id, "ip_version": 6, "cidr": "2001:db8::/48"}}
    assert world.a.post(N + "/subnets", bad6).status_code == 400
    ok6 = {"subnet": {"network_id": net_id, "ip_version": 6, "cidr": "2001:db8:1::/64",
                      "gateway_ip": None}}
    r = world.a.post(N + "/subnets", ok6)
    assert r.status_code == 201 and r.json()["subnet"]["gateway_ip"] is None
    assert fake_net.calls[-1][0] == "modify"  # the Ganeti network learns its IPv6 side
    assert fake_net.calls[-1][2]["network6"] == "2001:db8:1::/64"
    listed = world.a.get(N + "/subnets?network_id=%s" % net_id).json()["subnets"]
    assert {s["ip_version"] for s in listed} == {4, 6}
    assert world.b.get(N + "/subnets").json()["subnets"] == []
    for cidr in ("10.0.0.0/8", "10.0.0.1/24", "nonsense", "2001:db8::/64"):
        r = world.a.post(N + "/subnets", {"subnet": {"network_id": net_id, "ip_version": 4,
                                                     "cidr": cidr}})
        assert r.status_code in (400, 409), cidr
    r = world.a.put(N + "/subnets/%s" % sub["id"], {"subnet": {"name": "renamed"}})
    assert r.json()["subnet"]["name"] == "renamed"
    assert world.a.get(N + "/subnets/%s-v9" % net_id).status_code == 404
    # deleting the IPv4 subnet removes the Ganeti network
    assert world.a.delete(N + "/subnets/%s" % sub["id"]).status_code == 204
    assert fake_net.calls[-2:] == [("disconnect", int(net_id)), ("remove", int(net_id))]
    bn = BackendNetwork.objects.get(network_id=int(net_id))
    network_callbacks.handle(net_status(net, bn.backendjobid, "OP_NETWORK_REMOVE", t=200))
    assert BackendNetwork.objects.get(pk=bn.pk).operstate == "DELETED"
    assert Network.objects.get(pk=int(net_id)).state == "ACTIVE"


def test_subnet_rapi_failure_is_a_503_and_leaves_an_error(world, fake_net):  # noqa: F811
    net_id = world.a.post(N + "/networks", {"network": {"name": "lan"}}).json()["network"]["id"]
    fake_net.fail = RapiError("fake.ganeti.test", "POST /2/networks", "connection refused")
    r = world.a.post(N + "/subnets", {"subnet": {"network_id": net_id, "ip_version": 4,
                                                 "cidr": "192.168.10.0/24"}})
    assert r.status_code == 503 and "connection refused" in r.content.decode()
    assert Network.objects.get(pk=int(net_id)).state == "ERROR"


def _ipv6_subnet(client, net_id, **fields):
    return client.post(N + "/subnets", {"subnet": dict(
        network_id=net_id, ip_version=6, cidr="2001:db8:7::/64", **fields)})


def test_ipv6_subnet_modes_are_slaac_only(world, fake_net):  # noqa: F811
    """Neutron's ipv6_ra_mode/ipv6_address_mode: slaac is accepted and reported; the DHCPv6
    modes we do not offer, unknown values, modes on IPv4 or without DHCP are clear 400s."""
    net_id = world.a.post(N + "/networks", {"network": {"name": "six"}}).json()[
        "network"]["id"]
    refused = [
        ({"ipv6_ra_mode": "dhcpv6-stateful", "ipv6_address_mode": "dhcpv6-stateful"},
         "not offered"),
        ({"ipv6_ra_mode": "dhcpv6-stateless", "ipv6_address_mode": "dhcpv6-stateless"},
         "not offered"),
        ({"ipv6_address_mode": "dhcpv6-stateful"}, "not offered"),
        ({"ipv6_ra_mode": "slaac", "ipv6_address_mode": "dhcpv6-stateless"}, "not offered"),
        ({"ipv6_ra_mode": "SLAAC"}, "must be one of"),
        ({"ipv6_address_mode": ["slaac"]}, "must be one of"),
        ({"ipv6_address_mode": {"a": 1}}, "must be one of"),
        ({"ipv6_ra_mode": "slaac", "enable_dhcp": False}, "enable_dhcp"),
    ]
    for fields, reason in refused:
        r = _ipv6_subnet(world.a, net_id, **fields)
        assert r.status_code == 400 and reason in r.json()["badRequest"]["message"], fields
    r = world.a.post(N + "/subnets", {"subnet": {"network_id": net_id, "ip_version": 4,
                                                 "cidr": "10.9.0.0/24",
                                                 "ipv6_address_mode": "slaac"}})
    assert r.status_code == 400 and "IPv6 subnets only" in r.content.decode()
    assert Network.objects.get(pk=int(net_id)).subnet6 == ""  # nothing recorded
    assert fake_net.calls == []
    r = _ipv6_subnet(world.a, net_id, ipv6_ra_mode="slaac", ipv6_address_mode="slaac",
                     gateway_ip=None)
    assert r.status_code == 201, r.content
    sub = r.json()["subnet"]
    assert (sub["ipv6_ra_mode"], sub["ipv6_address_mode"]) == ("slaac", "slaac")
    assert sub["gateway_ip"] is None and sub["cidr"] == "2001:db8:7::/64"


def test_ipv6_subnet_defaults_like_neutron(world, fake_net):  # noqa: F811
    """No modes given: still slaac (what guests do); no gateway given: the first address;
    a network may have an IPv6 subnet with a gateway and an IPv4 one without."""
    net_id = world.a.post(N + "/networks", {"network": {"name": "six"}}).json()[
        "network"]["id"]
    r = _ipv6_subnet(world.a, net_id)
    assert r.status_code == 201, r.content
    sub = r.json()["subnet"]
    assert sub["gateway_ip"] == "2001:db8:7::1" and sub["id"] == "%s-v6" % net_id
    assert (sub["ipv6_ra_mode"], sub["ipv6_address_mode"]) == ("slaac", "slaac")
    assert _ipv6_subnet(world.a, net_id).status_code == 409  # one IPv6 subnet a network
    r = world.a.post(N + "/subnets", {"subnet": {"network_id": net_id, "ip_version": 4,
                                                 "cidr": "10.9.0.0/28", "gateway_ip": None}})
    assert r.status_code == 201 and r.json()["subnet"]["gateway_ip"] is None
    assert r.json()["subnet"]["ipv6_ra_mode"] is None
    listed = world.a.get(N + "/subnets?network_id=%s" % net_id).json()["subnets"]
    assert sorted(s["id"] for s in listed) == ["%s-v4" % net_id, "%s-v6" % net_id]
    # another user can neither see nor add to it
    assert world.b.get(N + "/subnets/%s-v6" % net_id).status_code == 404
    assert _ipv6_subnet(world.b, net_id).status_code == 404


def test_ports_attach_detach_and_network_delete_conflict(world, fake_net):  # noqa: F811
    net = make_net_with_subnet(world, fake_net)
    vm = running_server(world, world.a)
    # the server got its public NIC at create (index 0)
    assert list(vm.nics.values_list("network_id", "index")) == [(world.net.id, 0)]
    r = world.a.post(N + "/ports", {"port": {"network_id": str(net.id),
                                             "device_id": str(vm.id), "name": "p1"}})
    assert r.status_code == 201, r.content
    port = r.json()["port"]
    assert port["status"] == "BUILD" and port["fixed_ips"] == [] and port["mac_address"] == ""
    assert port["device_id"] == str(vm.id) and port["name"] == "p1"
    assert fake_net.calls[-1] == ("add_nic", vm.id, int(port["id"]))
    # the server is busy with the modify until Ganeti's op-status ends it
    vm = VirtualMachine.objects.get(pk=vm.pk)
    assert vm.action == "MODIFY" and vm.task_job_id is not None
    r = world.a.post("/compute/v2.1/servers/%d/os-interface" % vm.id,
                     {"interfaceAttachment": {"net_id": str(net.id)}})
    assert r.status_code == 409  # busy
    callbacks.handle({"type": "ganeti-op-status", "instance": vm.backend_vm_id,
                      "operation": "OP_INSTANCE_SET_PARAMS", "jobId": vm.task_job_id,
                      "status": "success", "logmsg": "", "event_time": [300, 0]})
    # the hook reports the NICs: only now does the port have an address and a MAC
    callbacks.handle({"type": "ganeti-net-status", "instance": vm.backend_vm_id,
                      "event_time": [301, 0], "nics": [
                          {"index": 0, "mac": "aa:bb:cc:00:00:01", "ip": "10.251.100.3"},
                          {"index": 1, "mac": "aa:00:01:12:34:56", "ip": "192.168.10.2"}]})
    port = world.a.get(N + "/ports/%s" % port["id"]).json()["port"]
    assert port["status"] == "ACTIVE" and port["mac_address"] == "aa:00:01:12:34:56"
    assert port["fixed_ips"] == [{"subnet_id": "%d-v4" % net.id, "ip_address": "192.168.10.2"}]
    # deleting a network with ports: 409
    r = world.a.delete(N + "/networks/%d" % net.id)
    assert r.status_code == 409 and "port" in r.content.decode()
    assert world.a.delete(N + "/subnets/%d-v4" % net.id).status_code == 409
    # port list and filters; Bob sees nothing
    ports = world.a.get(N + "/ports").json()["ports"]
    assert len(ports) == 2
    assert [p["id"] for p in world.a.get(N + "/ports?network_id=%d" % net.id)
            .json()["ports"]] == [port["id"]]
    assert world.b.get(N + "/ports").json()["ports"] == []
    assert world.b.get(N + "/ports/%s" % port["id"]).status_code == 404
    r = world.a.put(N + "/ports/%s" % port["id"], {"port": {"name": "renamed"}})
    assert r.json()["port"]["name"] == "renamed"
    # os-interface shows both
    r = world.a.get("/compute/v2.1/servers/%d/os-interface" % vm.id)
    atts = r.json()["interfaceAttachments"]
    assert [a["net_id"] for a in atts] == [str(world.net.id), str(net.id)]
    assert atts[1]["fixed_ips"][0]["ip_address"] == "192.168.10.2"
    # detach the public NIC: the private one moves to index 0 like Ganeti's does
    public_port = atts[0]["port_id"]
    r = world.a.delete("/compute/v2.1/servers/%d/os-interface/%s" % (vm.id, public_port))
    assert r.status_code == 202
    assert fake_net.calls[-1] == ("remove_nic", vm.id, int(public_port))
    assert list(NetworkInterface.objects.filter(machine=vm).values_list("id", "index")) == \
        [(int(port["id"]), 0)]
    VirtualMachine.objects.filter(pk=vm.pk).update(action="", task_job_id=None)
    assert world.a.delete(N + "/ports/%s" % port["id"]).status_code == 204
    VirtualMachine.objects.filter(pk=vm.pk).update(action="", task_job_id=None)
    assert world.a.delete(N + "/networks/%d" % net.id).status_code == 204
    assert fake_net.calls[-2:] == [("disconnect", net.id), ("remove", net.id)]


def test_attach_through_os_interface_and_failures(world, fake_net):  # noqa: F811
    net = make_net_with_subnet(world, fake_net)
    vm = running_server(world, world.a)
    url = "/compute/v2.1/servers/%d/os-interface" % vm.id
    assert world.a.post(url, {"interfaceAttachment": {}}).status_code == 400
    assert world.a.post(url, {"interfaceAttachment": {"port_id": "3"}}).status_code == 400
    assert world.a.post(url, {"interfaceAttachment": {"net_id": "999"}}).status_code == 400
    assert world.b.post(url, {"interfaceAttachment": {"net_id": str(net.id)}}) \
        .status_code == 404
    fake_net.fail = RapiError("fake.ganeti.test", "PUT modify", "connection refused")
    r = world.a.post(url, {"interfaceAttachment": {"net_id": str(net.id)}})
    assert r.status_code == 503
    assert vm.nics.count() == 1  # the row went again
    assert VirtualMachine.objects.get(pk=vm.pk).action == ""  # and the server is free
    r = world.a.post(url, {"interfaceAttachment": {"net_id": str(net.id)}})
    assert r.status_code == 200, r.content
    att = r.json()["interfaceAttachment"]
    assert att["net_id"] == str(net.id) and att["port_state"] == "BUILD"
    r = world.a.get(url + "/" + att["port_id"])
    assert r.json()["interfaceAttachment"]["port_id"] == att["port_id"]
    # Bob may not attach Alice's server to the public network either
    r = world.b.post(N + "/ports", {"port": {"network_id": str(world.net.id),
                                             "device_id": str(vm.id)}})
    assert r.status_code == 404


def test_server_create_with_networks(world, fake_net):  # noqa: F811
    net = make_net_with_subnet(world, fake_net)
    Network.objects.filter(pk=world.net.pk).update(subnet="10.251.100.0/24")
    nics = ports.nics_for_new_server(world.alice, [{"uuid": str(world.net.id)},
                                                   {"uuid": str(net.id)}])
    assert [(n.network_id, n.index, n.firewall_profile, n.ipv4) for n in nics] == \
        [(world.net.id, 0, "DISABLED", ""), (net.id, 1, "", "")]
    assert [n.network_id for n in ports.nics_for_new_server(world.alice, None)] == \
        [world.net.id]
    assert ports.nics_for_new_server(world.alice, "none") == []
    with pytest.raises(InvalidInput):
        ports.nics_for_new_server(world.bob, [{"uuid": str(net.id)}])
    with pytest.raises(InvalidInput):
        ports.nics_for_new_server(world.alice, [{"port": "1"}])
    # through the API (servers.py's own resolution of 'networks')
    vm = running_server(world, world.a, networks=[{"uuid": str(net.id)}])
    assert list(vm.nics.values_list("network_id", "index", "ipv4")) == [(net.id, 0, "")]


def test_ipv6_eui64_addresses_from_the_confirmed_mac(world, fake_net):  # noqa: F811
    Network.objects.filter(pk=world.net.pk).update(subnet="10.251.100.0/24",
                                                    subnet6="2001:db8:100::/64")
    vm = running_server(world, world.a)
    NetworkInterface.objects.filter(machine=vm).update(mac="aa:00:00:12:34:56",
                                                       ipv4="10.251.100.5", state="ACTIVE")
    port = world.a.get(N + "/ports").json()["ports"][0]
    assert port["fixed_ips"] == [
        {"subnet_id": "%d-v4" % world.net.id, "ip_address": "10.251.100.5"},
        {"subnet_id": "%d-v6" % world.net.id, "ip_address": "2001:db8:100:0:a800:ff:fe12:3456"}]


def test_port_list_query_count_is_constant(world, fake_net, settings):  # noqa: F811
    # list_ports loads only the columns a port shows: a column the serializer reads
    # beyond them would cost one query per port, which this catches
    settings.QUOTA_MAX_SERVERS = 20
    Network.objects.filter(pk=world.net.pk).update(subnet6="2001:db8:100::/64")

    def count():
        with CaptureQueriesContext(connection) as ctx:
            r = world.a.get(N + "/ports")
        assert r.status_code == 200
        return len(ctx.captured_queries), len(r.json()["ports"])
    running_server(world, world.a)
    NetworkInterface.objects.update(mac="aa:00:00:12:34:56", firewall_profile="ENABLED")
    one, n = count()
    assert n == 1
    for i in range(4):
        running_server(world, world.a, name="p%d" % i)
    NetworkInterface.objects.update(mac="aa:00:00:12:34:56", firewall_profile="ENABLED")
    assert count() == (one, 5)
