"""The real daemon in a network namespace, real DHCP clients in another one.

Topology (see support/netns.py's Topology): "host" netns with the tap end of a veth
pair and iptables NFQUEUE rules like the ones kvm-vif-bridge installs; "VM"
netns with the other end, its MAC set to the bound MAC.
"""
import ipaddress
import os
import sys

import pytest
from support.netns import UDHCPC_PATIENT, UDHCPC_TIMEOUT, WAIT, Topology, daemon_in, sh, wait_for

pytestmark = pytest.mark.integration

MAC = "aa:00:00:fb:d2:10"
IP = "10.251.210.10"
SUBNET6 = "fd00:251:210::/64"
EUI64 = "fd00:251:210::a800:ff:fefb:d210"
HERE = os.path.dirname(os.path.abspath(__file__))
VMTOOLS = os.path.join(HERE, "support", "vmtools.py")  # scapy client for the VM netns

CONFIG = """\
[dhcp]
nameservers = 10.251.210.53, 10.251.210.54
lease_lifetime = 3600
lease_renewal = 600
[ipv6]
ra_period = 600
nameservers = fd00:251:210::53
"""

BINDING = """\
IP={ip}
MAC={mac}
LINK=100
HOSTNAME=vm10.example.test
TAGS=""
SUBNET=10.251.210.0/24
GATEWAY=10.251.210.1
SUBNET6={subnet6}
GATEWAY6=fd00:251:210::1
"""


def nfqueue_rules(topo):
    for rule in (["iptables", "-t", "mangle", "-A", "PREROUTING", "-i", topo.tap, "-p", "udp",
                  "--dport", "67", "-j", "NFQUEUE", "--queue-num", "42"],
                 ["ip6tables", "-t", "mangle", "-A", "PREROUTING", "-i", topo.tap, "-p",
                  "ipv6-icmp", "--icmpv6-type", "router-solicitation", "-j", "NFQUEUE",
                  "--queue-num", "43"],
                 ["ip6tables", "-t", "mangle", "-A", "PREROUTING", "-i", topo.tap, "-p",
                  "ipv6-icmp", "--icmpv6-type", "neighbour-solicitation", "-j", "NFQUEUE",
                  "--queue-num", "44"],
                 ["ip6tables", "-t", "mangle", "-A", "PREROUTING", "-i", topo.tap, "-p", "udp",
                  "--dport", "547", "-j", "NFQUEUE", "--queue-num", "45"]):
        sh(*rule, ns=topo.host)


@pytest.fixture(scope="module")
def env():
    def prepare(topo):
        # The VM keeps quiet on IPv6 until the SLAAC test brings it up.
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % topo.vif, ns=topo.vm)
        nfqueue_rules(topo)

    topo = Topology(MAC)
    with daemon_in(topo, CONFIG, prepare) as daemon:
        write_binding(topo)
        yield topo, daemon


def write_binding(topo, mac=MAC):
    path = os.path.join(topo.state, topo.tap)
    with open(path + ".tmp", "w") as f:
        f.write(BINDING.format(ip=IP, mac=mac, subnet6=SUBNET6))
    os.rename(path + ".tmp", path)  # atomic, like kvm-vif-bridge


def wait_log(daemon, text, timeout=WAIT):
    wait_for(lambda: text in daemon.output(), timeout, "%r in the nfdhcpd log" % text)


def recorder_script(topo, name, extra=""):
    """A client hook script that appends its environment to a file."""
    out = topo.path(name + ".env")
    script = topo.write(name + ".sh", "#!/bin/sh\n{ echo \"--- $1 $reason\"; env; } >> %s\n"
                        "%s\nexit 0\n" % (out, extra), mode=0o755)
    return script, out


def env_of(path, marker):
    """The KEY=value lines of the last block in path whose header contains marker."""
    with open(path) as f:
        blocks = f.read().split("--- ")
    for block in reversed(blocks):
        head, _, body = block.partition("\n")
        if marker in head:
            return dict(line.split("=", 1) for line in body.splitlines() if "=" in line)
    raise AssertionError("no %r block in %s" % (marker, path))


def test_udhcpc_gets_lease(env):
    topo, daemon = env
    wait_log(daemon, "binding %s:" % topo.tap)
    script, out = recorder_script(topo, "udhcpc")
    res = sh("udhcpc", "-i", topo.vif, "-n", "-q", "-f", *UDHCPC_PATIENT, "-s", script,
             ns=topo.vm, check=False, timeout=UDHCPC_TIMEOUT)
    assert res.returncode == 0, res.stderr
    e = env_of(out, "bound")
    assert e["ip"] == IP
    assert e["subnet"] == "255.255.255.0"
    assert e["router"] == "10.251.210.1"
    assert e["dns"].split() == ["10.251.210.53", "10.251.210.54"]
    assert e["hostname"] == "vm10.example.test"
    assert e["domain"] == "example.test"
    assert e["lease"] == "3600" and e["serverid"] == "10.251.210.1"
    assert "DHCP DISCOVER from %s on %s -> OFFER %s" % (MAC, topo.tap, IP) in daemon.output()


