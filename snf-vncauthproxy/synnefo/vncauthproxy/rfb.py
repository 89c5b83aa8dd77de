"""The parts of RFB (RFC 6143) the proxy speaks: version and security handshakes.

Toward the client the proxy is the server: it offers RFB 3.8 (3.7 and 3.3 clients are
answered in their own dialect) and only VNC authentication, with a fresh random 16-byte
challenge checked against the per-forwarding password. Toward the Ganeti node it is the
client and asks for security type None (qemu's VNC port on the node has no password; the
node network is trusted). After both handshakes the bytes are relayed untouched, starting
with the client's ClientInit.
"""

import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

SEC_INVALID = 0
SEC_NONE = 1
SEC_VNC_AUTH = 2

RESULT_OK = 0
RESULT_FAILED = 1

CHALLENGE_SIZE = 16
VERSION_3_8 = b"RFB 003.008\n"


class RFBError(Exception):
    """The peer broke the protocol or refused us; the message says how."""


def _reverse_bits(byte):
    return int("{:08b}".format(byte)[::-1], 2)


def des_key(password):
    """VNC's DES key: the first 8 bytes of the password, NUL padded, each byte's bits
    reversed (a quirk of the original VNC's DES code that every client reproduces)."""
    raw = password.encode("latin-1", "replace")[:8].ljust(8, b"\0")
    return bytes(_reverse_bits(b) for b in raw)


def vnc_response(password, challenge):
    """The 16 bytes a client answers to ``challenge``: DES-ECB under ``des_key``.

    Single DES is TripleDES with an 8-byte key (K1 = K2 = K3); bookworm's
    python3-cryptography (38) offers no separate DES algorithm.
    """
    encryptor = Cipher(algorithms.TripleDES(des_key(password)), modes.ECB()).encryptor()
    return encryptor.update(challenge) + encryptor.finalize()


def new_challenge():
    return os.urandom(CHALLENGE_SIZE)


def check_response(password, challenge, response):
    return hmac.compare_digest(vnc_response(password, challenge), response)


def parse_version(line):
    """(major, minor) from a ProtocolVersion line, or RFBError."""
    if len(line) != 12 or not line.startswith(b"RFB ") or line[7:8] != b"." \
            or not line.endswith(b"\n"):
        raise RFBError("not an RFB protocol version: %r" % line[:12])
    try:
        return int(line[4:7]), int(line[8:11])
    except ValueError:
        raise RFBError("not an RFB protocol version: %r" % line[:12]) from None


def client_minor(line):
    """The minor version the proxy speaks with a client that sent ``line``: 3.3, 3.7 or
    3.8 (RFC 6143: unknown minors above 8 are treated as 3.8, between 3 and 7 as 3.3)."""
    major, minor = parse_version(line)
    if major != 3:
        raise RFBError("unsupported RFB major version %d" % major)
    if minor >= 8:
        return 8
    return 7 if minor == 7 else 3


async def _read(reader, n, what):
    try:
        return await reader.readexactly(n)
    except Exception as exc:  # IncompleteReadError, reset: the peer went away
        raise RFBError("connection closed while reading %s" % what) from exc


def failure_reason(message):
    data = message.encode("utf-8")
    return struct.pack("!I", len(data)) + data


async def authenticate_client(reader, writer, password):
    """Server side of the handshake with a VNC client, up to the SecurityResult.

    Returns True when the client proved it knows ``password``. A wrong password gets
    the failure reason (3.8) and False; the caller closes the connection.
    """
    writer.write(VERSION_3_8)
    await writer.drain()
    minor = client_minor(await _read(reader, 12, "the client's protocol version"))
    if minor == 3:
        writer.write(struct.pack("!I", SEC_VNC_AUTH))  # 3.3: the server decides
    else:
        writer.write(bytes([1, SEC_VNC_AUTH]))
        await writer.drain()
        chosen = (await _read(reader, 1, "the client's security type"))[0]
        if chosen != SEC_VNC_AUTH:
            writer.write(struct.pack("!I", RESULT_FAILED))
            writer.write(failure_reason("security type %d was not offered" % chosen))
            await writer.drain()
            return False
    challenge = new_challenge()
    writer.write(challenge)
    await writer.drain()
    response = await _read(reader, CHALLENGE_SIZE, "the client's authentication response")
    if check_response(password, challenge, response):
        writer.write(struct.pack("!I", RESULT_OK))
        await writer.drain()
        return True
    writer.write(struct.pack("!I", RESULT_FAILED))
    if minor == 8:  # only 3.8 carries a reason
        writer.write(failure_reason("Authentication failed: wrong password"))
    await writer.drain()
    return False


async def connect_backend(reader, writer):
    """Client side of the handshake with the node's VNC server, security type None,
    up to (and including) a successful SecurityResult. RFBError when refused."""
    major, minor = parse_version(await _read(reader, 12, "the server's protocol version"))
    if major != 3 or minor < 3:
        raise RFBError("server speaks RFB %d.%d" % (major, minor))
    minor = 8 if minor >= 8 else (7 if minor == 7 else 3)
    writer.write(b"RFB 003.%03d\n" % minor)
    await writer.drain()
    if minor == 3:
        (kind,) = struct.unpack("!I", await _read(reader, 4, "the security type"))
        if kind == SEC_INVALID:
            raise RFBError("server refused: %s" % await _read_reason(reader))
        if kind != SEC_NONE:
            raise RFBError("server requires security type %d, not None" % kind)
        return
    count = (await _read(reader, 1, "the number of security types"))[0]
    if count == 0:
        raise RFBError("server refused: %s" % await _read_reason(reader))
    offered = await _read(reader, count, "the security types")
    if SEC_NONE not in offered:
        raise RFBError("server offers security types %s, not None" % list(offered))
    writer.write(bytes([SEC_NONE]))
    await writer.drain()
    if minor == 8:
        (result,) = struct.unpack("!I", await _read(reader, 4, "the security result"))
        if result != RESULT_OK:
            raise RFBError("server refused security type None: %s"
                           % await _read_reason(reader))


async def _read_reason(reader):
    (length,) = struct.unpack("!I", await _read(reader, 4, "a failure reason"))
    data = await _read(reader, min(length, 4096), "a failure reason")
    return data.decode("utf-8", "replace")
