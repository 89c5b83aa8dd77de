"""AMQPClient against a real three-node RabbitMQ cluster (ci/rabbitmq-cluster.sh up).

Publishers (SpoolingPublisher, as eventd and the hook use it) and consumers (AMQPClient in
a loop like the dispatcher's) run against quorum queues while the node they are connected
to is killed. Checked: every published id arrives (duplicates are allowed: delivery is at
least once), publishers and consumers carry on through another node, and while no broker
of a client's list answers, the client logs a bounded back-off and connects once one
returns. The killed node is started again at the end (ci/rabbitmq-cluster.sh up).
"""

import collections
import fcntl
import json
import logging
import os
import re
import signal
import subprocess
import threading
import time
import uuid

import pytest

from synnefo.common.amqp_client import (
    BROKER_ERRORS,
    AMQPClient,
    AMQPError,
    SpoolingPublisher,
    Topology,
)

pytestmark = pytest.mark.integration

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLUSTER_SCRIPT = os.path.join(REPO, "ci", "rabbitmq-cluster.sh")
CLUSTER_LOCK = "/run/lock/snf-ci-rmq-cluster.lock"  # the script's
STATE = os.environ.get("SNF_RMQ_CLUSTER_DIR", "/var/lib/snf-rmq-test")
DEFAULT_URLS = " ".join("amqp://synnefo:synnefo-test@127.0.0.1:%d/synnefo-test" % p
                        for p in (5681, 5682, 5683))
LOGGER = "synnefo.common.amqp_client"

PUBLISHERS, CONSUMERS = 2, 2
LOAD = 300          # confirms each publisher has had before the kill: it comes under load
# Bounds for conditions the test waits for, not measurements: on a loaded machine
# (three Erlang VMs on two cores beside the other suites) a fail-over can take many
# seconds; a fixed few seconds of load around the kill failed there.
WAIT_LIMIT = 120.0
SCRIPT_LIMIT = 1200  # above ci/rabbitmq-cluster.sh's own bounds (300 s a boot or a call)


def cluster_urls():
    urls = os.environ.get("SNF_TEST_AMQP_CLUSTER_URLS", DEFAULT_URLS).replace(",", " ").split()
    assert len(urls) == 3, "SNF_TEST_AMQP_CLUSTER_URLS must list the three cluster nodes"
    return urls


def node_of(url):
    """amqp://...:5682/... -> 2 (node N listens on 5680+N, see ci/rabbitmq-cluster.sh)."""
    return int(re.search(r":(\d+)/", url).group(1)) - 5680


