"""The server side of RFC 6455 WebSockets, enough for noVNC: the HTTP upgrade, binary
frames both ways, ping/pong and close. ``accept`` turns an accepted connection into a
(reader, writer) pair with the stream interface the RFB code and the relay use, so a
vnc-ws forwarding is a vnc forwarding over frames."""

import asyncio
import base64
import hashlib
import struct

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
MAX_HEADER = 8192
MAX_FRAME = 16 * 1024 * 1024
OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10


class WebSocketError(Exception):
    pass


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode("ascii") + GUID).digest()).decode()


def parse_request(data):
    """(method, path, {lower-case header: value}) of an HTTP request head."""
    lines = data.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise WebSocketError("not an HTTP request")
    headers = {}
    for line in lines[1:]:
        if line:
            name, sep, value = line.partition(":")
            if not sep:
                raise WebSocketError("bad header line")
            headers[name.strip().lower()] = value.strip()
    return parts[0], parts[1], headers


async def accept(reader, writer):
    """Answer the upgrade on ``reader``/``writer``; -> (WSReader, WSWriter). A request
    that is no WebSocket upgrade gets 400 and WebSocketError."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        raise WebSocketError("no HTTP request head") from exc
    if len(head) > MAX_HEADER:
        raise WebSocketError("request head too large")
    try:
        method, _, headers = parse_request(head)
        if method != "GET" or "websocket" not in headers.get("upgrade", "").lower() \
                or "sec-websocket-key" not in headers:
            raise WebSocketError("not a WebSocket upgrade request")
        if headers.get("sec-websocket-version") != "13":
            raise WebSocketError("WebSocket version %r, not 13"
                                 % headers.get("sec-websocket-version"))
    except WebSocketError:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                     b"Connection: close\r\n\r\n")
        await writer.drain()
        raise
    lines = ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket",
             "Connection: Upgrade",
             "Sec-WebSocket-Accept: " + accept_key(headers["sec-websocket-key"])]
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")
               if p.strip()]
    if offered:  # noVNC offers "binary"; we only ever send binary frames
        lines.append("Sec-WebSocket-Protocol: "
                     + ("binary" if "binary" in offered else offered[0]))
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    ws_writer = WSWriter(writer)
    return WSReader(reader, ws_writer), ws_writer


def frame(opcode, payload):
    """An unmasked (server-to-client) final frame."""
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", 0x80 | opcode, n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


def unmask(data, mask):
    """``data`` XOR the repeated 4-byte ``mask`` (as one big integer: a loop over the
    bytes in Python would be the relay's bottleneck)."""
    n = len(data)
    if not n:
        return b""
    key = (mask * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(n, "big")


class WSWriter:
    def __init__(self, writer):
        self.writer = writer
        self.closed = False

    def write(self, data):
        if data:
            self.writer.write(frame(OP_BINARY, bytes(data)))

    async def drain(self):
        await self.writer.drain()

    def control(self, opcode, payload=b""):
        if not self.closed:
            self.writer.write(frame(opcode, payload))

    def close(self):
        if not self.closed:
            try:
                self.writer.write(frame(OP_CLOSE, struct.pack("!H", 1000)))
            except Exception:  # the transport is already gone
                pass
            self.closed = True
        self.writer.close()

    def get_extra_info(self, name, default=None):
        return self.writer.get_extra_info(name, default)


class WSReader:
    """Stream reads over the client's (masked) data frames."""

    def __init__(self, reader, ws_writer):
        self.reader = reader
        self.ws_writer = ws_writer
        self.buffer = bytearray()
        self.eof = False

    async def _frame(self):
        """Next data payload into the buffer; False at a close or the end."""
        while True:
            try:
                b0, b1 = await self.reader.readexactly(2)
                n = b1 & 0x7F
                if n == 126:
                    (n,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif n == 127:
                    (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
                if not b1 & 0x80:
                    raise WebSocketError("client frame not masked")
                if n > MAX_FRAME:
                    raise WebSocketError("frame of %d bytes" % n)
                mask = await self.reader.readexactly(4)
                payload = unmask(await self.reader.readexactly(n), mask)
            except (asyncio.IncompleteReadError, ConnectionError):
                return False
            opcode = b0 & 0x0F
            if opcode in (OP_BINARY, OP_CONT, OP_TEXT):
                # (text frames: only old base64 noVNC used them; treated as bytes)
                self.buffer += payload
                return True
            if opcode == OP_CLOSE:
                return False
            if opcode == OP_PING:
                self.ws_writer.control(OP_PONG, bytes(payload))

    async def read(self, n=-1):
        while not self.buffer and not self.eof:
            if not await self._frame():
                self.eof = True
        data = bytes(self.buffer[:n] if n >= 0 else self.buffer)
        del self.buffer[:len(data)]
        return data

    async def readexactly(self, n):
        while len(self.buffer) < n:
            if self.eof or not await self._frame():
                self.eof = True
                raise asyncio.IncompleteReadError(bytes(self.buffer), n)
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data
