"""A small AMQP client over py-amqp: broker fail-over, confirmed persistent publishing,
deliveries that are acknowledged, rejected or requeued.

The only module that imports py-amqp. The rest of the code never sees the wire: it names
exchanges, queues and routing keys, hands over bytes or JSON-able objects, receives
``Delivery`` objects, and catches ``BROKER_ERRORS``.
"""

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import unquote, urlsplit

import amqp

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5
CONFIRM_TIMEOUT = 10
# How long close() waits for the broker's Close-Ok: a stalled broker must not hold a
# daemon that is stopping.
CLOSE_TIMEOUT = 2
# Exchange that receives what the dispatcher rejects (the "-dl" queues hang off it).
DEAD_LETTER_SUFFIX = "-dl"
# Connection-level failures: reconnect (to the next broker) and carry on.
CONNECTION_ERRORS = (OSError, socket.timeout, amqp.exceptions.ConnectionError,
                     amqp.exceptions.RecoverableConnectionError,
                     amqp.exceptions.IrrecoverableConnectionError)
# Anything the broker or the connection can raise during an operation: a consumer
# reconnects, a command reports it.
BROKER_ERRORS = CONNECTION_ERRORS + (amqp.exceptions.AMQPError,)


class AMQPError(Exception):
    """No broker could be reached or an operation failed; the message says which."""


def parse_url(url: str) -> dict[str, str]:
    """amqp://user:password@host:port/vhost -> dict of connection arguments."""
    parts = urlsplit(url)
    if parts.scheme != "amqp" or not parts.hostname:
        raise AMQPError("not an amqp://user:password@host:port/vhost URL: %s" % redact(url))
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return {"host": "%s:%d" % (parts.hostname, parts.port or 5672),
            "userid": unquote(parts.username or "guest"),
            "password": unquote(parts.password or "guest"),
            "virtual_host": vhost}


def describe_error(exc: BaseException) -> str:
    """A log-ready description: some socket and py-amqp errors have an empty str()."""
    text = str(exc).strip()
    return "%s: %s" % (type(exc).__name__, text) if text else type(exc).__name__


def redact(url: str) -> str:
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":%s@" % parts.password, ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class Delivery:
    """One message handed out by ``AMQPClient.consume`` or ``get``, not yet acknowledged.

    Exactly one of ``ack`` (done with it), ``reject`` (to the queue's dead-letter
    exchange) or ``requeue`` (back to the queue, delivered again) settles it; one left
    unsettled goes back to the queue when the connection closes.
    """

    def __init__(self, message: Any) -> None:
        self._channel = message.channel
        self.delivery_tag = message.delivery_tag
        self.body = message.body
        info = getattr(message, "delivery_info", None) or {}
        self.routing_key = info.get("routing_key")
        self.redelivered = bool(info.get("redelivered"))
        properties = getattr(message, "properties", None) or {}
        self.headers = dict(properties.get("application_headers") or {})

    def ack(self, multiple: bool = False) -> None:
        """Done with it; ``multiple``: with every earlier unsettled delivery of its
        channel too (one frame for a batch)."""
        self._channel.basic_ack(self.delivery_tag, multiple=multiple)

    def reject(self) -> None:
        self._channel.basic_reject(self.delivery_tag, requeue=False)

    def requeue(self) -> None:
        self._channel.basic_reject(self.delivery_tag, requeue=True)


