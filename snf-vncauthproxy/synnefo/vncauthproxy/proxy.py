"""The proxy: the control socket and the forwardings it opens.

Control protocol (vncauthproxy's, one request per connection): the client sends one JSON
object (optionally ending in a newline, or followed by a shutdown of its write side)::

    {"source_port": 0, "destination_address": "node1", "destination_port": 11000,
     "password": "secret", "type": "vnc", "auth_user": "u", "auth_password": "p"}

and gets one JSON line back, ``{"status": "OK", "source_port": 25123}`` or
``{"status": "FAILED", "reason": "..."}``. ``source_port`` 0 lets the proxy pick a free
port of its range. ``auth_*`` are required (and checked against the users file) on a
TCP control socket only; a UNIX socket is protected by its file permissions.
"""

import asyncio
import json
import logging
import os
import ssl

from synnefo.vncauthproxy.forwarding import (
    Forwarding,
    SourceRate,
    close,
    is_port_taken,
    port_candidates,
)
from synnefo.vncauthproxy.users import check_password, load_users

log = logging.getLogger(__name__)

MAX_REQUEST = 64 * 1024
REQUEST_TIMEOUT = 10
TYPES = ("vnc", "vnc-ws", "vnc-wss")


class ConfigError(Exception):
    pass


class RequestError(Exception):
    """A request the proxy refuses; the message is the reply's reason."""


def parse_control(spec):
    """("unix", path) or ("tcp", host, port) from a VNCAUTHPROXY_CONTROL value."""
    kind, sep, rest = str(spec).partition(":")
    if sep and kind == "unix" and rest.startswith("/"):
        return ("unix", rest)
    if sep and kind == "tcp":
        host, sep, port = rest.rpartition(":")
        if sep and host and port.isdigit():
            return ("tcp", host.strip("[]"), int(port))
    raise ConfigError("VNCAUTHPROXY_CONTROL must be unix:/path or tcp:HOST:PORT, got %r"
                      % (spec,))


def validate_request(req):
    """The request's fields, checked; RequestError says what is wrong."""
    if not isinstance(req, dict):
        raise RequestError("the request must be a JSON object")

    def integer(name, low, high, default=None):
        value = req.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise RequestError("%s must be an integer from %d to %d" % (name, low, high))
        return value

    address = req.get("destination_address")
    if not isinstance(address, str) or not address or len(address) > 255:
        raise RequestError("destination_address must be a host name or address")
    password = req.get("password")
    if not isinstance(password, str) or not password:
        raise RequestError("password must be a non-empty string")
    kind = req.get("type", "vnc")
    if kind not in TYPES:
        raise RequestError("type must be one of %s" % ", ".join(TYPES))
    return {"source_port": integer("source_port", 0, 65535, 0),
            "destination": (address, integer("destination_port", 1, 65535)),
            "password": password, "type": kind}


