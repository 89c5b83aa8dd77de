import json
import os
import time
import uuid

import pytest

from synnefo.common.amqp_client import AMQPClient, AMQPError, parse_url, redact


def test_parse_url():
    assert parse_url("amqp://u:p%40x@h:5673/v%2Fh") == {
        "host": "h:5673", "userid": "u", "password": "p@x", "virtual_host": "v/h"}
    assert parse_url("amqp://u:p@h/")["virtual_host"] == "/"
    assert parse_url("amqp://u:p@h")["host"] == "h:5672"
    with pytest.raises(AMQPError):
        parse_url("http://h/")


def test_redact_hides_password():
    assert redact("amqp://u:secret@h:1/v") == "amqp://u:***@h:1/v"
    assert "secret" not in redact("amqp://u:secret@h/")


def test_unreachable_brokers_give_one_clear_error_without_passwords():
    client = AMQPClient(["amqp://u:topsecret@127.0.0.1:1/", "amqp://u:topsecret@127.0.0.1:2/"])
    with pytest.raises(AMQPError) as exc:
        client.connect()
    assert "127.0.0.1:1" in str(exc.value) and "127.0.0.1:2" in str(exc.value)
    assert "topsecret" not in str(exc.value)


def amqp_url():
    url = os.environ.get("SNF_TEST_AMQP_URL")
    assert url, "SNF_TEST_AMQP_URL is not set: run the tests through `make test` (ci/test-env.sh)"
    return url


@pytest.mark.integration
def test_round_trip_through_real_rabbitmq_with_failover():
    queue = "test-roundtrip-%s" % uuid.uuid4().hex[:8]
    exchange = "test-exchange-%s" % uuid.uuid4().hex[:8]
    # the first broker is down: the client must fail over to the second
    with AMQPClient(["amqp://x:y@127.0.0.1:1/", amqp_url()]) as client:
        client.declare_exchange(exchange)
        client.channel.queue_declare(queue, exclusive=True, auto_delete=True)
        client.bind_queue(queue, exchange, "ganeti.test.event.op")
        client.publish(exchange, "ganeti.test.event.op", {"type": "ganeti-op-status", "n": 1})
        msg = client.channel.basic_get(queue, no_ack=False)
        assert msg is not None, "published message did not arrive"
        assert msg.body in (b'{"type": "ganeti-op-status", "n": 1}',
                            '{"type": "ganeti-op-status", "n": 1}')
        assert msg.properties["delivery_mode"] == 2
        client.channel.basic_ack(msg.delivery_tag)
        client.channel.exchange_delete(exchange)


# -- spool, topology, confirmed publishing ---------------------------------------

from synnefo.common.amqp_client import Spool, SpoolingPublisher, Topology  # noqa: E402


def test_topology_names_carry_the_prefix():
    t = Topology("snf-")
    assert t.routing_keys == {"op": "ganeti.snf.event.op", "net": "ganeti.snf.event.net",
                              "progress": "ganeti.snf.event.progress",
                              "network": "ganeti.snf.event.network"}
    assert t.queues["snf-events-op"] == "ganeti.snf.event.op"
    assert t.queues["snf-events-network"] == "ganeti.snf.event.network"
    assert sorted(t.dead_letter_queues()) == ["snf-events-net-dl", "snf-events-network-dl",
                                              "snf-events-op-dl", "snf-events-progress-dl"]
    assert t.dead_letter_exchange == "ganeti-dl"


def test_spool_keeps_order_and_whole_messages(tmp_path):
    spool = Spool(str(tmp_path / "s"))
    for i in range(5):
        spool.add("ganeti", "k", {"n": i})
    assert [spool.read(n)["body"]["n"] for n in spool.pending()] == [0, 1, 2, 3, 4]
    (tmp_path / "s" / ".half.msg.tmp").write_text("{")  # a writer that died mid-way
    assert len(spool) == 5
    spool.remove(spool.pending()[0])
    assert len(spool) == 4


def test_publisher_spools_when_no_broker_answers(tmp_path):
    pub = SpoolingPublisher(["amqp://u:p@127.0.0.1:1/"], str(tmp_path / "s"),
                            connect_timeout=1)
    assert pub.publish("ganeti", "k", {"n": 1}) is False
    assert pub.publish("ganeti", "k", {"n": 2}) is False  # within back-off: no new try
    assert len(pub.spool) == 2


@pytest.mark.integration
def test_spooled_messages_reach_real_rabbitmq_in_order_after_the_outage(tmp_path):
    prefix = "t%s-" % uuid.uuid4().hex[:6]
    topo = Topology(prefix, exchange="test-ganeti-%s" % prefix.rstrip("-"))
    spool_dir = str(tmp_path / "spool")
    down = SpoolingPublisher(["amqp://u:p@127.0.0.1:1/"], spool_dir, topology=topo)
    for i in range(3):
        down.publish(topo.exchange, topo.routing_keys["op"], {"n": i})
    assert len(down.spool) == 3
    up = SpoolingPublisher([amqp_url()], spool_dir, topology=topo)
    try:
        assert up.flush() is True and len(up.spool) == 0
        client = up.client
        got = []
        for _ in range(3):
            msg = client.channel.basic_get(topo.queue_names["op"], no_ack=False)
            assert msg is not None
            got.append(json.loads(msg.body)["n"])
            assert msg.properties["delivery_mode"] == 2
            client.channel.basic_ack(msg.delivery_tag)
        assert got == [0, 1, 2]
        # a rejected message goes to the dead-letter twin
        up.publish(topo.exchange, topo.routing_keys["net"], {"poison": True})
        msg = client.channel.basic_get(topo.queue_names["net"], no_ack=False)
        client.channel.basic_reject(msg.delivery_tag, requeue=False)
        for _ in range(50):
            dead = client.channel.basic_get(topo.queue_names["net"] + "-dl", no_ack=False)
            if dead is not None:
                break
            time.sleep(0.1)
        assert dead is not None and json.loads(dead.body) == {"poison": True}
        client.channel.basic_ack(dead.delivery_tag)
    finally:
        for q in list(topo.queues) + topo.dead_letter_queues():
            up.client.channel.queue_delete(q)
        up.client.channel.exchange_delete(topo.exchange)
        up.client.channel.exchange_delete(topo.dead_letter_exchange)
        up.close()


