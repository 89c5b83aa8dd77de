"""snf-ganeti-eventd and snf-progress-monitor stop on SIGTERM at every point of their life.

The real commands on the real RabbitMQ, or on a loopback port of the test's own that
refuses or stalls: the signal right after the start (many delays), once eventd watches
the queue, while a broker stalls or refuses, while eventd is busy sending a full spool
(nothing lost: what left the spool is in the queue), and for the progress monitor while
it reads its input, while its broker stalls, and when its caller ignores SIGTERM. Each
time the process must be gone within daemon_stop.STOP_BOUND s.
"""

import os
import signal
import subprocess
import sys
import time

import pytest

import daemon_stop
from synnefo.common.amqp_client import AMQPClient, Spool, Topology

pytestmark = pytest.mark.integration

BIN = os.path.dirname(sys.executable)
AMQP_URL = os.environ.get("SNF_TEST_AMQP_URL")
PREFIX = "snfesig%d-" % os.getpid()
DELAYS = [0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2]
PROGRESS = b'{"type": "image-copy-progress", "progress": 42}\n'


@pytest.fixture(scope="module")
def broker():
    assert AMQP_URL, "SNF_TEST_AMQP_URL is not set (source ci/test-env.sh)"
    yield AMQP_URL
    with AMQPClient([AMQP_URL]) as client:
        for queue in list(Topology(PREFIX).queues) + Topology(PREFIX).dead_letter_queues():
            client.channel.queue_delete(queue)


class Tool:
    """eventd (--debug) or the progress monitor with settings of their own under tmp."""

    def __init__(self, tmp_path, amqp_url, argv, stdin=None, preexec_fn=None, **settings):
        conf = tmp_path / "conf"
        conf.mkdir(exist_ok=True)
        (tmp_path / "queue").mkdir(exist_ok=True)
        self.pid_file = str(tmp_path / "run" / "eventd.pid")
        self.spool = Spool(str(tmp_path / "spool"))
        values = {"BACKEND_PREFIX_ID": PREFIX, "AMQP_HOSTS": [amqp_url],
                  "GANETI_QUEUE_DIR": str(tmp_path / "queue"),
                  "GANETI_EVENTS_SPOOL_DIR": self.spool.directory,
                  "EVENTD_PID_FILE": self.pid_file, "LOG_DIR": str(tmp_path / "log")}
        self.log_dir = values["LOG_DIR"]
        values.update(settings)
        (conf / "10-signals.conf").write_text("".join("%s = %r\n" % kv for kv in values.items()))
        self.log = str(tmp_path / (os.path.basename(argv[0]) + ".log"))
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [os.path.join(BIN, argv[0])] + argv[1:], stdin=stdin, stdout=out,
                stderr=subprocess.STDOUT, preexec_fn=preexec_fn,
                env=dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf)))

    def logs(self):
        text = []
        for path in (self.log, os.path.join(self.log_dir, "snf-ganeti-eventd.log")):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text.append("--- %s (tail)\n%s" % (path, f.read()[-4000:]))
        return "\n".join(text)

    def stop(self, signum=signal.SIGTERM):
        code = daemon_stop.stop(self.proc, self.logs, signum=signum)
        assert code in (0, -signum), self.logs()  # -signum: before its handler existed
        assert not os.path.exists(self.pid_file), self.logs()
        return code


def eventd(tmp_path, amqp_url, detach=False, **settings):
    return Tool(tmp_path, amqp_url, ["snf-ganeti-eventd", "--no-master-check"]
                + ([] if detach else ["--debug"]), **settings)


def fill_spool(spool, count):
    topo = Topology(PREFIX)
    for i in range(count):
        spool.add(topo.exchange, topo.routing_keys["progress"],
                  {"type": "ganeti-create-progress", "instance": PREFIX + "1",
                   "progress": i % 100, "event_time": [i, 0]})


# -- eventd ---------------------------------------------------------------------------

@pytest.mark.parametrize("delay", DELAYS)
def test_eventd_sigterm_soon_after_the_start(tmp_path, broker, delay):
    e = eventd(tmp_path, broker)
    time.sleep(delay)
    e.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_eventd_signal_while_watching(tmp_path, broker, signum):
    e = eventd(tmp_path, broker)
    daemon_stop.wait_for_text(e.log, "watching", e.proc)
    assert e.stop(signum) == 0


