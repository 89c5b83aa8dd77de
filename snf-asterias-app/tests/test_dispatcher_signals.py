"""snf-dispatcher stops on SIGTERM at every point of its life, and takes its workers along.

The real command (supervisor and workers, --debug, a pid file) on the real RabbitMQ, or
on a loopback port of the test's own that refuses or stalls; the signal comes right
after the start (many delays, so it lands in Django's start-up, the pid lock, the
forks, the workers' start-up and connect), once the workers consume, while a worker is
being replaced, after it detached, while the workers are busy with a burst of messages,
and with a worker stuck connecting to a database that stalls. Each time the supervisor
and every worker must be gone within daemon_stop.STOP_BOUND s, the pid file removed,
and no message lost. Workers use the test settings' in-memory SQLite (only undecodable
messages, which never touch it) or a port of ours that stalls as their PostgreSQL.
"""

import os
import re
import signal
import subprocess
import time

import pytest
from support.cluster import env
from support.live import REPO, VENV_BIN, copy_test_settings, delete_queues

import daemon_stop

pytestmark = pytest.mark.integration

PREFIX = "snfsig%d-" % os.getpid()
# From "at once" to after the workers' start-up (about 1-2 s here).
DELAYS = [0, 0.01, 0.03, 0.06, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 1.8, 2.5]


@pytest.fixture(scope="module", autouse=True)
def queues():
    yield
    delete_queues(PREFIX, env("SNF_TEST_AMQP_URL"))


class Dispatcher:
    def __init__(self, tmp_path, amqp_url, workers=2, detach=False, extra="", **env_vars):
        self.pid_file = str(tmp_path / "run" / "dispatcher.pid")
        self.log_dir = str(tmp_path / "log")
        conf = copy_test_settings(tmp_path, "AMQP_HOSTS = [%r]\nDISPATCHER_PID_FILE = %r\n"
                                  "LOG_DIR = %r\n%s" % (amqp_url, self.pid_file,
                                                        self.log_dir, extra))
        environ = dict(os.environ, SYNNEFO_SETTINGS_DIR=conf, SNF_TEST_DB="sqlite",
                       SNF_TEST_PREFIX=PREFIX, PYTHONPATH=os.path.join(REPO, "ci"))
        environ.update(env_vars)
        environ.pop("DJANGO_SETTINGS_MODULE", None)
        self.log = str(tmp_path / "dispatcher.log")
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [os.path.join(VENV_BIN, "snf-dispatcher"), "-w", str(workers)]
                + ([] if detach else ["--debug"]),
                env=environ, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def logs(self):
        text = []
        for path in (self.log, os.path.join(self.log_dir, "dispatcher.log")):
            if os.path.exists(path):
                with open(path, errors="replace") as f:
                    text.append("--- %s (tail)\n%s" % (path, f.read()[-4000:]))
        return "\n".join(text)

    def text(self):
        with open(self.log, errors="replace") as f:
            return f.read()

    def wait_for(self, text, count=1):
        return daemon_stop.wait_for_text(self.log, text, self.proc, count)

    def stop(self, signum=signal.SIGTERM):
        """The signal; everything gone in time; -> the supervisor's exit status."""
        code = daemon_stop.stop(self.proc, self.logs, group=True, signum=signum)
        assert code in (0, -signum), self.logs()  # -signum: before its handler existed
        assert not os.path.exists(self.pid_file), self.logs()
        return code


@pytest.mark.parametrize("delay", DELAYS)
def test_sigterm_soon_after_the_start(tmp_path, delay):
    d = Dispatcher(tmp_path, env("SNF_TEST_AMQP_URL"))
    time.sleep(delay)
    d.stop()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signal_once_the_workers_consume(tmp_path, signum):
    d = Dispatcher(tmp_path, env("SNF_TEST_AMQP_URL"))
    d.wait_for("consuming", count=2)
    assert d.stop(signum) == 0
    assert d.text().count("worker stopped") == 2


@pytest.mark.parametrize("delay", [0, 0.05, 0.3, 1.5])
def test_sigterm_after_detaching(tmp_path, delay):
    d = Dispatcher(tmp_path, env("SNF_TEST_AMQP_URL"), detach=True)
    pid = daemon_stop.detached_pid(d.proc, d.pid_file, d.logs)
    time.sleep(delay)
    daemon_stop.stop_detached(pid, d.logs)  # the workers too: they share its group
    assert not os.path.exists(d.pid_file), d.logs()