@pytest.fixture
def cluster(monkeypatch):
    """The cluster's URLs, the cluster to this test alone: it holds the lock of
    ci/rabbitmq-cluster.sh, and SNF_CI_RMQ_LOCKED lets its own calls of the script
    through. Another test run's cluster tests wait instead of losing a node."""
    with open(CLUSTER_LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        monkeypatch.setenv("SNF_CI_RMQ_LOCKED", "1")
        urls = cluster_urls()
        for url in urls:
            try:
                AMQPClient([url], connect_timeout=3).connect().close()
            except AMQPError as exc:
                pytest.fail("the three-node RabbitMQ cluster is not running (start it "
                            "with `ci/rabbitmq-cluster.sh up`): %s" % exc)
        yield urls
        # Start again whatever the test stopped, so the next run finds three nodes.
        subprocess.run([CLUSTER_SCRIPT, "up"], check=True, timeout=SCRIPT_LIMIT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stop_node(n, how):
    """Take node ``n`` away: how="kill" sends SIGKILL to its Erlang VM (a crash, no
    goodbye to clients or peers); how="stop" is rabbitmqctl stop (clients get
    connection.close with CONNECTION_FORCED)."""
    if how == "stop":
        subprocess.run([CLUSTER_SCRIPT, "stop-node", str(n)], check=True, timeout=SCRIPT_LIMIT,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return
    with open(os.path.join(STATE, "rmq%d" % n, "rmq%d.pid" % n)) as f:
        pid = int(f.read().strip())
    with open("/proc/%d/comm" % pid) as f:
        assert f.read().strip() == "beam.smp", "pid file of rmq%d names another process" % n
    os.kill(pid, signal.SIGKILL)

    def dead():
        try:
            with open("/proc/%d/stat" % pid) as f:
                return f.read().split(") ")[1].startswith("Z")
        except FileNotFoundError:
            return True
    wait_until("rmq%d (pid %d) to die" % (n, pid), dead)


def wait_until(what, check):
    """Poll ``check`` until it holds; fail naming ``what`` after WAIT_LIMIT s."""
    deadline = time.monotonic() + WAIT_LIMIT
    while not check():
        assert time.monotonic() < deadline, "still waiting for %s after %d s" % (
            what, WAIT_LIMIT)
        time.sleep(0.1)


class Publisher(threading.Thread):
    """Publishes ids <i>-<seq> as fast as confirms allow until told to stop."""

    def __init__(self, i, urls, spool_dir, topo, stop):
        super().__init__(daemon=True)
        self.i, self.topo, self.stop = i, topo, stop
        self.pub = SpoolingPublisher(urls, spool_dir, topology=topo, retry_delay=0.2,
                                     max_retry_delay=2.0)
        self.ids = []
        self.confirmed = []  # (monotonic time, broker url) of each publish the broker acked
        self.error = None

    def run(self):
        try:
            while not self.stop.is_set():
                msg_id = "%d-%d" % (self.i, len(self.ids))
                self.ids.append(msg_id)
                if self.pub.publish(self.topo.exchange, self.topo.routing_keys["op"],
                                    {"id": msg_id}):
                    self.confirmed.append((time.monotonic(), self.pub.client.url))
                else:
                    time.sleep(0.05)  # broker lost: keep spooling, like eventd
            deadline = time.monotonic() + WAIT_LIMIT
            while not self.pub.flush(force=True):
                assert time.monotonic() < deadline, "spool not sent within the limit"
                time.sleep(0.2)
        except Exception as exc:  # reported by the test thread
            self.error = exc
        finally:
            self.pub.close()


class Consumer(threading.Thread):
    """Consumes and acks, reconnecting like the dispatcher on any broker failure."""

    def __init__(self, urls, queue, stop):
        super().__init__(daemon=True)
        self.urls, self.queue, self.stop = urls, queue, stop
        self.client = AMQPClient(urls, confirms=False)
        self.got = []        # (monotonic time, id, broker url)
        self.connections = []
        self.error = None

    def on_message(self, delivery):
        self.got.append((time.monotonic(), json.loads(delivery.body)["id"], self.client.url))
        delivery.ack()

    def run(self):
        try:
            while not self.stop.is_set():
                try:
                    if not self.client.connect_retrying(self.stop.is_set, max_delay=2):
                        break
                    self.connections.append(self.client.url)
                    self.client.consume(self.queue, self.on_message, prefetch=50)
                    while not self.stop.is_set():
                        self.client.drain(timeout=0.5)
                except BROKER_ERRORS as exc:
                    logging.getLogger(LOGGER).warning("test consumer lost the broker: %r", exc)
                    time.sleep(0.2)
                finally:
                    self.client.close()
        except Exception as exc:
            self.error = exc


def surviving(events, killed_at, dead):
    """Whether ``events`` ((monotonic time, ..., broker url) tuples) hold one after the
    kill through another node (one may race the kill through the dying node)."""
    return any(e[0] > killed_at and node_of(e[-1]) != dead for e in events)


@pytest.mark.parametrize("how", ["kill", "stop"])
def test_no_message_lost_when_the_connected_node_dies_under_load(cluster, tmp_path, caplog,
                                                                  how):
    caplog.set_level(logging.INFO, logger=LOGGER)
    urls = cluster
    prefix = "tc%s-" % uuid.uuid4().hex[:6]
    topo = Topology(prefix, exchange="test-cluster-%s" % prefix.rstrip("-"))
    queue = topo.queue_names["op"]
    with AMQPClient([urls[0]]) as admin:  # queue leaders start on node 1: the one killed
        admin.declare_topology(topo, "quorum")

    stop_pub, stop_cons = threading.Event(), threading.Event()
    publishers = [Publisher(i, urls, str(tmp_path / ("spool%d" % i)), topo, stop_pub)
                  for i in range(PUBLISHERS)]
    consumers = [Consumer(urls, queue, stop_cons) for _ in range(CONSUMERS)]
    dead = None
    try:
        for t in consumers + publishers:
            t.start()
        wait_until("every publisher to have %d confirms and every consumer a message "
                   "before the kill" % LOAD,
                   lambda: all(len(p.confirmed) >= LOAD for p in publishers)
                   and all(c.got for c in consumers))
        dead_url = publishers[0].pub.client.url
        assert all(t.connections[-1] == dead_url for t in consumers) and \
            all(p.pub.client.url == dead_url for p in publishers), \
            "every client should start on the first node of AMQP_HOSTS"
        dead = node_of(dead_url)
        killed_at = time.monotonic()
        stop_node(dead, how)
        # The load goes on until both sides carried on through a surviving node.
        wait_until("every publisher and consumer to carry on through a surviving node",
                   lambda: all(surviving(p.confirmed, killed_at, dead) for p in publishers)
                   and all(surviving(c.got, killed_at, dead) for c in consumers))
        stop_pub.set()
        for p in publishers:
            p.join(WAIT_LIMIT + 10)
            assert not p.is_alive() and p.error is None, p.error

        published = {i for p in publishers for i in p.ids}
        deadline = time.monotonic() + WAIT_LIMIT
        while time.monotonic() < deadline:
            if published <= {i for c in consumers for _, i, _ in c.got}:
                break
            time.sleep(0.2)
    finally:
        stop_pub.set()
        stop_cons.set()
        for t in consumers + publishers:
            t.join(15)

    for c in consumers:
        assert c.error is None, c.error
    received = collections.Counter(i for c in consumers for _, i, _ in c.got)
    lost = published - set(received)
    dupes = sum(n - 1 for n in received.values())
    print("published %d, received %d (%d duplicates), lost %d; node rmq%d: %s"
          % (len(published), sum(received.values()), dupes, len(lost), dead, how))
    print("first confirm after losing the node: %s s; first delivery: %s s" % (
        ["%.1f" % (min([t for t, _ in p.confirmed if t > killed_at] or [0]) - killed_at)
         for p in publishers],
        ["%.1f" % (min([t for t, _, _ in c.got if t > killed_at] or [0]) - killed_at)
         for c in consumers]))
    assert not lost, "%d message(s) lost, e.g. %s" % (len(lost), sorted(lost)[:5])
    assert set(received) <= published, "received ids nobody published"
    assert len(published) >= PUBLISHERS * LOAD  # the kill came under load
    for p in publishers:
        assert node_of(p.confirmed[-1][1]) != dead
    # Nothing left behind: every message acked.
    with AMQPClient([u for u in urls if node_of(u) != dead]) as admin:
        _, ready, _ = admin.channel.queue_declare(queue, passive=True)
        assert ready == 0

    # While no broker of its list answers, a client backs off (bounded) and says so.
    # Its only broker is the dead node; it connects once the node is started again.
    caplog.clear()
    lonely = AMQPClient([u for u in urls if node_of(u) == dead], connect_timeout=2)
    result = {}
    waiter = threading.Thread(target=lambda: result.setdefault(
        "ok", lonely.connect_retrying(max_delay=2)), daemon=True)
    waiter.start()
    wait_until("three attempts against the dead node",
               lambda: len(re.findall(r"retrying in \d+ s", caplog.text)) >= 3)
    t0 = time.monotonic()
    subprocess.run([CLUSTER_SCRIPT, "up"], check=True, timeout=SCRIPT_LIMIT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    waiter.join(WAIT_LIMIT)
    print("rmq%d restarted in %.1f s" % (dead, time.monotonic() - t0))
    assert result.get("ok") is True, "the client did not connect after its broker returned"
    lonely.close()
    delays = [int(d) for d in re.findall(r"retrying in (\d+) s", caplog.text)]
    assert len(delays) >= 3, caplog.text
    assert delays[:2] == [1, 2] and max(delays) == 2, delays  # doubling, capped
    assert "cannot connect to any AMQP broker" in caplog.text
    assert "synnefo-test" in caplog.text and ":***@" in caplog.text  # names it, no password
    assert "connected to AMQP broker" in caplog.messages[-1]
    # (deleting a quorum queue while one of its members is down blocks for ~40 s)
    with AMQPClient(urls) as admin:  # quorum queues are deleted quickly with all members up
        for q in list(topo.queues) + topo.dead_letter_queues():
            admin.channel.queue_delete(q)
        admin.channel.exchange_delete(topo.exchange)
        admin.channel.exchange_delete(topo.dead_letter_exchange)
