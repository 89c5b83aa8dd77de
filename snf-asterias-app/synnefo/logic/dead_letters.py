"""The dispatcher's dead-letter queues (<queue>-dl, where a message goes that the
dispatcher rejected): their depth, their messages, and sending them back or dropping
them -- what snf-manage queue-inspect/queue-retry do, for the admin interfaces."""

import json

from django.conf import settings

from synnefo.common.amqp_client import (
    BROKER_ERRORS,
    AMQPClient,
    AMQPError,
    Topology,
    describe_error,
)

from .errors import BackendUnavailable, NotFound

# A retried message carries this header; one that comes back again is a loop.
RETRY_HEADER = "from-dead-letter"


def topology():
    return Topology(settings.BACKEND_PREFIX_ID, exchange=settings.EXCHANGE_GANETI)


class _Broker:
    """A connection for one operation; broker failures become BackendUnavailable (503)."""

    def __init__(self, confirms=False):
        self.client = AMQPClient(settings.AMQP_HOSTS, confirms=confirms)

    def __enter__(self):
        try:
            self.client.connect()
        except AMQPError as exc:
            raise BackendUnavailable("The message broker is unreachable: %s" % exc) from None
        return self.client

    def __exit__(self, kind, exc, tb):
        self.client.close()
        if kind is not None and issubclass(kind, BROKER_ERRORS):
            raise BackendUnavailable("The message broker failed: %s"
                                     % describe_error(exc)) from None


def _check_queue(queue):
    if queue not in topology().queues:
        raise NotFound("%r is not an event queue of this deployment (%s)."
                       % (queue, ", ".join(sorted(topology().queues))))


def depths():
    """[{queue, messages, dead_letters}] of every event queue (None: not declared yet)."""
    out = []
    with _Broker() as client:
        for queue in topology().queues:
            counts = client.queue_counts(queue)
            dead = client.queue_counts(queue + "-dl")
            out.append({"queue": queue, "messages": counts[0] if counts else None,
                        "dead_letters": dead[0] if dead else None})
    return out


def total_depth():
    """Dead letters over all queues; None when the broker is unreachable."""
    try:
        return sum(row["dead_letters"] or 0 for row in depths())
    except BackendUnavailable:
        return None


def describe_message(position, delivery):
    """A message as the admin tools show it: its body (JSON decoded where it is), why and
    from where it was dead-lettered, its other headers."""
    body = delivery.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    try:
        body = json.loads(body)
    except ValueError:
        pass  # shown as text
    headers = dict(delivery.headers)
    info = {"position": position, "redelivered": delivery.redelivered,
            "routing_key": delivery.routing_key, "body": body,
            "retried": bool(headers.get(RETRY_HEADER))}
    deaths = headers.pop("x-death", None)
    if deaths:
        info["death"] = {k: _text(deaths[0].get(k)) for k in ("reason", "queue", "count")}
    info["headers"] = {k: _text(v) for k, v in headers.items()}
    return info


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def peek_messages(client, queue, count):
    """The first ``count`` messages of ``queue`` (which exists), all returned to it.

    Every message is held unsettled until the end (so the same one is not fetched
    twice) and then requeued; if anything goes wrong on the way, closing the
    connection returns them as well.
    """
    held, out = [], []
    try:
        for position in range(1, count + 1):
            delivery = client.get(queue)
            if delivery is None:
                break
            held.append(delivery)
            out.append(describe_message(position, delivery))
    finally:
        for delivery in held:
            delivery.requeue()
    return out


def peek(queue, count=20):
    """The first ``count`` dead letters of event queue ``queue``, left in place."""
    _check_queue(queue)
    with _Broker() as client:
        if client.queue_counts(queue + "-dl") is None:
            return []
        return peek_messages(client, queue + "-dl", count)


def _take_all(queue, handle):
    """Each dead letter of ``queue`` through ``handle(client, delivery)`` (True: sent
    back), then acked; -> (sent back, dropped)."""
    _check_queue(queue)
    done = {True: 0, False: 0}
    with _Broker(confirms=True) as client:
        client.declare_topology(topology(), settings.AMQP_QUEUE_TYPE)
        while True:
            delivery = client.get(queue + "-dl")
            if delivery is None:
                return done[True], done[False]
            done[bool(handle(client, delivery))] += 1
            delivery.ack()  # after the republish was confirmed


def retry(queue, keep_zombies=False, on_drop=lambda body: None):
    """Send every dead letter of ``queue`` back to it, marked with RETRY_HEADER; one that
    carries the mark already failed again after a retry (a loop) and is dropped, after
    ``on_drop(body)``, unless ``keep_zombies``. -> (retried, dropped)"""
    topo = topology()

    def handle(client, delivery):
        if delivery.headers.get(RETRY_HEADER) and not keep_zombies:
            on_drop(delivery.body)
            return False
        client.publish(topo.exchange, topo.queues[queue], delivery.body,
                       headers={RETRY_HEADER: True})
        return True
    return _take_all(queue, handle)


def drop(queue):
    """Discard every dead letter of ``queue``; how many."""
    return _take_all(queue, lambda client, delivery: False)[1]