def test_publisher_back_off_doubles_up_to_its_bound_and_says_so(tmp_path, caplog):
    import logging
    import re
    caplog.set_level(logging.WARNING, logger="synnefo.common.amqp_client")
    pub = SpoolingPublisher(["amqp://u:secret@127.0.0.1:1/v"], str(tmp_path / "s"),
                            connect_timeout=1, retry_delay=1, max_retry_delay=4)
    pub.publish("ganeti", "k", {"n": 1})
    for _ in range(4):
        assert pub.flush(force=True) is False  # force: no waiting for the back-off here
    delays = [float(d) for d in re.findall(r"retrying in ([0-9.]+) s", caplog.text)]
    assert delays == [1.0, 2.0, 4.0, 4.0, 4.0]
    assert "127.0.0.1:1" in caplog.text and "ConnectionRefusedError" in caplog.text
    assert "secret" not in caplog.text and "1 message(s) kept in spool" in caplog.text


# -- deliveries: what consumers and the queue commands get -------------------------

def _until(predicate, tries=100):
    for _ in range(tries):
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


@pytest.mark.integration
def test_deliveries_ack_reject_requeue_and_get_on_real_rabbitmq():
    prefix = "td%s-" % uuid.uuid4().hex[:6]
    topo = Topology(prefix, exchange="test-ganeti-%s" % prefix.rstrip("-"))
    op = topo.queue_names["op"]
    client = AMQPClient([amqp_url()]).connect()
    try:
        assert client.queue_counts(op) is None  # not declared yet; the client carries on
        client.declare_topology(topo, "quorum")
        assert client.get(op) is None  # empty
        for n in range(3):
            client.publish(topo.exchange, topo.routing_keys["op"], {"n": n},
                           headers={"from-dead-letter": True} if n == 2 else None)
        assert _until(lambda: client.queue_counts(op) == (3, 0))

        first = client.get(op)
        assert json.loads(first.body) == {"n": 0} and first.routing_key == topo.routing_keys["op"]
        assert not first.redelivered and "from-dead-letter" not in first.headers
        first.requeue()
        seen = {}
        for _ in range(3):
            d = client.get(op)
            seen[json.loads(d.body)["n"]] = d
        assert seen[0].redelivered and not seen[1].redelivered
        assert seen[2].headers["from-dead-letter"] is True
        seen[0].ack()
        seen[1].reject()  # to the dead-letter twin, with RabbitMQ's x-death
        seen[2].ack()
        dead = _until(lambda: client.get(op + "-dl"))
        assert json.loads(dead.body) == {"n": 1}
        assert dead.headers["x-death"][0]["reason"] in ("rejected", b"rejected")
        dead.ack()
        assert _until(lambda: client.queue_counts(op) == (0, 0))
        assert _until(lambda: client.queue_counts(op + "-dl")[0] == 0)
    finally:
        for q in list(topo.queues) + topo.dead_letter_queues():
            client.channel.queue_delete(q)
        client.channel.exchange_delete(topo.exchange)
        client.channel.exchange_delete(topo.dead_letter_exchange)
        client.close()


@pytest.mark.integration
def test_consume_hands_out_at_most_prefetch_unsettled_deliveries_per_queue():
    prefix = "tp%s-" % uuid.uuid4().hex[:6]
    topo = Topology(prefix, exchange="test-ganeti-%s" % prefix.rstrip("-"))
    queues = [topo.queue_names["op"], topo.queue_names["net"]]
    admin = AMQPClient([amqp_url()]).connect()
    consumer = AMQPClient([amqp_url()], confirms=False).connect()
    try:
        admin.declare_topology(topo, "quorum")
        for kind in ("op", "net"):
            for n in range(5):
                admin.publish(topo.exchange, topo.routing_keys[kind], {"n": n})
        got = []
        consumer.consume(queues, got.append, prefetch=2)
        assert _until(lambda: consumer.drain(0.1) is not None and len(got) >= 4) and len(got) == 4
        consumer.drain(0.5)
        assert len(got) == 4  # two unsettled per queue: the broker sends no more
        assert sorted(d.routing_key for d in got) == sorted(
            [topo.routing_keys["op"]] * 2 + [topo.routing_keys["net"]] * 2)
        for d in got:
            d.ack()
        assert _until(lambda: consumer.drain(0.1) is not None and len(got) >= 8) and len(got) == 8
        for d in got[4:]:
            d.ack()
    finally:
        consumer.close()
        for q in list(topo.queues) + topo.dead_letter_queues():
            admin.channel.queue_delete(q)
        admin.channel.exchange_delete(topo.exchange)
        admin.channel.exchange_delete(topo.dead_letter_exchange)
        admin.close()