class AMQPClient:
    """One connection and channel to the first reachable broker of ``hosts``."""

    def __init__(self, hosts: str | Iterable[str], confirms: bool = True, heartbeat: int = 0,
                 connect_timeout: float = CONNECT_TIMEOUT) -> None:
        if isinstance(hosts, str):
            hosts = [hosts]
        if not hosts:
            raise AMQPError("no AMQP broker configured (AMQP_HOSTS is empty)")
        self.hosts = list(hosts)
        self.confirms = confirms
        self.heartbeat = heartbeat
        self.connect_timeout = connect_timeout
        self.connection: Any = None  # amqp.Connection once connected
        self.channel: Any = None
        self.url: str | None = None

    def connect(self) -> "AMQPClient":
        errors = []
        # Start after the broker that was last in use, so a dead one is tried last.
        start = (self.hosts.index(self.url) + 1) % len(self.hosts) if self.url in self.hosts \
            else 0
        for url in self.hosts[start:] + self.hosts[:start]:
            try:
                # confirm_publish: basic_publish waits for the broker's ack (nack raises)
                conn = amqp.Connection(connect_timeout=self.connect_timeout,
                                       heartbeat=self.heartbeat,
                                       confirm_publish=self.confirms, **parse_url(url))
                conn.connect()
            except (OSError, socket.timeout, amqp.exceptions.AMQPError) as exc:
                errors.append("%s: %s" % (redact(url), describe_error(exc)))
                continue
            self.connection, self.url = conn, url
            self.channel = conn.channel()
            log.info("connected to AMQP broker %s", redact(url))
            return self
        raise AMQPError("cannot connect to any AMQP broker: " + "; ".join(errors))

    @property
    def connected(self) -> bool:
        return self.connection is not None and self.connection.connected

    def close(self) -> None:
        conn, self.connection, self.channel = self.connection, None, None
        if conn is not None:
            try:
                sock = getattr(conn.transport, "sock", None) if conn.connected else None
                if sock is not None:
                    sock.settimeout(CLOSE_TIMEOUT)
                conn.close()
            except Exception:  # closing a broken connection must not raise
                log.debug("error while closing AMQP connection", exc_info=True)

    def __enter__(self) -> "AMQPClient":
        if not self.connected:
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def declare_exchange(self, name: str, type: str = "topic") -> None:
        self.channel.exchange_declare(name, type, durable=True, auto_delete=False)

    def connect_retrying(self, should_stop: Callable[[], bool] = lambda: False,
                         max_delay: float = 30) -> bool:
        """Connect, retrying with a bounded back-off; False when told to stop first."""
        delay: float = 1
        while not should_stop():
            try:
                self.connect()
                return True
            except AMQPError as exc:
                log.warning("%s; retrying in %d s", exc, delay)
                end = time.monotonic() + delay
                while time.monotonic() < end and not should_stop():
                    time.sleep(0.2)
                delay = min(max_delay, delay * 2)
        return False

    def declare_queue(self, name: str, dead_letter_exchange: str | None = None,
                      arguments: dict[str, Any] | None = None,
                      queue_type: str | None = None) -> None:
        args = dict(arguments or {})
        if dead_letter_exchange:
            args["x-dead-letter-exchange"] = dead_letter_exchange
        if queue_type and queue_type != "classic":
            args["x-queue-type"] = queue_type  # quorum: replicated over the broker cluster
        self.channel.queue_declare(name, durable=True, exclusive=False, auto_delete=False,
                                   arguments=args or None)

    def bind_queue(self, queue: str, exchange: str, routing_key: str) -> None:
        self.channel.queue_bind(queue, exchange, routing_key)

    def publish(self, exchange: str, routing_key: str, body: Any,
                headers: dict[str, Any] | None = None) -> None:
        """Publish a persistent message; with confirms, returns once the broker has it.

        ``body`` may be bytes, str or any JSON-able object. A nack raises
        amqp.exceptions.MessageNacked; a lost connection raises one of
        CONNECTION_ERRORS: either way the message is not known to be stored.
        """
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        msg = amqp.Message(body, delivery_mode=2, content_type="application/json",
                           application_headers=headers or None)
        kw = {"confirm_timeout": CONFIRM_TIMEOUT} if self.confirms else {}
        self.channel.basic_publish(msg, exchange=exchange, routing_key=routing_key,
                                   mandatory=False, **kw)

    def declare_topology(self, topology: "Topology", queue_type: str = "quorum") -> None:
        """Exchanges, queues, dead-letter twins and bindings of ``topology``."""
        self.declare_exchange(topology.exchange)
        self.declare_exchange(topology.dead_letter_exchange)
        for queue, key in topology.queues.items():
            self.declare_queue(queue, dead_letter_exchange=topology.dead_letter_exchange,
                               queue_type=queue_type)
            self.bind_queue(queue, topology.exchange, key)
            self.declare_queue(queue + DEAD_LETTER_SUFFIX, queue_type=queue_type)
            self.bind_queue(queue + DEAD_LETTER_SUFFIX, topology.dead_letter_exchange, key)

    def consume(self, queues: str | Iterable[str],
                callback: Callable[["Delivery"], None], prefetch: int = 5) -> None:
        """Hand the messages of ``queues`` (a name or several) to ``callback(delivery)``,
        which settles each ``Delivery``; at most ``prefetch`` unsettled ones at a time
        per queue (RabbitMQ applies a non-global prefetch to each consumer). They
        arrive while ``drain`` waits."""
        self.channel.basic_qos(0, prefetch, False)
        for queue in [queues] if isinstance(queues, str) else queues:
            self.channel.basic_consume(queue, callback=lambda m: callback(Delivery(m)),
                                       no_ack=False)

    def drain(self, timeout: float = 1.0) -> bool:
        """Wait up to ``timeout`` s for deliveries and keep the heartbeat going; False
        when nothing arrived."""
        try:
            self.connection.drain_events(timeout=timeout)
            arrived = True
        except socket.timeout:
            arrived = False
        self.connection.heartbeat_tick()  # raises when the broker's heartbeats stopped
        return arrived

    def get(self, queue: str) -> "Delivery | None":
        """The first message of ``queue`` as a ``Delivery`` to settle, or None when
        the queue is empty."""
        message = self.channel.basic_get(queue, no_ack=False)
        return Delivery(message) if message is not None else None

    def queue_counts(self, queue: str) -> tuple[int, int] | None:
        """(messages ready, consumers) of ``queue``, or None when it does not exist.
        Declares nothing (a passive declare)."""
        try:
            _, messages, consumers = self.channel.queue_declare(queue, passive=True)
        except amqp.exceptions.NotFound:
            # the broker closed the channel (404): carry on with a new one
            self.channel = self.connection.channel()
            return None
        return messages, consumers


