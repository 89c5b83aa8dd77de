"""The RFB 3.8 client handshake against a minimal VNC-auth server in a thread."""

import os
import socket
import threading

import pytest

from synnefo.burnin import rfb


def serve_once(password):
    """A server answering one client: version, VNC auth, result by the DES check."""
    srv = socket.create_server(("127.0.0.1", 0))

    def one():
        conn, _ = srv.accept()
        with conn:
            conn.sendall(b"RFB 003.008\n")
            assert conn.recv(12) == b"RFB 003.008\n"
            conn.sendall(b"\x01\x02")
            assert conn.recv(1) == b"\x02"
            challenge = os.urandom(16)
            conn.sendall(challenge)
            answer = b""
            while len(answer) < 16:
                answer += conn.recv(16 - len(answer))
            if answer == rfb.vnc_response(password, challenge):
                conn.sendall(b"\0\0\0\0")
            else:
                reason = b"wrong password"
                conn.sendall(b"\0\0\0\1" + len(reason).to_bytes(4, "big") + reason)
        srv.close()
    threading.Thread(target=one, daemon=True).start()
    return srv.getsockname()[1]


def test_right_password_authenticates():
    port = serve_once("s3cret")
    assert rfb.handshake("127.0.0.1", port, "s3cret", timeout=10) == "RFB 003.008"


def test_wrong_password_is_refused_with_the_reason():
    port = serve_once("s3cret")
    with pytest.raises(rfb.RFBError, match="wrong password"):
        rfb.handshake("127.0.0.1", port, "other", timeout=10)
