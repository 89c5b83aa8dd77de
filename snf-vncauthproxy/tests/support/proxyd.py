"""The real snf-vncauthproxy daemon, run with settings in a temporary directory and
driven over its control socket (the ``proxyd`` fixture of conftest.py, and
bench/console.py)."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time

STARTUP = 30  # seconds the daemon gets to open its control socket


def free_tcp_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ProxyDaemon:
    def __init__(self, tmp_path, **settings):
        self.dir = tmp_path / ("proxyd-%d" % random.randrange(10 ** 9))
        conf = self.dir / "etc"
        conf.mkdir(parents=True)
        low = random.randrange(30000, 59000, 200)
        self.settings = {
            "VNCAUTHPROXY_CONTROL": "unix:%s" % (self.dir / "control.sock"),
            "VNCAUTHPROXY_LISTEN_ADDRESSES": ["127.0.0.1"],
            "VNCAUTHPROXY_PORT_RANGE": (low, low + 199),
            "VNCAUTHPROXY_PID_FILE": str(self.dir / "proxy.pid"),
            "LOG_DIR": str(self.dir / "log"),
            "VNCAUTHPROXY_USER": None,  # tests run as whoever runs them
        }
        self.settings.update(settings)
        (conf / "50-test.conf").write_text(
            "".join("%s = %r\n" % item for item in self.settings.items()))
        self.env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf))
        self.stderr_path = self.dir / "stderr.log"
        self.proc = None

    @property
    def control(self):
        kind, _, rest = self.settings["VNCAUTHPROXY_CONTROL"].partition(":")
        if kind == "unix":
            return rest
        host, _, port = rest.rpartition(":")
        return (host, int(port))

    def start(self, *args):
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synnefo.vncauthproxy.daemon", *args], env=self.env,
            stdout=self.stderr, stderr=self.stderr)
        deadline = time.monotonic() + STARTUP
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("snf-vncauthproxy exited %s: %s"
                                     % (self.proc.returncode, self.log()))
            try:
                self.raw(b"")
                return self
            except OSError:
                time.sleep(0.1)
        raise AssertionError("snf-vncauthproxy did not open its control socket: %s"
                             % self.log())

    def log(self):
        return self.stderr_path.read_text(errors="replace") if self.stderr_path.exists() else ""

    def connect_control(self):
        if isinstance(self.control, str):
            s = socket.socket(socket.AF_UNIX)
        else:
            s = socket.socket()
        s.settimeout(30)
        s.connect(self.control)
        return s

    def raw(self, data):
        """Send ``data`` as one control request; -> the decoded reply (None if empty)."""
        with self.connect_control() as s:
            if data:
                s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    break
                reply += chunk
        return json.loads(reply) if reply.strip() else None

    def request(self, **req):
        return self.raw(json.dumps(req).encode() + b"\n")

    def forward(self, node_port, password="s3cret", **extra):
        extra.setdefault("source_port", 0)
        reply = self.request(destination_address="127.0.0.1", destination_port=node_port,
                             password=password, **extra)
        assert reply["status"] == "OK", reply
        return reply["source_port"]

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=60)
        if self.proc is not None:
            self.stderr.close()


def wait_until(predicate, what, seconds=60):
    """Poll ``predicate`` (a generous deadline only so a broken build fails, not a
    measured threshold)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("still not %s after %d s" % (what, seconds))
