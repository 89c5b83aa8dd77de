"""The client half of an RFB 3.8 handshake with VNC authentication (RFC 6143 §7.1-7.2),
as a VNC viewer opens the console the compute API's ``console`` action hands out."""

import socket
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

VERSION = b"RFB 003.008\n"
VNC_AUTH = 2


class RFBError(Exception):
    pass


def vnc_response(password, challenge):
    """DES of the 16-byte challenge with the password as key: at most 8 bytes, zero
    padded, each byte's bits reversed (VNC's quirk)."""
    key = bytes(int("{:08b}".format(b)[::-1], 2) for b in password.encode()[:8].ljust(8, b"\0"))
    # bookworm's python3-cryptography has single DES only as TripleDES with an 8-byte key
    enc = Cipher(algorithms.TripleDES(key), modes.ECB()).encryptor()
    return enc.update(challenge) + enc.finalize()


def read_exactly(sock, n):
    """``n`` bytes from the peer; RFBError if it closes the connection first."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RFBError("the peer closed the connection after %d of %d bytes"
                           % (len(data), n))
        data += chunk
    return data


def handshake(host, port, password, timeout=30):
    """Version 3.8, security type 2, the challenge answered; RFBError unless the
    SecurityResult is OK. Returns the server's version line."""
    with socket.create_connection((host, int(port)), timeout=timeout) as sock:
        version = read_exactly(sock, 12)
        if version != VERSION:
            raise RFBError("expected %r, got %r" % (VERSION, version))
        sock.sendall(VERSION)
        count = read_exactly(sock, 1)[0]
        if count == 0:
            (length,) = struct.unpack(">I", read_exactly(sock, 4))
            raise RFBError("refused: %s" % read_exactly(sock, length).decode(errors="replace"))
        types = list(read_exactly(sock, count))
        if VNC_AUTH not in types:
            raise RFBError("no VNC authentication among the security types %s" % types)
        sock.sendall(bytes([VNC_AUTH]))
        sock.sendall(vnc_response(password, read_exactly(sock, 16)))
        (result,) = struct.unpack(">I", read_exactly(sock, 4))
        if result != 0:
            reason = b""
            try:
                (length,) = struct.unpack(">I", read_exactly(sock, 4))
                reason = read_exactly(sock, length)
            except (RFBError, OSError):
                pass
            raise RFBError("VNC authentication failed: %s" % reason.decode(errors="replace"))
        return version.decode().strip()