class Topology:
    """Names of the Ganeti event exchange, routing keys and queues of one deployment.

    The deployment prefix is BACKEND_PREFIX_ID without its dash ("snf-" -> "snf"), so
    several deployments can share one broker: keys ganeti.<p>.event.op|net|progress|network,
    queues <p>-events-op|net|progress|network, each with a <queue>-dl dead-letter twin.
    ("net" carries the hook's NIC reports of instances; "network" the status of
    Ganeti network jobs, OP_NETWORK_*.)
    """

    KINDS = ("op", "net", "progress", "network")

    def __init__(self, backend_prefix_id: str, exchange: str = "ganeti") -> None:
        self.prefix = backend_prefix_id.rstrip("-")
        self.exchange = exchange
        self.dead_letter_exchange = exchange + DEAD_LETTER_SUFFIX
        self.routing_keys = {k: "ganeti.%s.event.%s" % (self.prefix, k) for k in self.KINDS}
        self.queue_names = {k: "%s-events-%s" % (self.prefix, k) for k in self.KINDS}
        self.queues = {self.queue_names[k]: self.routing_keys[k] for k in self.KINDS}

    def dead_letter_queues(self) -> list[str]:
        return [q + DEAD_LETTER_SUFFIX for q in self.queues]


class Spool:
    """Messages waiting for a broker's confirm, one file each, oldest first.

    A file is written to a temporary name and renamed, so a reader never sees half a
    message; names sort by creation time. Several processes (eventd, the hook, the
    progress monitor) may add to one spool; one sender removes what it published.
    """

    def __init__(self, directory: str) -> None:
        self.directory = directory
        os.makedirs(directory, mode=0o750, exist_ok=True)

    def add(self, exchange: str, routing_key: str, body: Any) -> str:
        name = "%020d-%d-%s.msg" % (time.time_ns(), os.getpid(), uuid.uuid4().hex[:8])
        tmp = os.path.join(self.directory, "." + name + ".tmp")
        record = {"exchange": exchange, "routing_key": routing_key, "body": body}
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
            f.flush()
            os.fsync(f.fileno())
        os.rename(tmp, os.path.join(self.directory, name))
        return name

    def pending(self) -> list[str]:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return []
        return sorted(n for n in names if n.endswith(".msg") and not n.startswith("."))

    def read(self, name: str) -> dict[str, Any]:
        with open(os.path.join(self.directory, name), encoding="utf-8") as f:
            return json.load(f)

    def remove(self, name: str) -> None:
        try:
            os.unlink(os.path.join(self.directory, name))
        except FileNotFoundError:
            pass

    def __len__(self) -> int:
        return len(self.pending())


