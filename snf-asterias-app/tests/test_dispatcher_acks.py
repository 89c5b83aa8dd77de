"""The dispatcher worker acknowledges in batches (synnefo.dispatcher.consumer): one
multiple ack per ACK_BATCH messages done, the rest when asked (the worker asks once no
message followed within ACK_DELAY, and before it stops); never a message not yet
applied. Messages that cannot be applied here are dropped, which settles them as done
just like an applied one, so no database row is needed."""

import pytest
from support.amqp import FakeChannel, FakeMessage

from synnefo.common.daemon import Stop
from synnefo.dispatcher import consumer
from synnefo.dispatcher.consumer import ACK_BATCH, Worker

pytestmark = pytest.mark.django_db

NOT_OURS = {"type": "ganeti-op-status", "instance": "someone-else-1"}


def deliver(worker, channel, tags, body=NOT_OURS):
    for tag in tags:
        worker.on_message(FakeMessage(body, tag=tag, channel=channel))


def test_one_multiple_ack_per_batch_and_the_rest_on_flush():
    worker, channel = Worker(hosts=["amqp://unused"]), FakeChannel()
    deliver(worker, channel, range(1, ACK_BATCH))
    assert channel.acked == []  # a batch not full yet
    deliver(worker, channel, [ACK_BATCH])
    assert channel.multiple == [(ACK_BATCH, True)]
    deliver(worker, channel, [ACK_BATCH + 1, ACK_BATCH + 2])
    worker.flush_acks()
    worker.flush_acks()  # nothing left: no second ack
    assert channel.multiple == [(ACK_BATCH, True), (ACK_BATCH + 2, True)]
    assert worker.counts["dropped"] == ACK_BATCH + 2


def test_a_message_sent_back_is_never_in_a_batch(monkeypatch):
    def database_down(body):
        raise consumer.OperationalError("server closed the connection")

    monkeypatch.setattr(consumer.time, "sleep", lambda s: None)
    worker, channel = Worker(hosts=["amqp://unused"]), FakeChannel()
    deliver(worker, channel, [1, 2])
    monkeypatch.setattr(consumer.callbacks, "handle", database_down)
    deliver(worker, channel, [3], body={"type": "ganeti-op-status"})
    assert channel.rejected == [(3, True)]  # requeued at once, on its own
    assert channel.acked == []
    # the batch's multiple ack names the newest message *done*, not the requeued one
    worker.flush_acks()
    assert channel.multiple == [(2, True)]


def test_the_prefetch_leaves_room_for_a_whole_batch():
    # a worker waiting for a full batch must not be waiting for messages the broker
    # holds back until it acknowledges
    assert Worker(hosts=["amqp://unused"]).prefetch > ACK_BATCH


class LostBroker:
    def close(self):
        pass


def test_a_lost_connection_forgets_its_acks_and_the_stop_flushes_the_rest():
    worker, channel = Worker(hosts=["amqp://unused"]), FakeChannel()
    deliver(worker, channel, [1, 2])
    worker._forget_acks()  # what _run does when the broker is gone
    worker.flush_acks()
    assert channel.acked == []  # tags of a dead channel are never sent on a new one

    deliver(worker, channel, [3])
    worker.client = LostBroker()
    worker.stop()
    worker.run()  # stops at once, acknowledging what is done before it closes
    assert channel.multiple == [(3, True)]


def test_acks_that_cannot_be_sent_at_the_stop_are_left_to_the_broker():
    class DeadChannel(FakeChannel):
        def basic_ack(self, tag, multiple=False):
            raise ConnectionResetError("connection reset by peer")

    worker = Worker(hosts=["amqp://unused"])
    deliver(worker, DeadChannel(), [1])
    worker.client = LostBroker()
    worker.stop()
    assert worker.run() == 0


def test_a_stop_during_a_message_acknowledges_the_batch_before_it_takes_effect(
        monkeypatch):
    worker, channel = Worker(hosts=["amqp://unused"]), FakeChannel()
    deliver(worker, channel, [1, 2])

    def signalled_meanwhile(body):
        worker.stop()  # what SIGTERM's handler notes while a message is applied
        raise consumer.callbacks.MessageError("not ours")

    monkeypatch.setattr(consumer.callbacks, "handle", signalled_meanwhile)
    with pytest.raises(Stop):
        deliver(worker, channel, [3])
    assert channel.multiple == [(3, True)]
