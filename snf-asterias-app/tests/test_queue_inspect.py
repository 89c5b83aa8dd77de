"""snf-manage queue-inspect against the real RabbitMQ (ci/services.sh up)."""

import io
import json
import os
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from support.live import wait_for

from synnefo.common.amqp_client import AMQPClient, Topology

pytestmark = pytest.mark.integration


def amqp_url():
    url = os.environ.get("SNF_TEST_AMQP_URL")
    assert url, "SNF_TEST_AMQP_URL is not set: run through `make test` (ci/test-env.sh)"
    return url


@pytest.fixture
def deployment(settings):
    """A prefix of its own, its topology declared, and removed afterwards."""
    prefix = "snfqi%s-" % uuid.uuid4().hex[:6]
    settings.BACKEND_PREFIX_ID = prefix
    settings.AMQP_HOSTS = [amqp_url()]
    settings.EXCHANGE_GANETI = "test-qi-%s" % prefix.rstrip("-")
    topo = Topology(prefix, exchange=settings.EXCHANGE_GANETI)
    client = AMQPClient([amqp_url()]).connect()
    client.declare_topology(topo, "quorum")
    yield topo, client
    for q in list(topo.queues) + topo.dead_letter_queues():
        client.channel.queue_delete(q)
    client.channel.exchange_delete(topo.exchange)
    client.channel.exchange_delete(topo.dead_letter_exchange)
    client.close()


def inspect(*args):
    out = io.StringIO()
    call_command("queue-inspect", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def wait_count(client, queue, n):
    wait_for("%s to hold %d message(s)" % (queue, n),
             lambda: client.channel.queue_declare(queue, passive=True)[1] == n, interval=0.1)


def test_counts_peek_and_dead_letters(deployment):
    topo, client = deployment
    op, net = topo.queue_names["op"], topo.queue_names["net"]
    for i in range(3):
        client.publish(topo.exchange, topo.routing_keys["op"],
                       {"type": "ganeti-op-status", "jobId": i, "instance": "x%d" % i})
    client.publish(topo.exchange, topo.routing_keys["net"], b"not json")
    # one dead letter: rejected without requeue, like the dispatcher does
    client.publish(topo.exchange, topo.routing_keys["net"], {"type": "ganeti-net-status"})
    wait_count(client, net, 2)
    client.channel.basic_get(net, no_ack=False)  # the "not json" one: leave it unacked...
    poison = client.channel.basic_get(net, no_ack=False)
    client.channel.basic_reject(poison.delivery_tag, requeue=False)
    client.close()  # ...and return it
    client.connect()
    wait_count(client, net + "-dl", 1)
    wait_count(client, op, 3)

    rows = {r["queue"]: r for r in json.loads(inspect("--json"))}
    assert set(rows) == set(topo.queues)
    assert rows[op]["messages"] == 3 and rows[op]["consumers"] == 0
    assert rows[op]["dead_letters"] == 0 and rows[op]["dead_letter_queue"] == op + "-dl"
    assert rows[net]["messages"] == 1 and rows[net]["dead_letters"] == 1
    table = inspect()
    assert "DEAD_LETTERS" in table.splitlines()[0]
    assert any(line.split()[:4] == [op, "3", "0", "0"] for line in table.splitlines())

    # a consumer is counted
    consumer = AMQPClient([amqp_url()]).connect()
    consumer.channel.basic_qos(0, 1, False)
    consumer.consume(op, lambda m: None, prefetch=1)
    try:
        rows = {r["queue"]: r for r in json.loads(inspect("--json", "--queue", op))}
        assert rows[op]["consumers"] == 1
    finally:
        consumer.close()  # its one unacked message goes back
    wait_count(client, op, 3)

    # peek shows N messages and consumes nothing, also on a second look. (A returned
    # message may come back in another place: quorum queues do not keep the order of
    # requeued messages, so neither does a peek.)
    for _ in range(2):
        peeked = json.loads(inspect("--json", "--queue", op, "--peek", "2"))
        assert len({m["body"]["jobId"] for m in peeked}) == 2
        assert [m["position"] for m in peeked] == [1, 2]
    wait_count(client, op, 3)
    assert sorted(m["body"]["jobId"] for m in
                  json.loads(inspect("--json", "--queue", op, "--peek", "10"))) == [0, 1, 2]
    text = inspect("--queue", net, "--peek", "5")
    assert "not json" in text
    dead = json.loads(inspect("--json", "--queue", net + "-dl", "--peek", "1"))
    assert dead[0]["body"] == {"type": "ganeti-net-status"}
    assert dead[0]["death"]["reason"] == "rejected" and dead[0]["death"]["queue"] == net
    wait_count(client, net + "-dl", 1)
    # the messages are all still there for the dispatcher
    got = [json.loads(client.channel.basic_get(op, no_ack=True).body)["jobId"]
           for _ in range(3)]
    assert sorted(got) == [0, 1, 2]
    assert "no messages" in inspect("--queue", op, "--peek", "3")


def test_refuses_foreign_queues_and_reports_missing_ones(settings):
    settings.BACKEND_PREFIX_ID = "snfqi%s-" % uuid.uuid4().hex[:6]  # never declared
    kinds = len(Topology(settings.BACKEND_PREFIX_ID).queues)
    settings.AMQP_HOSTS = [amqp_url()]
    with pytest.raises(CommandError, match="not a queue of this deployment"):
        inspect("--queue", "snf-events-op")
    with pytest.raises(CommandError, match="--peek needs --queue"):
        inspect("--peek", "1")
    rows = json.loads(inspect("--json"))
    assert len(rows) == kinds and all(r["exists"] is False and r["messages"] is None
                                  for r in rows)
    with pytest.raises(CommandError, match="does not exist"):
        inspect("--queue", settings.BACKEND_PREFIX_ID.rstrip("-") + "-events-op", "--peek", "1")


def test_unreachable_broker_is_a_clear_error_without_password(settings):
    settings.AMQP_HOSTS = ["amqp://u:hidden-pw@127.0.0.1:1/v"]
    with pytest.raises(CommandError) as exc:
        inspect()
    assert "127.0.0.1:1" in str(exc.value) and "hidden-pw" not in str(exc.value)