@pytest.mark.parametrize("port", [daemon_stop.RefusingPort, daemon_stop.StallingPort])
@pytest.mark.parametrize("delay", [0.3, 1.5, 4])
def test_sigterm_with_the_broker_unreachable(tmp_path, port, delay):
    with port() as broker:
        d = Dispatcher(tmp_path, daemon_stop.amqp_url(broker.port))
        d.wait_for("started worker", count=2)
        time.sleep(delay)
        assert d.stop() == 0


@pytest.mark.parametrize("delay", [0, 0.05, 0.3, 1, 3])
def test_sigterm_while_a_worker_is_replaced(tmp_path, delay):
    d = Dispatcher(tmp_path, env("SNF_TEST_AMQP_URL"))
    log = d.wait_for("consuming", count=2)
    victim = int(re.findall(r"started worker (\d+)", log)[0])
    os.kill(victim, signal.SIGKILL)
    d.wait_for("worker %d exited" % victim)
    time.sleep(delay)  # the replacement starts 5 s after the victim's own start
    assert d.stop() == 0


def test_a_dead_worker_is_replaced_and_its_replacement_stops_too(tmp_path):
    d = Dispatcher(tmp_path, env("SNF_TEST_AMQP_URL"))
    log = d.wait_for("consuming", count=2)
    os.kill(int(re.findall(r"started worker (\d+)", log)[0]), signal.SIGKILL)
    d.wait_for("consuming", count=3)
    assert d.stop() == 0
    assert d.text().count("worker stopped") == 2


def _queue_state(client, queue):
    """(ready messages, consumers) of ``queue``."""
    _, ready, consumers = client.channel.queue_declare(queue, passive=True)
    return ready, consumers


def test_sigterm_with_a_worker_stuck_connecting_to_the_database(tmp_path):
    """No signal interrupts a database call: the supervisor SIGKILLs the worker after
    DISPATCHER_STOP_TIMEOUT, and its message goes back to the queue."""
    from synnefo.common.amqp_client import AMQPClient, Topology
    topo = Topology(PREFIX)
    with daemon_stop.StallingPort() as database, \
            AMQPClient([env("SNF_TEST_AMQP_URL")], confirms=False) as client:
        d = Dispatcher(tmp_path, env("SNF_TEST_AMQP_URL"),
                       extra="DISPATCHER_STOP_TIMEOUT = 2\n", SNF_TEST_DB="postgresql",
                       SNF_TEST_PG_HOST="127.0.0.1", SNF_TEST_PG_PORT=str(database.port))
        d.wait_for("consuming", count=2)
        client.publish(topo.exchange, topo.routing_keys["op"], {
            "type": "ganeti-op-status", "instance": PREFIX + "1", "jobId": 1,
            "operation": "OP_INSTANCE_STARTUP", "status": "success", "logmsg": "",
            "event_time": [int(time.time()), 0]})
        assert _poll(lambda: database.accepted), d.logs()  # a worker is stuck in connect
        d.stop()
        assert "SIGKILL" in d.text(), d.logs()
        assert _poll(lambda: _queue_state(client, topo.queue_names["op"]) == (1, 0)), \
            d.logs()
        client.channel.queue_purge(topo.queue_names["op"])


def test_sigterm_while_busy_loses_no_message(tmp_path):
    from synnefo.common.amqp_client import AMQPClient, Topology
    topo = Topology(PREFIX)
    queue = topo.queue_names["op"]
    total, dropped = 10000, "dropping message that is not JSON"
    with AMQPClient([env("SNF_TEST_AMQP_URL")], confirms=False) as client:
        # The burst waits in the queue before the workers start. Published while they
        # consumed, it never piled up (they kept pace with the publisher), and on a
        # loaded machine they had applied all of it before the test saw them busy.
        client.declare_topology(topo, "quorum")  # as the workers declare it
        client.channel.queue_purge(queue)
        for i in range(total):
            client.publish(topo.exchange, topo.routing_keys["op"], b"not json %d" % i)
        assert _poll(lambda: _queue_state(client, queue)[0] == total)
        d = Dispatcher(tmp_path, env("SNF_TEST_AMQP_URL"))
        # busy: the workers have taken their first messages (the queue holds fewer)
        assert _poll(lambda: _queue_state(client, queue)[0] < total, interval=0.01), d.logs()
        d.stop()
        applied = d.text().count(dropped)

        def left():
            # once the broker has taken back what the workers had not acknowledged
            ready, consumers = _queue_state(client, queue)
            return consumers == 0 and applied + ready == total and ready
        ready = _poll(left)
    # ready > 0: the signal came while the workers were busy
    assert ready, "%d applied, the rest not back in the queue\n%s" % (applied, d.logs())


def _poll(check, timeout=60, interval=0.2):
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(interval)
    return check()
