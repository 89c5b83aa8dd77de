"""One-shot forwardings: a port that takes exactly one VNC client, checks its password
and relays it to a node's VNC server.

A forwarding listens (on every configured address) until its first client that is not
over the per-source rate arrives, or until the connect timeout; then the listeners are
closed, whatever happens next. The client must finish the RFB handshake within the same
timeout. Only after a correct password is the node contacted.
"""

import asyncio
import errno
import logging
import random
import time
from collections import defaultdict, deque

from synnefo.vncauthproxy import rfb, websocket

log = logging.getLogger(__name__)

RELAY_CHUNK = 64 * 1024
CONNECT_ATTEMPT = 2  # seconds per connection attempt to a node


class SourceRate:
    """At most ``count`` connections per source address within ``period`` seconds."""

    def __init__(self, count, period):
        self.count, self.period = count, period
        self.seen = defaultdict(deque)

    def allow(self, source, now=None):
        now = time.monotonic() if now is None else now
        times = self.seen[source]
        while times and times[0] <= now - self.period:
            times.popleft()
        if len(times) >= self.count:
            return False
        times.append(now)
        return True

    def forget_idle(self, now=None):
        now = time.monotonic() if now is None else now
        for source in [s for s, t in self.seen.items() if not t or t[-1] <= now - self.period]:
            del self.seen[source]


async def relay(reader, writer):
    """Copy ``reader`` to ``writer`` until EOF or an error."""
    try:
        while True:
            data = await reader.read(RELAY_CHUNK)
            if not data:
                break
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        close(writer)


def close(writer):
    try:
        writer.close()
    except Exception:  # already closed or the transport is gone
        pass


class Forwarding:
    """One request's forwarding; ``start()`` binds, ``done`` ends when it is over."""

    def __init__(self, proxy, port, destination, password, kind="vnc"):
        self.proxy = proxy
        self.port = port
        self.destination = destination  # (address, port)
        self.password = password
        self.kind = kind
        self.servers = []
        self.taken = False
        self.done = asyncio.get_running_loop().create_future()

    async def start(self):
        """Listen on ``self.port`` on every address; OSError (e.g. EADDRINUSE) if any
        bind fails, with nothing left bound."""
        try:
            for address in self.proxy.listen_addresses:
                self.servers.append(await asyncio.start_server(
                    self._client, address, self.port, reuse_address=True,
                    ssl=self.proxy.ssl_context if self.kind == "vnc-wss" else None))
        except BaseException:
            self._close_listeners()
            raise
        asyncio.get_running_loop().call_later(self.proxy.connect_timeout, self._timeout)

    def _close_listeners(self):
        for server in self.servers:
            server.close()
        self.servers = []

    def _finish(self):
        self._close_listeners()
        if not self.done.done():
            self.done.set_result(None)

    def _timeout(self):
        if not self.taken:
            log.info("forwarding %d: no client within %ss, closed", self.port,
                     self.proxy.connect_timeout)
            self._finish()

    async def _client(self, reader, writer):
        # (for vnc-wss the TLS handshake is done by now: asyncio's ssl server)
        peer = writer.get_extra_info("peername") or ("?", 0)
        if self.taken:
            close(writer)
            return
        if not self.proxy.source_rate.allow(peer[0]):
            log.warning("forwarding %d: %s is over the connection rate, refused",
                        self.port, peer[0])
            close(writer)
            return
        self.taken = True
        self._close_listeners()  # one-shot: nobody else gets in
        log.info("forwarding %d: client %s:%s", self.port, peer[0], peer[1])
        try:
            await self._serve(reader, writer, peer)
        except Exception as exc:  # a broken client or node ends only this forwarding
            log.info("forwarding %d: %s", self.port, exc)
        finally:
            close(writer)
            self._finish()

    async def _serve(self, reader, writer, peer):
        if self.kind in ("vnc-ws", "vnc-wss"):
            reader, writer = await asyncio.wait_for(websocket.accept(reader, writer),
                                                    self.proxy.connect_timeout)
        try:
            ok = await asyncio.wait_for(rfb.authenticate_client(reader, writer, self.password),
                                        self.proxy.connect_timeout)
        except asyncio.TimeoutError:
            raise rfb.RFBError("client %s did not finish the handshake in time" % peer[0])
        if not ok:
            log.warning("forwarding %d: client %s gave a wrong password", self.port, peer[0])
            return
        # One connection attempt at a time per node port: qemu listens with a backlog of
        # 1, and a burst of connects (many consoles at once) gets SYNs dropped that the
        # kernel only retries after 1, 3, 7... seconds.
        async with self.proxy.node_gate(self.destination):
            node_reader, node_writer = await self._connect_node()
            try:
                await asyncio.wait_for(rfb.connect_backend(node_reader, node_writer),
                                       self.proxy.backend_timeout)
            except Exception:
                close(node_writer)
                raise
        log.info("forwarding %d: relaying %s:%s <-> %s:%s", self.port, peer[0], peer[1],
                 *self.destination)
        await asyncio.gather(relay(reader, node_writer), relay(node_reader, writer))
        log.info("forwarding %d: closed", self.port)

    async def _connect_node(self):
        deadline = time.monotonic() + self.proxy.backend_timeout
        delay = 0.1
        while True:
            left = deadline - time.monotonic()
            try:
                # short attempts: a dropped SYN is retried by us, not after the
                # kernel's growing back-off
                return await asyncio.wait_for(asyncio.open_connection(*self.destination),
                                              max(min(left, CONNECT_ATTEMPT), 0.1))
            except (OSError, asyncio.TimeoutError) as exc:
                if time.monotonic() + delay >= deadline:
                    raise rfb.RFBError("cannot reach the VNC server %s:%s: %s"
                                       % (*self.destination, exc or "timeout")) from None
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)


def port_candidates(low, high, busy):
    """Ports of [low, high] not in ``busy``, in random order (a client cannot guess
    the next one)."""
    ports = [p for p in range(low, high + 1) if p not in busy]
    random.shuffle(ports)
    return ports


def is_port_taken(exc):
    return isinstance(exc, OSError) and exc.errno in (errno.EADDRINUSE, errno.EACCES)
