"""The real command: daemon mode, pid files, refusing a second instance, bad config."""
import os
import subprocess
import sys

import pytest
from support.netns import WAIT, Topology, daemon_config, sh, wait_for

pytestmark = pytest.mark.integration



@pytest.fixture
def topo():
    t = Topology("aa:00:00:fb:d3:10")
    try:
        t.up()
        yield t
    finally:
        t.down()


def nfdhcpd(topo, *args, timeout=20):
    return sh(sys.executable, "-m", "nfdhcpd.main", *args, ns=topo.host, check=False,
              timeout=timeout)


def dead_pid():
    p = subprocess.Popen(["true"])
    p.wait()
    return p.pid


def test_daemon_mode_with_stale_pidfile(topo):
    conf = topo.write("nfdhcpd.conf", daemon_config(topo.tmp))
    pidfile = topo.path("run", "nfdhcpd.pid")
    topo.write("run/nfdhcpd.pid", "%d\n" % dead_pid())
    os.chown(topo.path("run"), 65534, 65534)  # as the package would make /run/nfdhcpd
    res = nfdhcpd(topo, "-c", conf)
    assert res.returncode == 0, res.stderr
    pid = wait_for(lambda: _live_pid(pidfile), WAIT, "the daemon's pid file")
    try:
        with open("/proc/%d/status" % pid) as f:
            status = f.read()
        assert "PPid:\t1\n" in status or "Uid:\t65534" in status
        log = topo.path("log", "nfdhcpd.log")
        wait_for(lambda: "nfdhcpd started" in open(log).read(), WAIT, "the start log line")
        assert "removing stale pid file" in open(log).read()
        # A second instance refuses to start while the first one runs.
        again = nfdhcpd(topo, "-c", conf, "-f")
        assert again.returncode == 1
        assert "already running (pid %d" % pid in again.stderr
    finally:
        os.kill(pid, 15)
        wait_for(lambda: not os.path.exists("/proc/%d" % pid), WAIT, "the daemon to exit")
    assert "nfdhcpd stopped" in open(log).read()
    assert not os.path.exists(pidfile)  # removed even though it runs as nobody


def _live_pid(path):
    try:
        pid = int(open(path).read())
    except (OSError, ValueError):
        return None
    return pid if os.path.exists("/proc/%d" % pid) else None


def test_foreground_creates_its_pid_dir_and_cleans_up(topo):
    conf = topo.write("nfdhcpd.conf", daemon_config(topo.tmp))
    pidfile = topo.path("run", "nfdhcpd.pid")
    proc = subprocess.Popen(["ip", "netns", "exec", topo.host, sys.executable, "-m",
                             "nfdhcpd.main", "-c", conf, "-f"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: _live_pid(pidfile), WAIT, "the pid file")
        assert os.stat(topo.path("run")).st_uid == 65534
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0
    assert not os.path.exists(pidfile)


def test_bad_config_is_reported(topo):
    conf = topo.write("bad.conf", "[dhcp]\nlease_lifetime = forever\n")
    res = nfdhcpd(topo, "-c", conf, "-f")
    assert res.returncode == 2
    assert "lease_lifetime" in res.stderr and "Traceback" not in res.stderr
    res = nfdhcpd(topo, "-c", topo.path("missing.conf"))
    assert res.returncode == 2 and "cannot read config file" in res.stderr


def test_unknown_user_is_reported(topo):
    conf = topo.write("nfdhcpd.conf", daemon_config(topo.tmp).replace(
        "user = nobody", "user = no-such-user-nfd"))
    res = nfdhcpd(topo, "-c", conf, "-f")
    assert res.returncode == 1
    assert "no-such-user-nfd" in res.stderr and "Traceback" not in res.stderr


def test_nfqueue_binding_against_the_kernel(topo):
    """Bind, a second bind of the same queue fails with a clear error, unbind frees it."""
    code = """
from nfdhcpd.nfqueue import NFQueue, NetlinkError
a = NFQueue(77); a.bind()
b = NFQueue(77)
try:
    b.bind(); print("second bind worked")
except NetlinkError as e:
    print("refused:", e)
a.close()
b.bind(); print("rebound"); b.close()
"""
    res = sh(sys.executable, "-c", code, ns=topo.host)
    assert "NFQUEUE 77 is already bound by another process" in res.stdout, \
        res.stdout + res.stderr
    assert "rebound" in res.stdout
