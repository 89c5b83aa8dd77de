import os
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
