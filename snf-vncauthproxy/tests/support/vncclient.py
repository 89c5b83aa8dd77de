"""A small synchronous RFB 3.8 client for the tests: VNC authentication, ClientInit,
raw framebuffer updates (enough to take a screenshot of a qemu console) and key
presses; directly or over a WebSocket (as noVNC connects), optionally with TLS."""

import base64
import os
import socket
import struct
import time

from synnefo.vncauthproxy.rfb import vnc_response


class AuthFailed(Exception):
    pass


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed after %d of %d bytes" % (len(data), n))
        data += chunk
    return data


class WSSocket:
    """sendall/recv over WebSocket binary frames (client side: masked frames)."""

    def __init__(self, sock, host, path="/", protocols=("binary",)):
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        head = ["GET %s HTTP/1.1" % path, "Host: %s" % host, "Upgrade: websocket",
                "Connection: Upgrade", "Sec-WebSocket-Key: " + key,
                "Sec-WebSocket-Version: 13"]
        if protocols:
            head.append("Sec-WebSocket-Protocol: " + ", ".join(protocols))
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
        reply = b""
        while b"\r\n\r\n" not in reply:
            chunk = sock.recv(1)
            if not chunk:
                raise ConnectionError("closed during the WebSocket handshake: %r" % reply)
            reply += chunk
        self.response = reply.decode("latin-1")
        if not self.response.startswith("HTTP/1.1 101"):
            raise ConnectionError("no WebSocket upgrade: %r" % self.response)
        from synnefo.vncauthproxy.websocket import accept_key
        assert "Sec-WebSocket-Accept: %s" % accept_key(key) in self.response
        self.buffer = b""

    def sendall(self, data):
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x82, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x82, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x82, 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def _raw(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
        return data

    def recv(self, n):
        while not self.buffer:
            head = self._raw(2)
            if head is None:
                return b""
            length = head[1] & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._raw(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._raw(8))
            assert not head[1] & 0x80, "server frames are never masked"
            payload = self._raw(length) if length else b""
            if payload is None:
                return b""
            opcode = head[0] & 0x0F
            if opcode == 8:
                return b""
            if opcode in (0, 1, 2):
                self.buffer += payload
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def close(self):
        self.sock.close()


class VNCClient:
    def __init__(self, host, port, password, timeout=30, websocket=False, tls=None):
        """``tls``: an ssl.SSLContext for wss (the socket is wrapped first)."""
        self.sock = socket.create_connection((host, port), timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=host)
        if websocket:
            self.sock = WSSocket(self.sock, host)
        s = self.sock
        self.server_version = recv_exactly(s, 12)
        s.sendall(b"RFB 003.008\n")
        count = recv_exactly(s, 1)[0]
        if count == 0:
            raise AuthFailed(self._reason())
        self.security_types = list(recv_exactly(s, count))
        if password is None:  # security type None (a node's VNC server, directly)
            if 1 not in self.security_types:
                raise AuthFailed("no security type None offered: %s" % self.security_types)
            s.sendall(b"\x01")
            if struct.unpack("!I", recv_exactly(s, 4))[0] != 0:
                raise AuthFailed(self._reason())
            return
        if 2 not in self.security_types:
            raise AuthFailed("no VNC authentication offered: %s" % self.security_types)
        s.sendall(b"\x02")
        challenge = recv_exactly(s, 16)
        s.sendall(vnc_response(password, challenge))
        (result,) = struct.unpack("!I", recv_exactly(s, 4))
        if result != 0:
            raise AuthFailed(self._reason())

    def _reason(self):
        (length,) = struct.unpack("!I", recv_exactly(self.sock, 4))
        return recv_exactly(self.sock, length).decode()

    def init(self, set_format=True):
        """ClientInit (shared) -> (width, height, name); asks for 32-bit true colour
        and raw encoding unless not ``set_format``."""
        s = self.sock
        s.sendall(b"\x01")
        self.width, self.height = struct.unpack("!HH", recv_exactly(s, 4))
        recv_exactly(s, 16)  # the server's pixel format; we set our own below
        (length,) = struct.unpack("!I", recv_exactly(s, 4))
        self.name = recv_exactly(s, length).decode("utf-8", "replace")
        if not set_format:
            return self.width, self.height, self.name
        # SetPixelFormat: 32 bpp, depth 24, little endian, true colour, RGB at 16/8/0.
        s.sendall(struct.pack("!B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
        s.sendall(struct.pack("!BxHi", 2, 1, 0))  # SetEncodings: Raw only
        return self.width, self.height, self.name

    def screenshot(self):
        """The whole screen as rows of (r, g, b) tuples (a full, non-incremental update)."""
        s = self.sock
        s.sendall(struct.pack("!BBHHHH", 3, 0, 0, 0, self.width, self.height))
        pixels = [[(0, 0, 0)] * self.width for _ in range(self.height)]
        while True:
            kind = recv_exactly(s, 1)[0]
            if kind == 0:
                break
            if kind == 2:  # Bell
                continue
            if kind == 3:  # ServerCutText
                recv_exactly(s, 3)
                (length,) = struct.unpack("!I", recv_exactly(s, 4))
                recv_exactly(s, length)
                continue
            raise ConnectionError("unexpected server message %d" % kind)
        recv_exactly(s, 1)
        (rects,) = struct.unpack("!H", recv_exactly(s, 2))
        for _ in range(rects):
            x, y, w, h, enc = struct.unpack("!HHHHi", recv_exactly(s, 12))
            if enc == -223:  # DesktopSize pseudo-encoding: not asked for, never sent
                continue
            if enc != 0:
                raise ConnectionError("unexpected encoding %d" % enc)
            data = recv_exactly(s, w * h * 4)
            for row in range(h):
                for col in range(w):
                    i = (row * w + col) * 4
                    b, g, r = data[i], data[i + 1], data[i + 2]
                    pixels[y + row][x + col] = (r, g, b)
        return pixels

    def key(self, keysym):
        """Press and release one key (an X keysym: ASCII for plain characters)."""
        self.sock.sendall(struct.pack("!BBxxI", 4, 1, keysym)
                          + struct.pack("!BBxxI", 4, 0, keysym))

    def type(self, text, pace=0.0):
        """Type ``text``, waiting ``pace`` seconds after each key (qemu's PS/2 keyboard
        queue is short: a guest that reads slowly loses keys sent in a burst)."""
        for ch in text:
            self.key(0xFF0D if ch == "\n" else ord(ch))
            if pace:
                time.sleep(pace)

    def close(self):
        self.sock.close()


def save_png(pixels, path):
    """Write rows of (r, g, b) as an 8-bit RGB PNG (a test artifact to look at)."""
    import zlib

    def chunk(kind, data):
        body = kind + data
        return struct.pack("!I", len(data)) + body + struct.pack("!I", zlib.crc32(body))

    height, width = len(pixels), len(pixels[0])
    raw = b"".join(b"\0" + bytes(c for px in row for c in px) for row in pixels)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 6)))
        f.write(chunk(b"IEND", b""))


def text_cells(pixels, cell_w=9, cell_h=16):
    """The screen as rows of text cells, each the tuple of its lit pixels' positions
    (VGA text mode: 80x25 cells of 9x16 pixels on a 720x400 screen); an empty tuple is
    a blank cell, equal tuples are the same glyph."""
    rows = []
    for cy in range(len(pixels) // cell_h):
        row = []
        for cx in range(len(pixels[0]) // cell_w):
            row.append(tuple((y, x) for y in range(cell_h) for x in range(cell_w)
                             if sum(pixels[cy * cell_h + y][cx * cell_w + x]) > 200))
        rows.append(row)
    return rows


def listening(port):
    """Whether anything listens on TCP ``port`` here (read from /proc: connecting would
    use up a one-shot forwarding)."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False