class SpoolingPublisher:
    """Publish persistent, confirmed messages; what is not confirmed waits in a spool.

    ``publish`` never raises for a broker problem: the message is written to the spool
    first and removed only after the broker confirmed it, so a crash or an outage at
    any point loses nothing (a message may be sent twice; consumers are idempotent).
    ``flush`` re-sends the spool in order; call it again after a failure.
    """

    def __init__(self, hosts: str | Iterable[str], spool_dir: str,
                 topology: Topology | None = None, queue_type: str = "quorum",
                 connect_timeout: float = CONNECT_TIMEOUT, retry_delay: float = 1.0,
                 max_retry_delay: float = 30.0) -> None:
        self.client = AMQPClient(hosts, confirms=True, connect_timeout=connect_timeout)
        self.spool = Spool(spool_dir)
        self.topology = topology
        self.queue_type = queue_type
        self.retry_delay = retry_delay
        self.max_retry_delay = max_retry_delay
        self._delay = retry_delay
        self.next_attempt = 0.0  # monotonic time before which flush does not reconnect
        self._declared = False

    def publish(self, exchange: str, routing_key: str, body: Any) -> bool:
        self.spool.add(exchange, routing_key, body)
        return self.flush()

    def _ensure_connected(self) -> None:
        if self.client.connected:
            return
        self.client.connect()
        if self.topology is not None:
            # Queues exist before the first message: an unroutable message would be
            # confirmed by the broker and then dropped.
            self.client.declare_topology(self.topology, self.queue_type)
        log.info("AMQP publisher connected; %d spooled message(s) to send", len(self.spool))

    def flush(self, force: bool = False) -> bool:
        """Send every spooled message; True when the spool is empty afterwards."""
        if not force and time.monotonic() < self.next_attempt:
            return False
        try:
            self._ensure_connected()
            for name in self.spool.pending():
                try:
                    record = self.spool.read(name)
                except FileNotFoundError:
                    continue  # another sender (eventd, a hook) took it meanwhile
                except (OSError, ValueError) as exc:
                    log.error("dropping unreadable spool file %s: %s", name, exc)
                    self.spool.remove(name)
                    continue
                self.client.publish(record["exchange"], record["routing_key"],
                                    record["body"])
                self.spool.remove(name)
        except (AMQPError, amqp.exceptions.AMQPError,
                amqp.exceptions.MessageNacked) + CONNECTION_ERRORS as exc:
            self.client.close()
            self.next_attempt = time.monotonic() + self._delay
            log.warning("AMQP publish failed (%s); %d message(s) kept in spool %s, "
                        "retrying in %.1f s", describe_error(exc), len(self.spool),
                        self.spool.directory, self._delay)
            self._delay = min(self.max_retry_delay, self._delay * 2)
            return False
        self._delay = self.retry_delay
        self.next_attempt = 0.0
        return True

    def close(self) -> None:
        self.client.close()
