"""One dispatcher worker: consume the Ganeti event queues and apply them to the DB.

decode -> synnefo.logic.callbacks (network job status, routing key
ganeti.<p>.event.network: synnefo.logic.network_callbacks) -> ack / reject. The rules:
* ack only after the DB transaction committed (the callbacks commit before returning),
  in batches: ACK_BATCH messages at a time with one multiple ack, or as soon as no
  message followed within ACK_DELAY. An ack per message cost the broker and the worker
  as much as the transaction; until its batch is acknowledged a message applied is
  still the broker's, and one a lost connection gives back is delivered again and
  changes nothing (the callbacks' rules make duplicates harmless);
* malformed, foreign or unknown messages: ack and log (they must never jam a queue);
* one persistent DB connection per worker (DISPATCHER_CONN_MAX_AGE, see
  use_persistent_db_connections): a new connection per message costs more than the
  transaction itself;
* a lost DB connection (server restarted, network): the message goes back to the queue
  (nack with requeue) and the connection is reopened for the next one;
* anything unexpected: reject without requeue, so the queue's dead-letter exchange
  parks it in <queue>-dl for `snf-manage queue-retry`;
* a lost broker: reconnect (next broker of AMQP_HOSTS first) with a bounded back-off;
* SIGTERM (``stop``, a daemon.StopRequest): while a message is being applied, finish it
  (commit and ack) and then stop; anywhere else (connecting, waiting for messages) stop
  at once: unacknowledged messages go back to the queue when the connection closes.
"""

import json
import logging
import time

from django.conf import settings
from django.db import close_old_connections, connection, connections
from django.db.utils import InterfaceError, OperationalError

from synnefo.common.amqp_client import BROKER_ERRORS, AMQPClient, Topology
from synnefo.common.daemon import Stop, StopRequest
from synnefo.logic import callbacks, network_callbacks

log = logging.getLogger("snf-dispatcher")

DB_ERRORS = (OperationalError, InterfaceError)

ACK_BATCH = 10
ACK_DELAY = 0.01  # seconds


_FROM_SETTINGS = object()


def use_persistent_db_connections(max_age=_FROM_SETTINGS):
    """Keep the worker's DB connections open across messages.

    Django closes a connection at the end of a "request" (close_old_connections) once
    it is older than the database's CONN_MAX_AGE; the web settings keep Django's
    default 0, which for the dispatcher means a new PostgreSQL connection (backend fork,
    authentication) for every message. The dispatcher uses DISPATCHER_CONN_MAX_AGE
    instead (seconds; None = no age limit; 0 = a connection per message). A connection
    the server dropped is still replaced: the first query on it fails, the message is
    requeued and the connection closed (on_message), and close_old_connections drops a
    connection that had errors and is no longer usable.
    """
    if max_age is _FROM_SETTINGS:
        max_age = settings.DISPATCHER_CONN_MAX_AGE
    for alias in connections:
        connections.settings[alias]["CONN_MAX_AGE"] = max_age
        # the wrapper of this thread may already hold its own copy of the options
        connections[alias].settings_dict["CONN_MAX_AGE"] = max_age
    return max_age


def topology():
    return Topology(settings.BACKEND_PREFIX_ID,
                    exchange=settings.EXCHANGE_GANETI)