@pytest.mark.parametrize("delay", [0, 0.05, 0.3, 1.5])
def test_eventd_sigterm_after_detaching(tmp_path, broker, delay):
    e = eventd(tmp_path, broker, detach=True)
    pid = daemon_stop.detached_pid(e.proc, e.pid_file, e.logs)
    time.sleep(delay)
    daemon_stop.stop_detached(pid, e.logs)
    assert not os.path.exists(e.pid_file), e.logs()


@pytest.mark.parametrize("port", [daemon_stop.RefusingPort, daemon_stop.StallingPort])
@pytest.mark.parametrize("delay", [0.3, 1.5, 4])
def test_eventd_sigterm_with_the_broker_unreachable(tmp_path, port, delay):
    with port() as unreachable:
        e = eventd(tmp_path, daemon_stop.amqp_url(unreachable.port))
        fill_spool(e.spool, 3)  # something to send, so it keeps trying
        daemon_stop.wait_for_text(e.log, "watching", e.proc)
        time.sleep(delay)
        assert e.stop() == 0
    assert len(e.spool) == 3  # kept for the next start


def test_eventd_sigterm_while_sending_loses_nothing(tmp_path, broker):
    total = 1500
    spool = Spool(str(tmp_path / "spool"))
    fill_spool(spool, total)
    queue = Topology(PREFIX).queue_names["progress"]
    with AMQPClient([broker]) as client:
        def in_queue():
            try:
                return client.channel.queue_declare(queue, passive=True)[1]
            except Exception:  # not declared yet (the channel closed): reopen
                client.close()
                client.connect()
                return 0
        before = in_queue()
        e = eventd(tmp_path, broker)
        deadline = time.monotonic() + 60
        while in_queue() == before and time.monotonic() < deadline:
            time.sleep(0.02)
        assert e.stop() == 0
        sent, left = in_queue() - before, len(spool)
    assert left > 0, "the signal did not come while eventd was sending"
    # a message may be sent twice (confirmed, then the signal before its removal)
    assert total <= sent + left <= total + 1, (sent, left)


# -- the progress monitor -------------------------------------------------------------------

def monitor(tmp_path, amqp_url, preexec_fn=None, **settings):
    return Tool(tmp_path, amqp_url, ["snf-progress-monitor", PREFIX + "7"],
                stdin=subprocess.PIPE, preexec_fn=preexec_fn, **settings)


@pytest.mark.parametrize("delay", DELAYS[:7])
def test_monitor_sigterm_soon_after_the_start(tmp_path, broker, delay):
    m = monitor(tmp_path, broker)
    time.sleep(delay)
    m.stop()


def _ignore_sigterm():
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # as a caller might; exec keeps it


@pytest.mark.parametrize("preexec_fn", [None, _ignore_sigterm])
def test_monitor_sigterm_while_reading(tmp_path, preexec_fn):
    with daemon_stop.RefusingPort() as refusing:  # the line stays in the spool: we see it
        m = monitor(tmp_path, daemon_stop.amqp_url(refusing.port), preexec_fn=preexec_fn)
        m.proc.stdin.write(PROGRESS)
        m.proc.stdin.flush()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not len(m.spool):
            time.sleep(0.05)
        assert len(m.spool) == 1, m.logs()
        time.sleep(0.3)  # reading the next line
        assert m.stop() == 0


@pytest.mark.parametrize("delay", [0.2, 1.5])
def test_monitor_sigterm_while_its_broker_stalls(tmp_path, delay):
    with daemon_stop.StallingPort() as stalled:
        m = monitor(tmp_path, daemon_stop.amqp_url(stalled.port),
                    GANETI_HOOK_AMQP_TIMEOUT=600)
        m.proc.stdin.write(PROGRESS)
        m.proc.stdin.flush()
        deadline = time.monotonic() + 30
        while not stalled.accepted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert stalled.accepted, m.logs()
        time.sleep(delay)
        assert m.stop() == 0
    assert len(m.spool) == 1  # left for eventd
