"""`snf-cloud console --viewer` hands the console's password to real viewers, under Xvfb:
Debian's xtigervncviewer (in its environment) and remote-viewer (in a connection file).
A VNC server here, the server half of RFB 3.8 with VNC authentication, checks the viewer's
answer to its challenge."""

import contextlib
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
REMOTE_VIEWER = "/usr/bin/remote-viewer"  # ci/packages/snf-tools.txt (virt-viewer)
# a leading blank and a backslash: the connection file must escape both
PASSWORD = " s3\\cr3t"
HANDSHAKES = pytest.mark.parametrize("given, expected", [(PASSWORD, ["right", "initialised"]),
                                                         ("guess", ["wrong"])])


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


@pytest.fixture(autouse=True)
def private_home(tmp_path, monkeypatch):
    """The viewers keep settings and recent files (remote-viewer names the connection file
    there) in a home of their own, not the user's running the tests."""
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(name, str(tmp_path / name.lower()))


def answers(console, command, password=None):
    """What ``console`` saw of ``command`` on a virtual display, ``password`` in its
    environment as snf-cloud starts it; the viewer is stopped after the handshake."""
    proc = subprocess.Popen(["xvfb-run", "-a"] + command, env=viewer.viewer_environment(password),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        return console.wait()
    finally:
        # a refused viewer shows a dialog and stays; remote-viewer, let in, exits when
        # the console closes the connection
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)


@HANDSHAKES
def test_tigervnc_answers_the_challenge_with_the_password_it_was_given(given, expected):
    console = OneConsole(PASSWORD)
    command = viewer.viewer_command((TIGERVNC, "{host}::{port}"), "127.0.0.1", console.port)
    assert viewer.reads_password_from_environment(command)
    assert answers(console, command, given) == expected


@HANDSHAKES
def test_remote_viewer_answers_with_the_password_of_its_connection_file_and_deletes_it(
        given, expected):
    console = OneConsole(PASSWORD)
    found = (REMOTE_VIEWER, viewer.CONNECTION_FILE)
    with viewer.prepared_command(found, "127.0.0.1", console.port, given, "vm") as command:
        assert viewer.gets_password(command) and len(command) == 2
        assert answers(console, command) == expected  # nothing in its environment
        assert not os.path.exists(command[1])  # delete-this-file: it read the file
    assert not os.path.exists(os.path.dirname(command[1]))
