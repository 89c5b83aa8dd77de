"""contrib/ganeti-hooks/kvm-vif-bridge against a veth standing in for the tap.

Topology: "host" netns H (the Ganeti node) with the tap <p>t and an uplink
<p>u; "VM" netns V behind the tap; "external" netns X on the uplink.  The
admin's part of the routed setup (table 100 with a default route over the
uplink, and a rule sending uplink traffic to table 100) is done here; the
script does the per-NIC part.  nfdhcpd runs in H, so the guest gets its
address over DHCP through the rules the script installed.
"""
import ipaddress
import os
import subprocess
import sys

import pytest
from support.netns import UDHCPC_PATIENT, UDHCPC_TIMEOUT, WAIT, Topology, daemon_in, sh, wait_for

pytestmark = pytest.mark.integration

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "contrib",
                      "ganeti-hooks", "kvm-vif-bridge")
SCRIPT = os.path.abspath(SCRIPT)
MAC = "aa:00:00:fb:dc:10"
IP = "10.251.220.10"
SUBNET6 = "fd00:251:220::/64"
EUI64 = "fd00:251:220::a800:ff:fefb:dc10"
TABLE = "100"
X_IP = "10.251.221.2"

NFD_CONFIG = """\
[dhcp]
nameservers = 10.251.221.53
[ipv6]
ra_period = 1
nameservers = fd00:251:221::53
"""


class Net(Topology):
    def up(self):
        super().up()
        self.x = self.prefix + "-x"
        self.up_h, self.up_x = self.prefix + "u", self.prefix + "x"
        sh("ip", "netns", "add", self.x)
        sh("ip", "link", "add", self.up_h, "netns", self.host, "type", "veth", "peer", "name",
           self.up_x, "netns", self.x)
        H, X = self.host, self.x
        sh("ip", "-n", X, "link", "set", "lo", "up")
        for ns, dev, a4, a6 in ((H, self.up_h, "10.251.221.1/24", "fd00:251:221::1/64"),
                                (X, self.up_x, X_IP + "/24", "fd00:251:221::2/64")):
            sh("ip", "-n", ns, "addr", "add", a4, "dev", dev)
            sh("ip", "-n", ns, "-6", "addr", "add", a6, "dev", dev, "nodad")
            sh("ip", "-n", ns, "link", "set", dev, "up")
        sh("ip", "-n", X, "route", "add", "10.251.220.0/24", "via", "10.251.221.1")
        sh("ip", "-n", X, "-6", "route", "add", SUBNET6, "via", "fd00:251:221::1")
        sh("sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1", ns=H)
        # The admin's part of a routed link: table 100 leaves through the uplink.
        sh("ip", "-n", H, "route", "add", "default", "via", X_IP, "dev", self.up_h,
           "table", TABLE)
        sh("ip", "-n", H, "-6", "route", "add", "default", "via", "fd00:251:221::2", "dev",
           self.up_h, "table", TABLE)
        sh("ip", "-n", H, "rule", "add", "iif", self.up_h, "table", TABLE)
        sh("ip", "-n", H, "-6", "rule", "add", "iif", self.up_h, "table", TABLE)
        return self

    def down(self):
        sh("ip", "netns", "del", getattr(self, "x", self.prefix + "-x"), check=False)
        super().down()


@pytest.fixture(scope="module")
def net():
    n = Net(MAC)
    with daemon_in(n, NFD_CONFIG) as n.daemon:
        yield n


def ifup(net, *args, tags="", mode="routed", check=True, **extra):
    env = {"PATH": os.environ["PATH"], "INTERFACE": net.tap, "MODE": mode, "LINK": TABLE,
           "IP": IP, "MAC": MAC, "INSTANCE": "vm10.example.test", "TAGS": tags,
           "INTERFACE_INDEX": "0", "INTERFACE_UUID": "u-1", "VLAN": "",
           "NETWORK_SUBNET": "10.251.220.0/24", "NETWORK_GATEWAY": "10.251.220.1",
           "NETWORK_SUBNET6": SUBNET6, "NETWORK_GATEWAY6": "fd00:251:220::1",
           "SNF_NETWORK_CONF": "/nonexistent", "STATE_DIR": net.state,
           "MAC2EUI64": os.path.join(os.path.dirname(sys.executable), "mac2eui64")}
    env.update(extra)
    return sh(SCRIPT, *args, ns=net.host, env=env, check=check)


def host(net, *cmd):
    return sh(*cmd, ns=net.host).stdout