def test_dhclient_gets_lease_and_release_is_logged(env):
    topo, daemon = env
    # Configure the address so that dhclient can unicast its RELEASE to the
    # server id (the host end of the tap answers for 10.251.210.1 here).
    script, out = recorder_script(topo, "dhclient", extra=(
        'case "$reason" in BOUND) ip addr add "$new_ip_address/24" dev "$interface";; '
        'RELEASE|STOP|EXPIRE) ip addr del "$old_ip_address/24" dev "$interface";; esac'))
    sh("ip", "-n", topo.host, "addr", "replace", "10.251.210.1/24", "dev", topo.tap)
    conf = topo.write("dhclient.conf", "timeout 15;\nretry 1;\n"
                      "request subnet-mask, broadcast-address, routers, domain-name, "
                      "domain-name-servers, host-name;\n")
    lf, pf = topo.path("dhclient.leases"), topo.path("dhclient.pid")
    res = sh("dhclient", "-4", "-1", "-v", "-cf", conf, "-lf", lf, "-pf", pf, "-sf", script,
             topo.vif, ns=topo.vm, check=False, timeout=30)
    try:
        assert res.returncode == 0, res.stderr
        e = env_of(out, "BOUND")
        assert e["new_ip_address"] == IP
        assert e["new_routers"] == "10.251.210.1"
        assert e["new_subnet_mask"] == "255.255.255.0"
        assert e["new_domain_name_servers"] == "10.251.210.53 10.251.210.54"
        assert e["new_host_name"] == "vm10.example.test"
        assert e["new_domain_name"] == "example.test"
    finally:
        # -r: release the lease and stop the dhclient that daemonised.
        sh("dhclient", "-r", "-cf", conf, "-lf", lf, "-pf", pf, "-sf", script, topo.vif,
           ns=topo.vm, check=False, timeout=20)
    sh("ip", "-n", topo.host, "addr", "del", "10.251.210.1/24", "dev", topo.tap, check=False)
    wait_log(daemon, "DHCP RELEASE of %s from %s" % (IP, MAC))


def test_dhcpcd_configures_address(env):
    topo, daemon = env
    script, out = recorder_script(topo, "dhcpcd")
    conf = topo.write("dhcpcd.conf", "noarp\nnoipv4ll\nipv4only\nnohook resolv.conf\n"
                      "option domain_name_servers, domain_name, host_name\n")
    res = sh("dhcpcd", "-f", conf, "-c", script, "-4", "--oneshot", "--nobackground",
             "-t", "15", topo.vif, ns=topo.vm, check=False, timeout=30)
    try:
        assert res.returncode == 0, res.stdout + res.stderr
        e = env_of(out, "BOUND")
        assert e["new_ip_address"] == IP
        assert e["new_routers"] == "10.251.210.1"
        assert e["new_host_name"] == "vm10.example.test"
    finally:
        sh("ip", "-n", topo.vm, "-4", "addr", "flush", "dev", topo.vif, check=False)


def test_wrong_mac_gets_nothing(env):
    topo, daemon = env
    other = "aa:00:00:fb:d2:99"
    sh("ip", "-n", topo.vm, "link", "set", topo.vif, "address", other)
    try:
        res = sh("udhcpc", "-i", topo.vif, "-n", "-q", "-f", "-t", "2", "-T", "1",
                 "-s", "/bin/true", ns=topo.vm, check=False)
        assert res.returncode != 0
        assert "no lease" in res.stderr
        # (the daemon may log the DISCOVERs after udhcpc gave up: it answers each in
        # the same line, "-> OFFER ...", so a line seen is a line complete)
        seen = wait_for(lambda: [line for line in daemon.output().splitlines()
                                 if other in line], WAIT, "nfdhcpd to see the DISCOVER")
        assert not [line for line in seen if "->" in line], seen
    finally:
        sh("ip", "-n", topo.vm, "link", "set", topo.vif, "address", MAC)


def test_request_for_another_address_gets_nak(env):
    topo, daemon = env
    res = sh(sys.executable, VMTOOLS, "request", topo.vif, MAC,
             "10.251.210.99", ns=topo.vm)
    assert res.stdout.split()[0] == "nak", res.stdout + res.stderr
    res = sh(sys.executable, VMTOOLS, "request", topo.vif, MAC,
             IP, ns=topo.vm)
    assert res.stdout.split()[:2] == ["ack", IP], res.stdout + res.stderr


def test_inform_gets_dns_without_lease(env):
    topo, daemon = env
    res = sh(sys.executable, VMTOOLS, "inform", topo.vif, MAC,
             IP, ns=topo.vm)
    words = res.stdout.split()
    assert words[0] == "ack", res.stdout + res.stderr
    assert "name_server" in words and "domain" in words and "lease_time" not in words


