"""A real VM, end to end: API -> Ganeti kvm (QEMU TCG) -> kvm-vif-bridge -> nfdhcpd.

ci/kvm-guest.sh up (run by the fixture, undone at the end) enables Ganeti's kvm
hypervisor beside fake on the test cluster (fake stays the default), installs the
project's kvm-vif-bridge as /etc/ganeti/kvm-vif-bridge and the kvm-vif-cleanup
instance-remove hook, routes the public network 10.251.104.0/24 (table 104) in netns
gnt and runs the project's nfdhcpd there.

How the server gets kvm: the administrator registers the cluster with
`snf-manage backend-add ... --hypervisor kvm` (Backend.hypervisor, a choice among the
cluster's enabled hypervisors); every server created on that backend is a kvm
instance. The public network is made with `snf-manage network-create --public
--link 104` (Ganeti routed mode, link = routing table).

The server is created through the compute API (Django test client). Ganeti picks its
address from the network's pool; what the dispatcher would do with eventd's and the
hook's messages is done in-process with the same handlers (`dispatch` of
support/cluster.py: the finished job over RAPI -> callbacks.update_db, Ganeti's
NIC view -> callbacks.update_net). The guest then gets exactly that address by DHCP
from nfdhcpd (its udhcpc reports the lease time of our nfdhcpd config and the
network's gateway as server id), answers ping from the node, and its VNC port speaks
RFB. After the delete nothing of its tap is left: binding file, ip rule, route,
iptables rules.
"""

import ipaddress
import os
import re
import socket
import subprocess
import time
import types
from pathlib import Path

import pytest
from django.core.management import call_command
from support.api import make_user
from support.cluster import add_cluster_backend, dispatch, env
from support.image_cloud import NFDHCPD_LOG

from synnefo.backend import instances
from synnefo.backend import networks as gnet
from synnefo.backend.client import client_for
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TOP = Path(__file__).resolve().parents[2]
KVM_GUEST = TOP / "ci" / "kvm-guest.sh"
PREFIX = "snfkvm-"
NS = os.environ.get("SNF_TEST_GANETI_NETNS", "gnt")
# Must match ci/kvm-guest.sh (same environment variables, same defaults).
LINK = os.environ.get("SNF_TEST_KVM_LINK", "104")
SUBNET = os.environ.get("SNF_TEST_KVM_SUBNET", "10.251.104.0/24")
GATEWAY = os.environ.get("SNF_TEST_KVM_GATEWAY", "10.251.104.1")
LEASE = os.environ.get("SNF_TEST_KVM_LEASE", "86413")
STATE_DIR = Path("/var/lib/nfdhcpd")
BOOT_TIMEOUT = 60  # a lease comes ~4 s after the start under TCG; CI machines are slower


def run(*cmd, check=True, timeout=60):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check:
        assert res.returncode == 0, "%s exited %d\n%s%s" % (
            " ".join(cmd), res.returncode, res.stdout, res.stderr)
    return res


def in_ns(*cmd, check=True, timeout=60):
    return run("ip", "netns", "exec", NS, *cmd, check=check, timeout=timeout)


def remove_leftovers(client, backend):
    """Instances and Ganeti networks with our prefix (an earlier run that was killed)."""
    for inst in client.get_instances(bulk=True):
        if inst["name"].startswith(PREFIX):
            client.wait_for_job(client.delete_instance(inst["name"]))
    for net in gnet.list_networks(backend):
        if net["name"].startswith(PREFIX):
            for job in gnet.delete_network(types.SimpleNamespace(backend_id=net["name"]),
                                           backend):
                client.wait_for_job(job)


@pytest.fixture
def kvm_cluster(db, settings, tmp_path):
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    settings.GANETI_CLUSTER_INFO = ()
    t0 = time.monotonic()
    run(str(KVM_GUEST), "up", timeout=300)
    print("ci/kvm-guest.sh up: %.1f s" % (time.monotonic() - t0))
    # The administrator's way: this backend runs new servers under kvm.
    backend = add_cluster_backend(tmp_path, "kvm")
    assert backend.hypervisor == "kvm"
    client = client_for(backend)
    try:
        remove_leftovers(client, backend)
        yield backend, client
    finally:
        try:
            remove_leftovers(client, backend)
        finally:
            run(str(KVM_GUEST), "down", timeout=300)


def tap_of(instance):
    """The tap Ganeti opened for NIC 0 (Ganeti's own record of it)."""
    path = Path("/var/run/ganeti/kvm-hypervisor/nic/%s/0" % instance)
    deadline = time.monotonic() + 30
    while not path.exists():
        assert time.monotonic() < deadline, "Ganeti recorded no tap for %s" % instance
        time.sleep(0.2)
    return path.read_text().strip()


def wait_for_ping(ip):
    deadline = time.monotonic() + BOOT_TIMEOUT
    while True:
        res = in_ns("busybox", "ping", "-c", "1", "-W", "1", ip, check=False)
        if res.returncode == 0:
            return
        assert time.monotonic() < deadline, (
            "the guest did not answer ping at %s within %d s\nnfdhcpd log:\n%s"
            % (ip, BOOT_TIMEOUT, NFDHCPD_LOG.read_text()[-3000:]))