def snapshot(net):
    """Everything the script may touch in H, for comparing runs."""
    return {
        "rule4": host(net, "ip", "-4", "rule", "show", "iif", net.tap),
        "rule6": host(net, "ip", "-6", "rule", "show", "iif", net.tap),
        "route4": host(net, "ip", "-4", "route", "show", "table", TABLE),
        "route6": host(net, "ip", "-6", "route", "show", "table", TABLE),
        "proxy6": host(net, "ip", "-6", "neigh", "show", "proxy"),
        "filter4": host(net, "iptables", "-S"),
        "filter6": host(net, "ip6tables", "-S"),
        "mangle4": host(net, "iptables", "-t", "mangle", "-S"),
        "mangle6": host(net, "ip6tables", "-t", "mangle", "-S"),
        "ebtables": host(net, "ebtables", "-L"),
        "binding": open(os.path.join(net.state, net.tap)).read()
        if os.path.exists(os.path.join(net.state, net.tap)) else None,
    }


def test_routed_setup_is_complete_and_idempotent(net):
    before = snapshot(net)
    ifup(net, tags="synnefo:network:0:protected")
    first = snapshot(net)
    ifup(net, tags="synnefo:network:0:protected")
    assert snapshot(net) == first  # a second call changes nothing

    assert first["rule4"].count("lookup %s" % TABLE) == 1
    assert first["rule6"].count("lookup %s" % TABLE) == 1
    assert "%s dev %s" % (IP, net.tap) in first["route4"]
    r6 = [ln for ln in first["route6"].splitlines() if "dev %s" % net.tap in ln]
    assert r6 and ipaddress.IPv6Address(r6[0].split()[0]) == ipaddress.IPv6Address(EUI64)
    proxy = [ln.split()[0] for ln in first["proxy6"].splitlines() if net.up_h in ln]
    assert [ipaddress.IPv6Address(p) for p in proxy] == [ipaddress.IPv6Address(EUI64)]
    assert host(net, "cat", "/proc/sys/net/ipv4/conf/%s/proxy_arp" % net.tap).strip() == "1"
    assert host(net, "cat", "/proc/sys/net/ipv6/conf/%s/proxy_ndp" % net.tap).strip() == "0"
    assert host(net, "cat", "/sys/class/net/%s/address" % net.tap).strip() == \
        "cc:47:52:4e:45:54"
    assert "-A FORWARD -o %s -m comment --comment \"kvm-vif-bridge:%s\" -j protected" % (
        net.tap, net.tap) in first["filter4"]
    assert "-j protected" in first["filter6"]
    assert "--queue-num 42" in first["mangle4"]
    for q in ("43", "44", "45"):
        assert "--queue-num %s" % q in first["mangle6"]
    b = first["binding"]
    for line in ("IP=%s" % IP, "MAC=%s" % MAC, "LINK=100", "HOSTNAME=vm10.example.test",
                 "SUBNET=10.251.220.0/24", "GATEWAY=10.251.220.1", "SUBNET6=%s" % SUBNET6,
                 "INDEV=%s" % net.tap, "UPLINK=%s" % net.up_h):
        assert line in b.splitlines(), b
    eui = [ln for ln in b.splitlines() if ln.startswith("EUI64=")][0].split("=")[1]
    assert ipaddress.IPv6Address(eui) == ipaddress.IPv6Address(EUI64)

    ifup(net, "cleanup")
    after = snapshot(net)
    assert after["binding"] is None
    for key in ("rule4", "rule6", "proxy6"):
        assert after[key] == before[key], key
    assert net.tap not in after["route4"] and net.tap not in after["route6"]
    for key in ("filter4", "filter6", "mangle4", "mangle6"):
        assert "kvm-vif-bridge:%s" % net.tap not in after[key], key


def guest_lease(net):
    """udhcpc in the guest, configuring the address it gets from nfdhcpd."""
    script = net.write("udhcpc-apply.sh", """#!/bin/sh
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew) ip addr replace "$ip/$mask" dev "$interface"
               ip route replace default via "$router" dev "$interface" ;;
esac
""", mode=0o755)
    res = sh("udhcpc", "-i", net.vif, "-n", "-q", "-f", *UDHCPC_PATIENT, "-s", script,
             ns=net.vm, check=False, timeout=UDHCPC_TIMEOUT)
    assert res.returncode == 0, res.stderr + net.daemon.output()


