"""`snf-cloud console --viewer` hands the console's password to a real TigerVNC viewer
(Debian's xtigervncviewer, under Xvfb): a VNC server here, the server half of RFB 3.8
with VNC authentication, checks the viewer's answer to its challenge."""

import os
import signal
import socket
import struct
import subprocess
import threading

import pytest

from synnefo.burnin.rfb import VERSION, VNC_AUTH, read_exactly, vnc_response
from synnefo.cloud import viewer

pytestmark = pytest.mark.integration

TIGERVNC = "/usr/bin/xtigervncviewer"  # ci/packages/snf-tools.txt


class OneConsole:
    """Accepts one viewer; records whether it answered the challenge with ``password``
    and, if so, whether it went on to ClientInit (it took the answer as a success)."""

    def __init__(self, password):
        self.password = password
        self.answers = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        conn, _ = self.sock.accept()
        with conn:
            conn.settimeout(60)
            conn.sendall(VERSION)
            read_exactly(conn, 12)
            conn.sendall(bytes([1, VNC_AUTH]))
            read_exactly(conn, 1)
            challenge = os.urandom(16)
            conn.sendall(challenge)
            right = read_exactly(conn, 16) == vnc_response(self.password, challenge)
            self.answers.append("right" if right else "wrong")
            if not right:
                conn.sendall(struct.pack(">I", 1) + struct.pack(">I", 5) + b"wrong")
                return
            conn.sendall(struct.pack(">I", 0))
            read_exactly(conn, 1)  # ClientInit
            self.answers.append("initialised")
            name = b"console"  # ServerInit: 64x48, 32 bpp true colour
            conn.sendall(struct.pack(">HHBBBBHHHBBBxxxI", 64, 48, 32, 24, 0, 1, 255, 255,
                                     255, 16, 8, 0, len(name)) + name)

    def wait(self):
        self.thread.join(60)
        self.sock.close()
        return self.answers


def run_viewer(port, password):
    """TigerVNC on a virtual display, as snf-cloud starts it; stopped after the handshake."""
    command = viewer.viewer_command((TIGERVNC, "{host}::{port}"), "127.0.0.1", port)
    assert viewer.reads_password_from_environment(command)
    return subprocess.Popen(["xvfb-run", "-a"] + command, env=viewer.viewer_environment(password),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(30)


@pytest.mark.parametrize("given, expected", [("s3cr3t-pw", ["right", "initialised"]),
                                             ("guess", ["wrong"])])
def test_tigervnc_answers_the_challenge_with_the_password_it_was_given(given, expected):
    console = OneConsole("s3cr3t-pw")
    proc = run_viewer(console.port, given)
    try:
        assert console.wait() == expected
    finally:
        stop(proc)