class Worker:
    # Each consumer may hold more unacknowledged messages than a batch: a worker
    # waiting for a full batch must never be waiting for messages the broker holds back.
    def __init__(self, hosts=None, prefetch=2 * ACK_BATCH, queue_type=None, stop=None):
        self.hosts = hosts or settings.AMQP_HOSTS
        self.prefetch = prefetch
        self.queue_type = queue_type or settings.AMQP_QUEUE_TYPE
        self.topology = topology()
        # Ganeti network job status goes to the network handlers; every other key to
        # the server callbacks. Both raise callbacks.MessageError for "ack and log".
        self.handlers = {self.topology.routing_keys["network"]: network_callbacks.handle}
        self.client = None
        self.stop_request = stop or StopRequest()
        self.counts = {"applied": 0, "dropped": 0, "dead": 0, "requeued": 0}
        self._unacked = None  # the newest settled-as-done delivery not yet acknowledged
        self._unacked_count = 0

    # -- one message ----------------------------------------------------------------
    def on_message(self, delivery):
        with self.stop_request.deferred():
            self._apply(delivery)
            if self.stop_request.requested:
                # Stopping: acknowledge what is done now, while the connection is
                # whole (the Stop raised at the end of this block unwinds the AMQP
                # client's frame handling).
                self.flush_acks()

    def _apply(self, delivery):
        close_old_connections()  # drop a connection the DB server closed meanwhile
        try:
            body = json.loads(delivery.body)
        except (ValueError, UnicodeDecodeError):
            log.warning("dropping message that is not JSON: %r", delivery.body[:200])
            self.counts["dropped"] += 1
            self._done(delivery)
            return
        handler = self.handlers.get(delivery.routing_key, callbacks.handle)
        try:
            handler(body)
        except callbacks.MessageError as exc:
            log.info("dropping %s message: %s", body.get("type") if isinstance(body, dict)
                     else "malformed", exc)
            self.counts["dropped"] += 1
            self._done(delivery)
            return
        except DB_ERRORS as exc:
            log.error("database unavailable (%s); message returned to the queue", exc)
            self._reset_db()
            self.counts["requeued"] += 1
            delivery.requeue()
            time.sleep(1)  # give the database a moment before the redelivery
            return
        except Exception:
            log.exception("unexpected error applying %s; message sent to the dead-letter "
                          "queue", body.get("type") if isinstance(body, dict) else "message")
            self.counts["dead"] += 1
            delivery.reject()
            return
        self.counts["applied"] += 1
        self._done(delivery)

    def _done(self, delivery):
        self._unacked = delivery
        self._unacked_count += 1
        if self._unacked_count >= ACK_BATCH:
            self.flush_acks()

    def flush_acks(self):
        """Acknowledge every message applied (or dropped) so far."""
        if self._unacked is not None:
            delivery, self._unacked, self._unacked_count = self._unacked, None, 0
            delivery.ack(multiple=True)

    def _forget_acks(self):
        """The connection is gone: the broker gives the unacknowledged messages back."""
        self._unacked, self._unacked_count = None, 0

    @staticmethod
    def _reset_db():
        try:
            connection.close()
        except Exception:
            pass

    # -- the loop ---------------------------------------------------------------------
    def _connect(self):
        self.client = AMQPClient(self.hosts, confirms=False, heartbeat=30)
        if not self.client.connect_retrying(lambda: self.stop_request.requested):
            return False
        self.client.declare_topology(self.topology, self.queue_type)
        self.client.consume(list(self.topology.queues), self.on_message, self.prefetch)
        log.info("consuming %s", ", ".join(sorted(self.topology.queues)))
        return True

    def run(self):
        try:
            self._run()
        except Stop:
            pass
        finally:
            if self.client is not None:
                try:
                    self.flush_acks()
                except BROKER_ERRORS:
                    pass  # they come back and are applied again, changing nothing
                self.client.close()
        log.info("worker stopped")
        return 0

    def _run(self):
        while not self.stop_request.requested:
            try:
                if not self._connect():
                    return
                while not self.stop_request.requested:
                    wait = ACK_DELAY if self._unacked is not None else 1.0
                    if not self.client.drain(timeout=wait):
                        with self.stop_request.deferred():  # no Stop amid the write
                            self.flush_acks()
            except BROKER_ERRORS as exc:
                log.warning("lost the AMQP broker (%s); reconnecting",
                            exc or type(exc).__name__)
                self._forget_acks()
                self.client.close()
                time.sleep(1)

    def stop(self):
        """Stop after the current message (for callers without signals, e.g. tests)."""
        self.stop_request.requested = True
