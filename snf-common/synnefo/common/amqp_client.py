"""A small AMQP client over py-amqp: broker fail-over, confirmed persistent publishing.

The rest of the code never sees the wire: it names exchanges, queues and routing keys,
and hands over bytes or JSON-able objects.
"""

import json
import logging
import socket
from urllib.parse import unquote, urlsplit

import amqp

log = logging.getLogger(__name__)

CONNECT_TIMEOUT = 5


class AMQPError(Exception):
    """No broker could be reached or an operation failed; the message says which."""


def parse_url(url):
    """amqp://user:password@host:port/vhost -> dict of connection arguments."""
    parts = urlsplit(url)
    if parts.scheme != "amqp" or not parts.hostname:
        raise AMQPError("not an amqp://user:password@host:port/vhost URL: %s" % redact(url))
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return {"host": "%s:%d" % (parts.hostname, parts.port or 5672),
            "userid": unquote(parts.username or "guest"),
            "password": unquote(parts.password or "guest"),
            "virtual_host": vhost}


def redact(url):
    """The URL without its password, for logs and error messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(":%s@" % parts.password, ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


class AMQPClient:
    """One connection and channel to the first reachable broker of ``hosts``."""

    def __init__(self, hosts, confirms=True, heartbeat=0):
        if isinstance(hosts, str):
            hosts = [hosts]
        if not hosts:
            raise AMQPError("no AMQP broker configured (AMQP_HOSTS is empty)")
        self.hosts = list(hosts)
        self.confirms = confirms
        self.heartbeat = heartbeat
        self.connection = None
        self.channel = None
        self.url = None

    def connect(self):
        errors = []
        for url in self.hosts:
            try:
                conn = amqp.Connection(connect_timeout=CONNECT_TIMEOUT,
                                       heartbeat=self.heartbeat, **parse_url(url))
                conn.connect()
            except (OSError, socket.timeout, amqp.exceptions.AMQPError) as exc:
                errors.append("%s: %s" % (redact(url), exc or type(exc).__name__))
                continue
            self.connection, self.url = conn, url
            self.channel = conn.channel()
            if self.confirms:
                self.channel.confirm_select()
            log.debug("connected to AMQP broker %s", redact(url))
            return self
        raise AMQPError("cannot connect to any AMQP broker: " + "; ".join(errors))

    @property
    def connected(self):
        return self.connection is not None and self.connection.connected

    def close(self):
        conn, self.connection, self.channel = self.connection, None, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # closing a broken connection must not raise
                log.debug("error while closing AMQP connection", exc_info=True)

    def __enter__(self):
        if not self.connected:
            self.connect()
        return self

    def __exit__(self, *exc):
        self.close()

    def declare_exchange(self, name, type="topic"):
        self.channel.exchange_declare(name, type, durable=True, auto_delete=False)

    def declare_queue(self, name, dead_letter_exchange=None, arguments=None):
        args = dict(arguments or {})
        if dead_letter_exchange:
            args["x-dead-letter-exchange"] = dead_letter_exchange
        self.channel.queue_declare(name, durable=True, exclusive=False, auto_delete=False,
                                   arguments=args or None)

    def bind_queue(self, queue, exchange, routing_key):
        self.channel.queue_bind(queue, exchange, routing_key)

    def publish(self, exchange, routing_key, body, headers=None):
        """Publish a persistent message; with confirms, returns once the broker has it.

        ``body`` may be bytes, str or any JSON-able object.
        """
        if not isinstance(body, (bytes, str)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode("utf-8")
        msg = amqp.Message(body, delivery_mode=2, content_type="application/json",
                           application_headers=headers or None)
        self.channel.basic_publish(msg, exchange=exchange, routing_key=routing_key,
                                   mandatory=False)
