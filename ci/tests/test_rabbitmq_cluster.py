"""ci/rabbitmq-cluster.sh: three joined nodes, idempotent `up`, `stop-node`, and a `down`
that stops only its own nodes (the normal RabbitMQ on 5672 keeps running).

Leaves the cluster as it found it (up again at the end if it was up). Root.
"""

import fcntl
import os
import subprocess
import uuid
from pathlib import Path

import amqp
import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "rabbitmq-cluster.sh"
STATE = Path(os.environ.get("SNF_RMQ_CLUSTER_DIR", "/var/lib/snf-rmq-test"))
URL = "amqp://synnefo:synnefo-test@127.0.0.1:%d/synnefo-test"
LOCK = "/run/lock/snf-ci-rmq-cluster.lock"  # ci/rabbitmq-cluster.sh's


def run(*args, timeout=1200):  # above the script's own bounds (300 s a step)
    p = subprocess.run([str(SCRIPT)] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    assert p.returncode == 0, "rabbitmq-cluster.sh %s failed:\n%s%s" % (
        " ".join(args), p.stdout, p.stderr)
    return p.stdout + p.stderr


def connect(port):
    conn = amqp.Connection(host="127.0.0.1:%d" % port, userid="synnefo",
                           password="synnefo-test", virtual_host="synnefo-test",
                           connect_timeout=3)
    conn.connect()
    return conn


def answers(port):
    try:
        connect(port).close()
        return True
    except (OSError, amqp.exceptions.AMQPError):
        return False


def pids():
    out = {}
    for n in (1, 2, 3):
        f = STATE / ("rmq%d" % n) / ("rmq%d.pid" % n)
        out[n] = int(f.read_text().strip()) if f.exists() else None
    return out


@pytest.fixture
def cluster(monkeypatch):
    """The cluster to this test alone (the lock ci/rabbitmq-cluster.sh takes): another
    test run's cluster tests wait instead of finding nodes stopped under them."""
    with open(LOCK, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        monkeypatch.setenv("SNF_CI_RMQ_LOCKED", "1")
        was_up = all(answers(p) for p in (5681, 5682, 5683))
        yield
        if was_up:
            run("up")


def test_up_stop_node_up_down(cluster):
    main_up = answers(5672)
    run("up")
    first = pids()
    assert all(first.values())
    out = run("up")  # idempotent: nothing started, nothing joined
    assert "starting" not in out and "joining" not in out and pids() == first

    # one cluster: a quorum queue declared through node 1 is seen through node 3
    queue = "ci-rmq-cluster-%s" % uuid.uuid4().hex[:8]
    c1 = connect(5681)
    c1.channel().queue_declare(queue, durable=True, auto_delete=False,
                               arguments={"x-queue-type": "quorum"})
    c3 = connect(5683)
    _, count, _ = c3.channel().queue_declare(queue, passive=True)
    assert count == 0
    c3.close()

    run("stop-node", "2")
    assert not answers(5682) and answers(5681) and answers(5683)
    out = run("up")  # starts only the missing node, which rejoins on its own
    assert "starting rmq2@localhost" in out and "rmq1@" not in out.split("cluster up")[0]
    assert "joining" not in out
    assert answers(5682) and pids()[1] == first[1] and pids()[3] == first[3]
    c1.channel().queue_delete(queue)
    c1.close()

    run("down")
    assert not any(answers(p) for p in (5681, 5682, 5683))
    assert not STATE.exists()
    for pid in first.values():
        assert not Path("/proc/%d" % pid).exists() or \
            Path("/proc/%d/comm" % pid).read_text().strip() != "beam.smp"
    assert answers(5672) == main_up  # the normal RabbitMQ is not touched
    run("down")  # idempotent