def test_binding_removed_and_rewritten_via_inotify(env):
    topo, daemon = env
    os.unlink(os.path.join(topo.state, topo.tap))
    wait_log(daemon, "binding %s removed" % topo.tap)
    res = sh("udhcpc", "-i", topo.vif, "-n", "-q", "-f", "-t", "2", "-T", "1",
             "-s", "/bin/true", ns=topo.vm, check=False)
    assert res.returncode != 0
    write_binding(topo)
    wait_for(lambda: daemon.output().count("binding %s: MAC" % topo.tap) >= 2, WAIT,
             "the binding to be reloaded")
    res = sh("udhcpc", "-i", topo.vif, "-n", "-q", "-f", *UDHCPC_PATIENT,
             "-s", "/bin/true", ns=topo.vm, check=False, timeout=UDHCPC_TIMEOUT)
    assert res.returncode == 0, res.stderr


def test_slaac_eui64_from_ra_and_proxy_ndp_and_dhcpv6(env):
    topo, daemon = env
    sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=0" % topo.vif,
       "net.ipv6.conf.%s.accept_ra=2" % topo.vif, ns=topo.vm)
    sh("ip", "-n", topo.vm, "link", "set", topo.vif, "down")
    sh("ip", "-n", topo.vm, "link", "set", topo.vif, "up")

    def addr():
        out = sh("ip", "-n", topo.vm, "-6", "-o", "addr", "show", "dev", topo.vif).stdout
        for line in out.splitlines():
            words = line.split()
            a = words[words.index("inet6") + 1]
            if (ipaddress.IPv6Interface(a) == ipaddress.IPv6Interface(EUI64 + "/64")
                    and "tentative" not in words):
                return True
        return False
    wait_for(addr, WAIT, "the EUI-64 address %s in the VM" % EUI64)
    wait_log(daemon, "RS from fe80::a800:ff:fefb:d210 on %s -> RA %s" % (topo.tap, SUBNET6))
    route = sh("ip", "-n", topo.vm, "-6", "route", "show", "default").stdout
    assert "proto ra" in route
    # Proxy NDP: the VM resolves the gateway through an NA built by nfdhcpd.
    sh("busybox", "ping", "-6", "-c", "1", "-W", "1", "fd00:251:210::1", ns=topo.vm,
       check=False)
    wait_for(lambda: [ln for ln in daemon.output().splitlines()
                      if "NS for fd00:251:210::1 from" in ln and "on %s -> NA" % topo.tap in ln],
             WAIT, "nfdhcpd to answer the NS for the gateway")
    neigh = sh("ip", "-n", topo.vm, "-6", "neigh", "show", "fd00:251:210::1").stdout
    assert "router" in neigh
    res = sh(sys.executable, VMTOOLS, "inforeq6", topo.vif, MAC,
             ns=topo.vm)
    assert res.stdout.split() == ["reply", "fd00:251:210::53", "example.test."], res.stdout


def test_runs_as_nobody_with_two_capabilities(env):
    topo, daemon = env
    pid = int(open(os.path.join(topo.tmp, "nfdhcpd.pid")).read())
    status = dict(ln.split(":", 1) for ln in open("/proc/%d/status" % pid).read().splitlines())
    assert status["Uid"].split()[0] == "65534"
    assert int(status["CapEff"], 16) == (1 << 12) | (1 << 13)  # NET_ADMIN, NET_RAW
    assert int(status["CapPrm"], 16) == (1 << 12) | (1 << 13)
    assert int(status["CapBnd"], 16) == (1 << 12) | (1 << 13)


def test_fuzzed_packets_through_the_queue_never_stop_the_daemon(env):
    topo, daemon = env
    sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=0" % topo.vif, ns=topo.vm)
    before = queued_packets(topo)
    res = sh(sys.executable, VMTOOLS, "fuzz", topo.vif, MAC, "150",
             ns=topo.vm, timeout=120)
    assert int(res.stdout) > 500, res.stdout + res.stderr
    assert queued_packets(topo) - before > 300  # they really went through the queues
    # Once it has read them all (a dead daemon's queues are gone: nothing waits either)
    wait_for(lambda: queue_backlog(topo) == 0, WAIT, "nfdhcpd to read the fuzzed packets")
    assert daemon.proc.poll() is None, daemon.output()[-3000:]
    assert "Traceback" not in daemon.output()
    # ... and it still answers.
    res = sh("udhcpc", "-i", topo.vif, "-n", "-q", "-f", *UDHCPC_PATIENT,
             "-s", "/bin/true", ns=topo.vm, check=False, timeout=UDHCPC_TIMEOUT)
    assert res.returncode == 0, res.stderr


def queue_backlog(topo):
    """Packets waiting in the host's NFQUEUEs for their reader (queue_total, the third
    column of nfnetlink_queue, one line per bound queue)."""
    out = sh("cat", "/proc/net/netfilter/nfnetlink_queue", ns=topo.host).stdout
    return sum(int(line.split()[2]) for line in out.splitlines())


def queued_packets(topo):
    total = 0
    for cmd in ("iptables", "ip6tables"):
        out = sh(cmd, "-t", "mangle", "-nvxL", "PREROUTING", ns=topo.host).stdout
        total += sum(int(ln.split()[0]) for ln in out.splitlines() if "NFQUEUE" in ln)
    return total
