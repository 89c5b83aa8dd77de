"""synnefo.backend.networks against the real Ganeti test cluster (ci/ganeti.sh).

A Ganeti network with a pool in 10.251.100.0/24 (used by no other test) is created
and connected to the default node group; an instance gets an address from the pool;
NICs are added and removed through instance modify; everything is cleaned up.
"""

import ipaddress

import pytest
from support.cluster import cluster_backend, env, remove_ganeti_network, run_prefix

from synnefo.backend import instances
from synnefo.backend import networks as gnet
from synnefo.backend.client import client_for
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SUBNET = "10.251.100.0/24"
# A prefix of its own: Ganeti names (instances, networks) never meet other tests'.
PREFIX = run_prefix("snfnb")


@pytest.fixture
def backend(db, settings):
    settings.BACKEND_PREFIX_ID = PREFIX
    return cluster_backend()


def _ok(client, job):
    result = client.wait_for_job(job)
    assert result["status"] == "success", result
    return result


def _cleanup(client, instance_names, network_names):
    names = [i["name"] for i in client.get_instances(bulk=True)]
    for name in instance_names:
        if name in names:
            client.wait_for_job(client.delete_instance(name))
    for net in network_names:
        try:
            info = client.request("GET", "/2/networks/%s" % net)
        except Exception:
            continue
        remove_ganeti_network(client, info)


def test_network_pool_instance_and_nic_modify_on_the_real_cluster(backend, settings):
    settings.GANETI_OS = "noop+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    client = client_for(backend)
    user = m.User.objects.create(name="netuser")
    public = m.Network.objects.create(
        name="public", public=True, type="PUBLIC_ROUTED", link="gnt-br0", subnet=SUBNET,
        gateway="10.251.100.1", subnet6="2001:db8:100::/64", gateway6="2001:db8:100::1")
    settings.PUBLIC_NETWORK_RESERVED_IPS = ["10.251.100.2"]
    private = m.Network.objects.create(
        name="lan", owner=user, type="PRIVATE_MAC_FILTERED", link="gnt-br0",
        subnet="192.168.77.0/24", mac_prefix="aa:00:77")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    image = m.Image.objects.create(name="noop", backend_id="noop-image", public=True)
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, image=image,
                                         backend=backend, name="netvm")
    instance = vm.backend_vm_id
    try:
        for network in (public, private):
            jobs = gnet.create_network(network, backend)
            assert len(jobs) == 2  # add, then connect to the one group
            for job in jobs:
                _ok(client, job)
        info = gnet.get_network(public, backend)
        assert info["network"] == SUBNET and info["gateway"] == "10.251.100.1"
        assert info["network6"] == "2001:db8:100::/64"
        assert ["default", "routed", "gnt-br0", ""] in info["group_list"]
        assert "10.251.100.2" in info["external_reservations"]
        assert gnet.get_network(private, backend)["mac_prefix"] == "aa:00:77"
        assert public.backend_id in [n["name"] for n in gnet.list_networks(backend)]

        # The instance's public NIC gets its address from Ganeti's pool.
        nic0 = m.NetworkInterface.objects.create(machine=vm, network=public, index=0)
        spec = instances.build_create_spec(vm, "pw")
        spec["nics"] = [gnet.nic_spec(nic0)]
        spec["pnode"] = env("SNF_TEST_GANETI_NODE")
        _ok(client, client.create_instance(spec))
        got = client.get_instance(instance)
        ip = got["nic.ips"][0]
        assert ipaddress.ip_address(ip) in ipaddress.ip_network(SUBNET)
        assert ip not in ("10.251.100.0", "10.251.100.1", "10.251.100.2")
        assert got["nic.modes"] == ["routed"] and got["nic.names"] == [gnet.nic_name(nic0)]
        assert got["nic.networks.names"] == [public.backend_id]
        assert gnet.get_network(public, backend)["inst_list"] == [instance]

        # Attach: a NIC on the private network, MAC from its prefix, pool address.
        nic1 = m.NetworkInterface.objects.create(machine=vm, network=private, index=1)
        _ok(client, gnet.add_nic(vm, nic1))
        got = client.get_instance(instance)
        assert got["nic.names"] == [gnet.nic_name(nic0), gnet.nic_name(nic1)]
        assert got["nic.macs"][1].startswith("aa:00:77:")
        assert got["nic.ips"][1].startswith("192.168.77.")
        assert got["nic.modes"] == ["routed", "bridged"]

        # Detach the public NIC (found by the MAC Ganeti reported): indexes shift,
        # the private NIC is still found by name afterwards.
        nic0.mac = got["nic.macs"][0]
        _ok(client, gnet.remove_nic(vm, nic0))
        got = client.get_instance(instance)
        assert got["nic.names"] == [gnet.nic_name(nic1)]
        assert gnet.remove_nic(vm, nic0) is None  # already gone: nothing submitted
        _ok(client, gnet.remove_nic(vm, nic1))
        assert client.get_instance(instance)["nic.names"] == []
        # The pool got the addresses back.
        assert gnet.get_network(public, backend)["free_count"] == 256 - 4

        _ok(client, instances.delete_instance(vm))
        for network in (public, private):
            jobs = gnet.delete_network(network, backend)
            assert len(jobs) == 2  # disconnect, then remove
            for job in jobs:
                _ok(client, job)
            assert gnet.get_network(network, backend) is None
            assert gnet.delete_network(network, backend) == []  # idempotent
    finally:
        _cleanup(client, [instance], [public.backend_id, private.backend_id])


def test_a_failed_add_cancels_the_connect(backend, settings):
    """The connect job depends on the add: a refused add leaves nothing behind."""
    settings.GANETI_NETWORK_GROUPS = ["default"]
    client = client_for(backend)
    bad = m.Network.objects.create(name="bad", type="PRIVATE_BRIDGED", link="gnt-br0",
                                   subnet="10.251.101.0/24", gateway="10.251.102.1")
    try:
        add_job, connect_job = gnet.create_network(bad, backend)
        assert client.wait_for_job(add_job)["status"] == "error"  # gateway outside
        assert client.wait_for_job(connect_job)["status"] in ("error", "canceled")
        assert gnet.get_network(bad, backend) is None
    finally:
        _cleanup(client, [], [bad.backend_id])
