"""A RabbitMQ delivery as the dispatcher's Worker.on_message sees it, for tests that
feed it messages without a broker: the real ``Delivery`` over a channel that records
acks and rejects."""

import json
import types

from synnefo.common.amqp_client import Delivery


class FakeChannel:
    def __init__(self):
        self.acked, self.rejected = [], []  # tags; (tag, requeue)
        self.multiple = []  # (tag, multiple) per ack

    def basic_ack(self, tag, multiple=False):
        self.acked.append(tag)
        self.multiple.append((tag, multiple))

    def basic_reject(self, tag, requeue):
        self.rejected.append((tag, requeue))


class FakeMessage(Delivery):
    """``body`` (JSON-encoded here) delivered with ``routing_key`` on ``channel`` (by
    default a channel of its own)."""

    def __init__(self, body, routing_key="ganeti.x.event.op", tag=1, channel=None):
        self.channel = channel or FakeChannel()
        super().__init__(types.SimpleNamespace(
            body=json.dumps(body).encode(), channel=self.channel, delivery_tag=tag,
            delivery_info={"routing_key": routing_key}, properties={}))
