"""Servers on networks, end to end on the real Ganeti cluster, through the HTTP API.

snf-manage network-create makes the public network (pool 10.251.103.0/24 and an IPv6
/64) on the real cluster; a user makes a private network with a subnet through the
API; a server created through the compute API gets its public address from Ganeti's
pool; os-interface attaches it to the private network (a NIC in Ganeti, an address
from that pool in the API) and detaches it again.

What the dispatcher does in production is done here in-process with the same
handlers: the op-status of each job (read over RAPI once it finished) goes through
synnefo.logic.callbacks.update_db, and the NIC report the hook would send is built
from Ganeti's own view of the instance and goes through callbacks.update_net. The
addresses the API shows therefore come only from Ganeti.
"""

import ipaddress

import pytest
from django.core.management import call_command
from support.api import make_user
from support.cluster import cluster_backend, dispatch, remove_instances, run_prefix

from synnefo.backend import networks as gnet
from synnefo.backend.client import client_for
from synnefo.db import models as m
from synnefo.logic import network_admin

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PUBLIC = "10.251.103.0/24"
PRIVATE = "192.168.79.0/24"
PREFIX = run_prefix("snfne")


@pytest.fixture
def cluster(db, settings):
    # A prefix of its own: Ganeti names (instances, networks) never meet other tests'.
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    settings.PRIVATE_MAC_FILTERED_BRIDGE = "gnt-br0"  # a bridge that exists on the node
    settings.GANETI_CLUSTER_INFO = ()
    backend = cluster_backend()
    client = client_for(backend)
    yield backend, client
    remove_instances(client, PREFIX)
    for net in m.Network.objects.all():
        if gnet.get_network(net, backend) is not None:
            for job in gnet.delete_network(net, backend):
                client.wait_for_job(job)


def test_server_on_public_and_private_networks(cluster):
    backend, client = cluster
    call_command("network-create", "public", "--public", "--subnet", PUBLIC,
                 "--subnet6", "2001:db8:103::/64", "--link", "gnt-br0")
    public = m.Network.objects.get(public=True)
    assert public.state == "ACTIVE" and public.gateway == "10.251.103.1"
    alice, api = make_user("alice")
    m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    image = m.Image.objects.create(name="noop", backend_id="noop-image", public=True)

    r = api.post("/network/v2.0/networks", {"network": {"name": "lan"}})
    net_id = r.json()["network"]["id"]
    r = api.post("/network/v2.0/subnets", {"subnet": {"network_id": net_id, "ip_version": 4,
                                                      "cidr": PRIVATE}})
    assert r.status_code == 201, r.content
    call_command("network-modify", net_id, "--wait")
    assert api.get("/network/v2.0/networks/%s" % net_id).json()["network"]["status"] == \
        "ACTIVE"

    flavor = m.Flavor.objects.get()
    r = api.post("/compute/v2.1/servers", {"server": {
        "name": "netvm", "imageRef": str(image.id), "flavorRef": str(flavor.id)}})
    assert r.status_code == 202, r.content
    vm_id = int(r.json()["server"]["id"])
    # before Ganeti reported anything the API shows no address
    assert api.get("/network/v2.0/ports").json()["ports"][0]["fixed_ips"] == []
    info = dispatch(client, vm_id)
    ganeti_ip = info["nic.ips"][0]
    assert ipaddress.ip_address(ganeti_ip) in ipaddress.ip_network(PUBLIC)
    server = api.get("/compute/v2.1/servers/%d" % vm_id).json()["server"]
    assert server["status"] == "ACTIVE"
    v4 = [a["addr"] for a in server["addresses"]["public"] if a["version"] == 4]
    assert v4 == [ganeti_ip]
    port = api.get("/network/v2.0/ports").json()["ports"][0]
    assert port["mac_address"] == info["nic.macs"][0]
    assert [f["ip_address"] for f in port["fixed_ips"]][0] == ganeti_ip
    assert port["fixed_ips"][1]["ip_address"].startswith("2001:db8:103:")

    # attach to the private network
    url = "/compute/v2.1/servers/%d/os-interface" % vm_id
    r = api.post(url, {"interfaceAttachment": {"net_id": net_id}})
    assert r.status_code == 200, r.content
    port_id = r.json()["interfaceAttachment"]["port_id"]
    info = dispatch(client, vm_id)
    assert len(info["nic.macs"]) == 2
    assert info["nic.macs"][1].startswith("aa:00:01:")
    atts = api.get(url).json()["interfaceAttachments"]
    assert [a["net_id"] for a in atts] == [str(public.id), net_id]
    private_ip = atts[1]["fixed_ips"][0]["ip_address"]
    assert private_ip == info["nic.ips"][1]
    assert ipaddress.ip_address(private_ip) in ipaddress.ip_network(PRIVATE)
    # the network cannot go while the port is on it
    assert api.delete("/network/v2.0/networks/%s" % net_id).status_code == 409

    # detach
    assert api.delete("%s/%s" % (url, port_id)).status_code == 202
    info = dispatch(client, vm_id)
    assert info["nic.networks.names"] == [public.backend_id]
    assert [a["net_id"] for a in api.get(url).json()["interfaceAttachments"]] == \
        [str(public.id)]

    # delete the server, then the networks
    assert api.delete("/compute/v2.1/servers/%d" % vm_id).status_code == 204
    dispatch(client, vm_id)
    assert api.delete("/network/v2.0/networks/%s" % net_id).status_code == 204
    call_command("network-remove", str(public.id))
    private = m.Network.objects.get(pk=int(net_id))
    # (the --wait path: also resubmits Ganeti's transient "retry the operation" failures)
    network_admin.wait_for_backends(private)
    names = [n["name"] for n in gnet.list_networks(backend)]
    assert public.backend_id not in names and private.backend_id not in names
    assert m.Network.objects.get(pk=public.pk).state == "DELETED"
