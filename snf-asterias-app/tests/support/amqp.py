"""A RabbitMQ delivery as the dispatcher's Worker.on_message sees it, for tests that
feed it messages without a broker: the channel records acks and rejects."""

import json


class FakeChannel:
    def __init__(self):
        self.acked, self.rejected = [], []

    def basic_ack(self, tag):
        self.acked.append(tag)

    def basic_reject(self, tag, requeue):
        self.rejected.append((tag, requeue))


class FakeMessage:
    """``body`` (JSON-encoded here) delivered with ``routing_key`` on its own channel."""

    def __init__(self, body, routing_key="ganeti.x.event.op", tag=1):
        self.body = json.dumps(body).encode()
        self.channel = FakeChannel()
        self.delivery_tag = tag
        self.delivery_info = {"routing_key": routing_key}
