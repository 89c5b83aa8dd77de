"""nfdhcpd stops on SIGTERM at every point of its life.

The real daemon in a namespace of ours: SIGTERM right after the start (many delays: the
config, the NFQUEUE bindings, the pid file, dropping root), after it detached (daemon
mode), and while it is busy rereading bindings that change under it with SIGHUP coming
in a storm (a SIGHUP handler that reread the bindings itself took the bindings' lock
inside the main thread, possibly while that thread held it: a deadlock that no SIGTERM
could end). Each time it must be gone within daemon_stop.STOP_BOUND s, pid file removed.
"""
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from support.netns import WAIT, Topology, daemon_config, wait_for

import daemon_stop

pytestmark = pytest.mark.integration

BINDING = "MAC=aa:00:00:fb:d3:2%d\nIP=10.251.7.%d\nSUBNET=10.251.7.0/24\n"


@pytest.fixture(scope="module")
def topo():
    t = Topology("aa:00:00:fb:d3:20")
    try:
        t.up()
        yield t
    finally:
        t.down()


class Nfdhcpd:
    count = 0

    def __init__(self, topo, foreground=True):
        Nfdhcpd.count += 1
        self.dir = topo.path("run%d" % Nfdhcpd.count)
        os.makedirs(os.path.join(self.dir, "state"))
        os.chmod(self.dir, 0o755)
        os.chmod(os.path.join(self.dir, "state"), 0o755)  # read as nobody
        self.pid_file = os.path.join(self.dir, "run", "nfdhcpd.pid")
        conf = topo.write("nfdhcpd%d.conf" % Nfdhcpd.count, daemon_config(self.dir))
        self.out = os.path.join(self.dir, "out")
        with open(self.out, "wb") as out:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", topo.host, sys.executable, "-m", "nfdhcpd.main",
                 "-c", conf] + (["-f"] if foreground else []), stdout=out,
                stderr=subprocess.STDOUT)

    def logs(self):
        text = []
        for path in (self.out, os.path.join(self.dir, "log", "nfdhcpd.log")):
            try:
                with open(path, errors="replace") as f:
                    text.append("--- %s (tail)\n%s" % (path, f.read()[-3000:]))
            except OSError:
                pass
        return "\n".join(text)

    def log_has(self, text):
        try:
            with open(os.path.join(self.dir, "log", "nfdhcpd.log"), errors="replace") as f:
                return text in f.read()
        except OSError:
            return False


@pytest.mark.parametrize("delay", [0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.3, 0.5, 0.8])
def test_sigterm_soon_after_the_start(topo, delay):
    d = Nfdhcpd(topo)
    time.sleep(delay)
    code = daemon_stop.stop(d.proc, d.logs)
    assert code in (0, -signal.SIGTERM), d.logs()  # -SIGTERM: before its handler existed
    assert not os.path.exists(d.pid_file), d.logs()


@pytest.mark.parametrize("delay", [0, 0.05, 0.3])
def test_sigterm_after_detaching(topo, delay):
    d = Nfdhcpd(topo, foreground=False)
    pid = daemon_stop.detached_pid(d.proc, d.pid_file, d.logs)
    time.sleep(delay)
    daemon_stop.stop_detached(pid, d.logs)
    assert not os.path.exists(d.pid_file), d.logs()
    assert d.log_has("nfdhcpd stopped"), d.logs()


def test_sigterm_after_a_sighup_storm_over_changing_bindings(topo):
    d = Nfdhcpd(topo)
    wait_for(lambda: d.log_has("nfdhcpd started") or d.proc.poll() is not None, WAIT,
             "nfdhcpd to start")
    assert d.proc.poll() is None, d.logs()
    state = os.path.join(d.dir, "state")
    done = threading.Event()

    def churn():  # every change makes the daemon reload a binding under its lock
        i = 0
        while not done.is_set():
            name = os.path.join(state, "tap%d" % (i % 8))
            with open(name + ".tmp", "w") as f:
                f.write(BINDING % (i % 8, 10 + i % 8))
            os.rename(name + ".tmp", name)
            if i % 3 == 0:
                os.unlink(name)
            i += 1

    writer = threading.Thread(target=churn)
    writer.start()
    try:
        end = time.monotonic() + 3
        while time.monotonic() < end and d.proc.poll() is None:
            d.proc.send_signal(signal.SIGHUP)
            time.sleep(0.001)
    finally:
        done.set()
        writer.join()
    assert d.proc.poll() is None, d.logs()  # SIGHUP never stops it
    assert daemon_stop.stop(d.proc, d.logs) == 0
    assert d.log_has("SIGHUP: rereading") and d.log_has("nfdhcpd stopped"), d.logs()
    assert not os.path.exists(d.pid_file), d.logs()