def ip_rules_of(tap):
    return [line for line in run("ip", "-n", NS, "rule", "show").stdout.splitlines()
            if "iif %s " % tap in line + " "]


def iptables_rules_of(tap):
    found = []
    for cmd in ("iptables", "ip6tables"):
        for table in ("mangle", "filter"):
            out = in_ns(cmd, "-w", "-t", table, "-S").stdout
            found += [r for r in out.splitlines() if "kvm-vif-bridge:%s" % tap in r]
    return found


def test_real_vm_gets_its_address_from_nfdhcpd(kvm_cluster):
    backend, client = kvm_cluster
    t_start = time.monotonic()
    call_command("network-create", "public", "--public", "--subnet", SUBNET, "--link", LINK,
                 stdout=open(os.devnull, "w"))
    public = m.Network.objects.get(public=True)
    assert public.state == "ACTIVE" and public.gateway == GATEWAY
    _, api = make_user("kvmuser")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    image = m.Image.objects.create(name="busybox", backend_id="busybox-guest", public=True)

    r = api.post("/compute/v2.1/servers", {"server": {
        "name": "realvm", "imageRef": str(image.id), "flavorRef": str(flavor.id)}})
    assert r.status_code == 202, r.content
    vm_id = int(r.json()["server"]["id"])
    vm = m.VirtualMachine.objects.get(pk=vm_id)
    name = vm.backend_vm_id
    t_post = time.monotonic()
    info = dispatch(client, vm_id)
    hv = run("ip", "netns", "exec", NS, "nsenter", "--uts=/run/ganeti-test/uts",
             "gnt-instance", "list", "--no-headers", "-o", "hypervisor,status", name).stdout
    assert hv.split() == ["kvm", "running"], hv

    # the address: Ganeti's pool -> the API
    ip = info["nic.ips"][0]
    mac = info["nic.macs"][0]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(SUBNET) and ip != GATEWAY
    assert info["nic.modes"][0] == "routed" and info["nic.links"][0] == LINK
    server = api.get("/compute/v2.1/servers/%d" % vm_id).json()["server"]
    assert server["status"] == "ACTIVE"
    assert [a["addr"] for a in server["addresses"]["public"] if a["version"] == 4] == [ip]

    # kvm-vif-bridge ran for the tap (binding for nfdhcpd, policy rule, /32 route)
    tap = tap_of(name)
    binding = (STATE_DIR / tap).read_text()
    assert "IP=%s\n" % ip in binding and "MAC=%s\n" % mac in binding, binding
    assert "HOSTNAME=%s\n" % name in binding and "LINK=%s\n" % LINK in binding
    assert "GATEWAY=%s\n" % GATEWAY in binding, binding
    assert ip_rules_of(tap), run("ip", "-n", NS, "rule", "show").stdout
    assert "%s dev %s" % (ip, tap) in run("ip", "-n", NS, "route", "show", "table",
                                          LINK).stdout

    # the guest: DHCP from nfdhcpd, then ping from the node
    wait_for_ping(ip)
    t_ping = time.monotonic()
    lease = in_ns("curl", "-s", "--noproxy", "*", "--max-time", "5",
                  "http://%s/lease" % ip).stdout
    m_lease = re.match(r"GUEST-DHCP: bound (\S+)/(\S+) router=(\S+) server=(\S+) "
                       r"lease=(\d+) mac=(\S+)", lease)
    assert m_lease, "the guest's lease record: %r" % lease
    assert m_lease.group(1) == ip and m_lease.group(6) == mac
    assert m_lease.group(3) == GATEWAY and m_lease.group(4) == GATEWAY
    assert m_lease.group(5) == LEASE  # our nfdhcpd's lease_lifetime: no other server
    assert m_lease.group(2) in ("24", "255.255.255.0")
    log = NFDHCPD_LOG.read_text()
    assert re.search(r"%s.*%s|%s.*%s" % (re.escape(tap), re.escape(ip), re.escape(ip),
                                         re.escape(tap)), log), log[-3000:]

    # VNC: the console port Ganeti reports answers with an RFB banner on the node
    console = instances.get_console_info(vm)
    assert console["host"] == env("SNF_TEST_GANETI_NODE")
    with socket.create_connection((console["host"], console["port"]), timeout=5) as s:
        banner = s.recv(12)
    assert re.match(rb"RFB \d{3}\.\d{3}\n", banner), banner

    # delete: the instance goes, and the remove hook leaves nothing of its tap behind
    assert api.delete("/compute/v2.1/servers/%d" % vm_id).status_code == 204
    dispatch(client, vm_id)
    t_deleted = time.monotonic()
    assert name not in [i["name"] for i in client.get_instances(bulk=True)]
    assert not (STATE_DIR / tap).exists()
    assert ip_rules_of(tap) == []
    assert ip not in run("ip", "-n", NS, "route", "show", "table", LINK).stdout
    assert iptables_rules_of(tap) == []
    assert in_ns("busybox", "ping", "-c", "1", "-W", "1", ip, check=False).returncode != 0
    print("create POST -> ping %.1f s, delete %.1f s, whole test body %.1f s"
          % (t_ping - t_post, t_deleted - t_ping, time.monotonic() - t_start))

    call_command("network-remove", str(public.id), stdout=open(os.devnull, "w"))
    assert public.backend_id not in [n["name"] for n in gnet.list_networks(backend)]