def reaches(net, port, timeout=2.0):
    code = ("import socket, sys\n"
            "s = socket.socket(); s.settimeout(%s)\n"
            "try:\n    s.connect((%r, %d)); print('open')\n"
            "except OSError as e:\n    print('closed', e)\n" % (timeout, IP, port))
    return sh(sys.executable, "-c", code, ns=net.x).stdout.startswith("open")


def pings(net):
    return sh("busybox", "ping", "-c", "1", "-W", "2", IP, ns=net.x,
              check=False).returncode == 0


@pytest.fixture
def guest(net):
    """Guest listening on TCP 22 and 8080 (python, in the VM netns)."""
    code = ("import socket, threading\n"
            "def serve(p):\n"
            "    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            "    s.bind(('0.0.0.0', p)); s.listen(8)\n"
            "    while True:\n        c, _ = s.accept(); c.close()\n"
            "threading.Thread(target=serve, args=(22,), daemon=True).start()\n"
            "serve(8080)\n")
    proc = subprocess.Popen(["ip", "netns", "exec", net.vm, sys.executable, "-c", code])

    def listening():  # before the test asks whether its ports are reached
        ports = {ln.split()[3].rsplit(":", 1)[1]
                 for ln in sh("ss", "-Hltn", ns=net.vm).stdout.splitlines()}
        assert proc.poll() is None, "the guest's listener exited"
        return {"22", "8080"} <= ports
    try:
        wait_for(listening, WAIT, "the guest to listen on 22 and 8080")
        yield proc
    finally:
        proc.terminate()
        proc.wait(5)
        ifup(net, "cleanup")


@pytest.mark.parametrize("tags, ping, ssh, other", [
    ("", True, True, True),
    ("synnefo:network:0:unprotected", True, True, True),
    ("synnefo:network:0:limited", True, True, False),
    ("synnefo:network:0:protected", True, False, False),
    ("synnefo:network:1:protected", True, True, True),  # another NIC's tag
])
def test_firewall_profiles_pass_and_block_traffic(net, guest, tags, ping, ssh, other):
    ifup(net, tags=tags)
    wait_for(lambda: "binding %s: MAC %s" % (net.tap, MAC) in net.daemon.output(), WAIT,
             "nfdhcpd to load the binding")
    guest_lease(net)
    addr = sh("ip", "-n", net.vm, "-4", "-o", "addr", "show", "dev", net.vif).stdout
    assert IP + "/24" in addr
    assert pings(net) is ping
    assert reaches(net, 22) is ssh
    assert reaches(net, 8080) is other


