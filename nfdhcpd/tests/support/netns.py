"""Helpers for the integration tests: namespaces, veth "taps", the real daemon.

Everything is named with a random per-run prefix and removed afterwards.
Only 10.251.x and fd00:251:... addresses are used, inside our namespaces.
"""
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time

CMD_TIMEOUT = 30
# Bound for what a test waits for (a log line, an address, a pid file): only a broken
# build reaches it. On a loaded machine nfdhcpd answers seconds late.
WAIT = 60
# udhcpc options when the test expects a lease: up to 20 DISCOVERs 3 s apart (udhcpc
# returns at the first answer), and the command's own bound above that.
UDHCPC_PATIENT = ("-t", "20", "-T", "3")
UDHCPC_TIMEOUT = 90

DAEMON_CONFIG = """\
[general]
datapath = {d}/state
pidfile = {d}/run/nfdhcpd.pid
logdir = {d}/log
user = nobody
[ipv6]
enable_dhcpv6 = no
"""


def daemon_config(directory):
    """nfdhcpd.conf text for a daemon whose state, pid file and logs live under directory."""
    return DAEMON_CONFIG.format(d=directory)


def sh(*cmd, check=True, timeout=CMD_TIMEOUT, ns=None, **kw):
    """Run a command (optionally inside netns ns); return CompletedProcess."""
    cmd = [str(c) for c in cmd]
    if ns:
        cmd = ["ip", "netns", "exec", ns] + cmd
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and res.returncode != 0:
        raise AssertionError("%s failed (%d): %s %s" % (" ".join(cmd), res.returncode,
                                                        res.stdout, res.stderr))
    return res


def wait_for(predicate, timeout, what, interval=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("timed out after %.0fs waiting for %s" % (timeout, what))


class Topology:
    """netns <p>-h ("host", where nfdhcpd runs) and <p>-v ("VM"), joined by a
    veth pair <p>t (the tap, in -h) <-> <p>v (the VM's NIC, in -v)."""

    def __init__(self, vm_mac, prefix=None):
        self.prefix = prefix or "nfd" + secrets.token_hex(3)
        self.host, self.vm = self.prefix + "-h", self.prefix + "-v"
        self.tap, self.vif = self.prefix + "t", self.prefix + "v"
        self.vm_mac = vm_mac
        self.netns_etc = "/etc/netns/%s" % self.vm
        self.tmp = tempfile.mkdtemp(prefix=self.prefix + "-")
        os.chmod(self.tmp, 0o755)  # the daemon reads its state dir as nobody

    def up(self):
        # Before anything could run a DHCP client in the VM namespace: its own
        # resolv.conf, so no client ever touches this machine's /etc/resolv.conf.
        os.makedirs(self.netns_etc, exist_ok=True)
        with open(os.path.join(self.netns_etc, "resolv.conf"), "w") as f:
            f.write("# test namespace %s\n" % self.vm)
        sh("ip", "netns", "add", self.host)
        sh("ip", "netns", "add", self.vm)
        sh("ip", "link", "add", self.tap, "netns", self.host, "type", "veth",
           "peer", "name", self.vif, "netns", self.vm)
        sh("ip", "-n", self.vm, "link", "set", self.vif, "address", self.vm_mac)
        for ns in (self.host, self.vm):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
        sh("ip", "-n", self.host, "link", "set", self.tap, "up")
        sh("ip", "-n", self.vm, "link", "set", self.vif, "up")
        return self

    def down(self):
        for ns in (self.vm, self.host):
            sh("ip", "netns", "del", ns, check=False)
        shutil.rmtree(self.netns_etc, ignore_errors=True)
        for f in os.listdir("/var/lib/dhcpcd") if os.path.isdir("/var/lib/dhcpcd") else []:
            if f.startswith(self.vif):
                os.unlink(os.path.join("/var/lib/dhcpcd", f))
        shutil.rmtree(self.tmp, ignore_errors=True)

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def write(self, name, text, mode=0o644):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)
        return p


class Daemon:
    """The real nfdhcpd, started in the foreground inside a namespace."""

    def __init__(self, topo, config_text, args=("-f", "-d")):
        self.topo = topo
        self.conf = topo.write("nfdhcpd.conf", config_text)
        self.log = topo.path("daemon.out")
        self.args = list(args)
        self.proc = None

    def start(self, wait=True):
        out = open(self.log, "a")
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", self.topo.host, sys.executable, "-m", "nfdhcpd.main",
             "-c", self.conf] + self.args, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        if wait:
            wait_for(lambda: "nfdhcpd started" in self.output() or self.proc.poll() is not None,
                     WAIT, "nfdhcpd to start")
            assert self.proc.poll() is None, "nfdhcpd exited:\n" + self.output()
        return self

    def output(self):
        with open(self.log) as f:
            return f.read()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


GENERAL = """\
[general]
datapath = {state}
pidfile = {tmp}/nfdhcpd.pid
logdir = {tmp}/log
user = nobody
"""


@contextlib.contextmanager
def daemon_in(topo, sections, prepare=None):
    """``topo`` up (``prepare(topo)`` run next, before the daemon), then the real nfdhcpd
    in it: its [general] section points at ``topo.state`` (made here) and ``topo.tmp``,
    ``sections`` holds the rest of its config. Yields the Daemon; everything is stopped
    and removed afterwards."""
    daemon = None
    try:
        topo.up()
        if prepare is not None:
            prepare(topo)
        topo.state = topo.path("state")
        os.makedirs(topo.state)
        os.chmod(topo.state, 0o755)  # read by the daemon as nobody
        daemon = Daemon(topo, GENERAL.format(state=topo.state, tmp=topo.tmp) + sections)
        yield daemon.start()
    finally:
        if daemon is not None:
            daemon.stop()
        topo.down()
