"""A small synchronous RFB 3.8 client for the tests: VNC authentication, ClientInit,
and raw framebuffer updates (enough to take a screenshot of a qemu console)."""

import socket
import struct

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


class VNCClient:
    def __init__(self, host, port, password, timeout=30):
        self.sock = socket.create_connection((host, port), timeout)
        s = self.sock
        self.server_version = recv_exactly(s, 12)
        s.sendall(b"RFB 003.008\n")
        count = recv_exactly(s, 1)[0]
        if count == 0:
            raise AuthFailed(self._reason())
        self.security_types = list(recv_exactly(s, count))
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

    def close(self):
        self.sock.close()