def test_routed_ipv6_slaac_and_periodic_ras_end_to_end(net, guest):
    ifup(net)
    sh("sysctl", "-qw", "net.ipv6.conf.%s.accept_ra=2" % net.vif, ns=net.vm)
    sh("ip", "-n", net.vm, "link", "set", net.vif, "down")
    sh("ip", "-n", net.vm, "link", "set", net.vif, "up")

    def has_eui64():
        out = sh("ip", "-n", net.vm, "-6", "-o", "addr", "show", "dev", net.vif).stdout
        return any(ipaddress.IPv6Interface(ln.split()[3]).ip == ipaddress.IPv6Address(EUI64)
                   and "tentative" not in ln for ln in out.splitlines())
    wait_for(has_eui64, WAIT, "SLAAC address %s in the guest" % EUI64)
    # From the outside, through the uplink, table 100 and the tap.
    res = sh("busybox", "ping", "-6", "-c", "1", "-W", "3", EUI64, ns=net.x, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    # Unsolicited RAs every ra_period (1 s here) to all nodes.
    out = sh(sys.executable, os.path.join(os.path.dirname(__file__), "support", "vmtools.py"),
             "countra", net.vif, "3.5", ns=net.vm).stdout
    assert int(out) >= 2, out


def test_bridged_tap_gets_dhcp_through_physdev(net, guest):
    br = net.prefix + "b"
    sh("ip", "-n", net.host, "link", "add", br, "type", "bridge")
    sh("ip", "-n", net.host, "link", "set", br, "up")
    sh("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1", ns=net.host)
    try:
        ifup(net, mode="bridged", BRIDGE=br, LINK=br, BRIDGED_BINDING="write",
             BRIDGED_MAC_FILTER="yes")
        wait_for(lambda: "binding %s: MAC %s" % (net.tap, MAC) in net.daemon.output(), WAIT,
                 "nfdhcpd to load the binding")
        guest_lease(net)
        assert "DHCP REQUEST from %s on %s -> ACK %s" % (MAC, net.tap, IP) in \
            net.daemon.output()
    finally:
        ifup(net, "cleanup")
        sh("ip", "-n", net.host, "link", "set", net.tap, "nomaster", check=False)
        sh("ip", "-n", net.host, "link", "del", br, check=False)
        sh("sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0", ns=net.host, check=False)


def test_stale_state_of_a_reused_tap_is_replaced(net):
    """Ganeti reuses tap names and never calls ifdown: the next ifup of the
    tap must drop the old instance's rules, routes and binding."""
    ifup(net, tags="synnefo:network:0:protected", IP="10.251.220.20", MAC="aa:00:00:fb:dc:20")
    ifup(net, tags="synnefo:network:0:limited")
    snap = snapshot(net)
    assert "10.251.220.20" not in snap["route4"]
    assert "-j protected" not in snap["filter4"] and "-j limited" in snap["filter4"]
    assert "MAC=aa:00:00:fb:dc:20" not in snap["binding"]
    assert snap["rule4"].count("lookup") == 1
    ifup(net, "cleanup-instance", "vm10.example.test")
    assert snapshot(net)["binding"] is None
    assert net.tap not in host(net, "ip", "rule", "show")


def test_bridged_mode_mac_filter_and_binding(net):
    br = net.prefix + "b"
    sh("ip", "-n", net.host, "link", "add", br, "type", "bridge")
    sh("ip", "-n", net.host, "link", "set", br, "up")
    try:
        ifup(net, tags="synnefo:network:0:protected")
        assert os.path.exists(os.path.join(net.state, net.tap))
        ifup(net, mode="bridged", BRIDGE=br, LINK=br, BRIDGED_MAC_FILTER="yes")
        link = host(net, "ip", "-o", "link", "show", net.tap)
        assert "master %s" % br in link
        eb = host(net, "ebtables", "-L")
        assert eb.count("-i %s -j DROP" % net.tap) == 2 and MAC in eb
        assert not os.path.exists(os.path.join(net.state, net.tap))  # routed state gone
        assert net.tap not in host(net, "ip", "rule", "show")
        ifup(net, mode="bridged", BRIDGE=br, LINK=br, BRIDGED_MAC_FILTER="yes",
             BRIDGED_BINDING="write")
        assert host(net, "ebtables", "-L").count("-i %s " % net.tap) == 2  # idempotent
        b = open(os.path.join(net.state, net.tap)).read()
        assert "INDEV=%s" % br in b.splitlines()
        assert "--physdev-in %s" % net.tap in host(net, "iptables", "-t", "mangle", "-S")
        ifup(net, "cleanup")
        assert net.tap not in host(net, "ebtables", "-L")
        assert not os.path.exists(os.path.join(net.state, net.tap))
    finally:
        sh("ip", "-n", net.host, "link", "set", net.tap, "nomaster", check=False)
        sh("ip", "-n", net.host, "link", "del", br, check=False)


def test_bad_invocations_explain_themselves(net):
    res = ifup(net, MODE="", check=False)
    assert res.returncode == 1 and "unknown NIC mode" in res.stderr
    res = ifup(net, INTERFACE="nfd-no-such", check=False)
    assert res.returncode == 1 and "does not exist" in res.stderr
    res = ifup(net, IP="", check=False)
    assert res.returncode == 1 and "has no IP" in res.stderr


def test_settings_come_from_the_defaults_file(net):
    """The sample defaults file is valid shell; a test copy points elsewhere."""
    sample = os.path.join(os.path.dirname(SCRIPT), "snf-network.default")
    sh("bash", "-n", sample)
    other_state = net.path("state2")
    os.makedirs(other_state)
    conf = net.write("snf-network", open(sample).read() +
                     "\nSTATE_DIR=%s\nROUTED_TAP_MAC=\nFIREWALL=no\n" % other_state)
    mac_before = host(net, "cat", "/sys/class/net/%s/address" % net.tap).strip()
    sh("ip", "-n", net.host, "link", "set", net.tap, "address", "02:00:00:fb:dc:01")
    try:
        ifup(net, tags="synnefo:network:0:protected", SNF_NETWORK_CONF=conf)
        assert os.path.exists(os.path.join(other_state, net.tap))
        assert host(net, "cat", "/sys/class/net/%s/address" % net.tap).strip() == \
            "02:00:00:fb:dc:01"
        assert "-j protected" not in host(net, "iptables", "-S")
        ifup(net, "cleanup", SNF_NETWORK_CONF=conf)
        assert not os.path.exists(os.path.join(other_state, net.tap))
    finally:
        sh("ip", "-n", net.host, "link", "set", net.tap, "address", mac_before)