class Proxy:
    def __init__(self, settings):
        s = settings
        self.control = parse_control(s["VNCAUTHPROXY_CONTROL"])
        self.control_mode = s["VNCAUTHPROXY_CONTROL_MODE"]
        self.users_file = s["VNCAUTHPROXY_USERS_FILE"]
        self.listen_addresses = list(s["VNCAUTHPROXY_LISTEN_ADDRESSES"])
        self.port_range = tuple(s["VNCAUTHPROXY_PORT_RANGE"])
        self.connect_timeout = s["VNCAUTHPROXY_CONNECT_TIMEOUT"]
        self.backend_timeout = s["VNCAUTHPROXY_BACKEND_TIMEOUT"]
        self.max_forwardings = s["VNCAUTHPROXY_MAX_FORWARDINGS"]
        self.source_rate = SourceRate(*s["VNCAUTHPROXY_SOURCE_RATE"])
        self.cert_file = s["VNCAUTHPROXY_CERT_FILE"]
        self.key_file = s["VNCAUTHPROXY_KEY_FILE"]
        if not self.listen_addresses:
            raise ConfigError("VNCAUTHPROXY_LISTEN_ADDRESSES is empty")
        low, high = self.port_range
        if not 1 <= low <= high <= 65535:
            raise ConfigError("VNCAUTHPROXY_PORT_RANGE %r is not a (low, high) port range"
                              % (self.port_range,))
        self.users = None
        self.ssl_context = None
        self.reload()
        self.forwardings = {}  # port -> Forwarding
        self.control_server = None
        self.node_gates = {}  # (address, port) -> asyncio.Lock

    def node_gate(self, destination):
        """The lock serialising connection attempts to one node VNC port."""
        gate = self.node_gates.get(destination)
        if gate is None:
            gate = self.node_gates[destination] = asyncio.Lock()
        return gate

    def reload(self):
        """(Re)read the users file and the certificate: SIGHUP. Forwardings continue."""
        if self.control[0] == "tcp":
            self.users = load_users(self.users_file)
        if self.cert_file:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert_file, self.key_file)
            self.ssl_context = context
        self.source_rate.forget_idle()

    # -- the control socket ------------------------------------------------------------
    async def start(self):
        if self.control[0] == "unix":
            path = self.control[1]
            if os.path.exists(path):
                os.unlink(path)  # left by a killed daemon; the pid file guards a live one
            old = os.umask(0o777 & ~self.control_mode)
            try:
                self.control_server = await asyncio.start_unix_server(self._control, path)
            finally:
                os.umask(old)
            os.chmod(path, self.control_mode)
        else:
            self.control_server = await asyncio.start_server(
                self._control, self.control[1], self.control[2], reuse_address=True)
        log.info("control socket %s, forwarding ports %d-%d on %s",
                 ":".join(map(str, self.control)), *self.port_range,
                 ", ".join(self.listen_addresses))

    async def stop(self):
        if self.control_server is not None:
            self.control_server.close()
            if self.control[0] == "unix":
                try:
                    os.unlink(self.control[1])
                except OSError:
                    pass
        for forwarding in list(self.forwardings.values()):
            forwarding._finish()

    async def _control(self, reader, writer):
        try:
            reply = await self._answer(reader)
        except Exception:  # never let one request take the daemon down
            log.exception("control request failed")
            reply = {"status": "FAILED", "reason": "internal error"}
        try:
            writer.write(json.dumps(reply).encode() + b"\n")
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        close(writer)

    async def _answer(self, reader):
        try:
            raw = await asyncio.wait_for(self._read_request(reader), REQUEST_TIMEOUT)
        except asyncio.TimeoutError:
            return _failed("no complete request within %d seconds" % REQUEST_TIMEOUT)
        except RequestError as exc:
            return _failed(str(exc))
        try:
            req = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            log.warning("control: malformed request (not JSON)")
            return _failed("malformed request: not JSON")
        if self.control[0] == "tcp":
            if not isinstance(req, dict) or "auth_user" not in req:
                log.warning("control: unauthenticated request refused")
                return _failed("authentication required (auth_user, auth_password)")
            if not check_password(self.users, req.get("auth_user"), req.get("auth_password")):
                log.warning("control: authentication failed for %r", req.get("auth_user"))
                return _failed("authentication failed")
        try:
            request = validate_request(req)
            port = await self.open_forwarding(request)
        except RequestError as exc:
            log.warning("control: request refused: %s", exc)
            return _failed(str(exc))
        log.info("forwarding %d -> %s:%s (%s) opened", port, *request["destination"],
                 request["type"])
        return {"status": "OK", "source_port": port}

    async def _read_request(self, reader):
        data = b""
        while b"\n" not in data:
            chunk = await reader.read(4096)
            if not chunk:
                break
            data += chunk
            if len(data) > MAX_REQUEST:
                raise RequestError("request larger than %d bytes" % MAX_REQUEST)
        return data.split(b"\n", 1)[0]

    # -- forwardings ---------------------------------------------------------------------
    async def open_forwarding(self, request):
        if len(self.forwardings) >= self.max_forwardings:
            raise RequestError("too many forwardings open (%d)" % self.max_forwardings)
        if request["type"] == "vnc-wss" and self.ssl_context is None:
            raise RequestError("vnc-wss needs VNCAUTHPROXY_CERT_FILE")
        low, high = self.port_range
        if request["source_port"]:
            if not low <= request["source_port"] <= high:
                raise RequestError("source_port must be 0 or in %d-%d" % (low, high))
            candidates = [request["source_port"]]
        else:
            candidates = port_candidates(low, high, self.forwardings)
        for port in candidates:
            if port in self.forwardings:
                continue
            forwarding = Forwarding(self, port, request["destination"], request["password"],
                                    request["type"])
            try:
                await forwarding.start()
            except OSError as exc:
                if is_port_taken(exc):
                    continue  # another program has it: try the next one
                log.error("cannot listen on port %d: %s", port, exc)
                raise RequestError("cannot listen on port %d" % port) from None
            self.forwardings[port] = forwarding
            forwarding.done.add_done_callback(lambda _f, p=port: self.forwardings.pop(p, None))
            return port
        raise RequestError("no free port in %d-%d" % (low, high))


def _failed(reason):
    return {"status": "FAILED", "reason": reason}
