"""The console actions: Synnefo's {"console": {"type": "vnc"}} and Nova's
os-getVNCConsole, with the node's console from a fake backend and a fake
snf-vncauthproxy control socket (the real proxy and a real guest are in
test_console_kvm_e2e.py)."""

import json
import socket
import threading
from urllib.parse import parse_qs, urlsplit

import pytest
from support.api import create_server, rapi_error
from support.schemas import servers as S
from support.schemas import validate

from synnefo.backend import instances
from synnefo.db.models import VirtualMachine

pytestmark = pytest.mark.django_db


class FakeProxy:
    """A control socket that records each request and answers ``reply``."""

    def __init__(self, path):
        self.path = path
        self.requests = []
        self.reply = {"status": "OK", "source_port": 25123}
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.bind(path)
        self.sock.listen(8)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                self.requests.append(json.loads(data))
                raw = self.reply if isinstance(self.reply, bytes) else \
                    json.dumps(self.reply).encode() + b"\n"
                conn.sendall(raw)


@pytest.fixture
def proxy(tmp_path, settings, monkeypatch):
    fake = FakeProxy(str(tmp_path / "proxy.sock"))
    settings.CONSOLE_PROXY_CONTROL = "unix:" + fake.path
    settings.API_PUBLIC_BASE_URL = "https://cloud.example.org"
    monkeypatch.setattr(instances, "get_console_info",
                        lambda vm: {"host": "node1.example.org", "port": 11004})
    yield fake
    fake.sock.close()


def active_server(world, fake_backend):
    sid = int(create_server(world.a, world).json()["server"]["id"])
    fake_backend.finish_all()
    return sid, "/compute/v2.1/servers/%d/action" % sid


def test_vnc_console_of_an_active_server(world, fake_backend, proxy):
    sid, act = active_server(world, fake_backend)
    r = world.a.post(act, {"console": {"type": "vnc"}})
    assert r.status_code == 200, r.content
    console = r.json()["console"]
    assert console["type"] == "vnc" and console["host"] == "cloud.example.org"
    assert console["port"] == 25123
    assert len(console["password"]) == 8 and console["password"].isalnum()
    (req,) = proxy.requests
    assert req == {"source_port": 0, "destination_address": "node1.example.org",
                   "destination_port": 11004, "password": console["password"], "type": "vnc"}
    # every console gets its own password
    other = world.a.post(act, {"console": {"type": "vnc"}}).json()["console"]
    assert other["password"] != console["password"]


def test_novnc_console_url(world, fake_backend, proxy, settings):
    sid, act = active_server(world, fake_backend)
    r = world.a.post(act, {"os-getVNCConsole": {"type": "novnc"}})
    body = validate(S.get_vnc_console, r)["console"]
    assert body["type"] == "novnc"
    url = urlsplit(body["url"])
    assert (url.scheme, url.netloc, url.path) == ("https", "cloud.example.org",
                                                   "/novnc/vnc.html")
    assert url.query == ""  # the password never reaches a web server's log
    params = {k: v[0] for k, v in parse_qs(url.fragment).items()}
    (req,) = proxy.requests
    # an https page: browsers only open wss:// from it, so the forwarding is vnc-wss
    assert req["type"] == "vnc-wss"
    assert params["host"] == "cloud.example.org" and params["port"] == "25123"
    assert params["password"] == req["password"] and params["autoconnect"] == "true"
    assert params["encrypt"] == "1"
    settings.CONSOLE_NOVNC_URL = "http://console.example.org/vnc.html"
    settings.CONSOLE_PROXY_HOST = "vnc.example.org"
    body = world.a.post(act, {"os-getVNCConsole": {"type": "novnc"}}).json()["console"]
    assert body["url"].startswith("http://console.example.org/vnc.html#host=vnc.example.org")
    assert "encrypt=0" in body["url"] and proxy.requests[-1]["type"] == "vnc-ws"
    settings.CONSOLE_WEBSOCKET_TLS = True  # an explicit setting wins over the page's scheme
    body = world.a.post(act, {"os-getVNCConsole": {"type": "novnc"}}).json()["console"]
    assert "encrypt=1" in body["url"] and proxy.requests[-1]["type"] == "vnc-wss"


@pytest.mark.parametrize("body", [
    {"console": {"type": "novnc"}}, {"console": {"type": "spice"}}, {"console": {}},
    {"console": "vnc"}, {"os-getVNCConsole": {"type": "vnc"}},
    {"os-getVNCConsole": {"type": "xvpvnc"}}, {"os-getVNCConsole": {"type": ["novnc"]}},
])
def test_bad_console_requests_are_400(world, fake_backend, proxy, body):
    sid, act = active_server(world, fake_backend)
    r = world.a.post(act, body)
    assert r.status_code == 400 and "badRequest" in r.json(), r.content
    assert proxy.requests == []


def test_only_active_servers_of_the_caller(world, fake_backend, proxy):
    building = int(create_server(world.a, world).json()["server"]["id"])
    act = "/compute/v2.1/servers/%d/action" % building
    r = world.a.post(act, {"console": {"type": "vnc"}})
    assert r.status_code == 409, r.content
    fake_backend.finish_all()
    assert world.b.post(act, {"console": {"type": "vnc"}}).status_code == 404
    assert world.anon.post(act, {"console": {"type": "vnc"}}).status_code == 401
    world.a.post(act, {"os-stop": {}})
    fake_backend.finish_all()
    r = world.a.post(act, {"os-getVNCConsole": {"type": "novnc"}})
    assert r.status_code == 409 and "SHUTOFF" in r.json()["conflictingRequest"]["message"]
    r = world.a.post("/compute/v2.1/servers/999999/action", {"console": {"type": "vnc"}})
    assert r.status_code == 404
    assert proxy.requests == []


@pytest.mark.parametrize("reply", [{"status": "FAILED", "reason": "no free port"},
                                   b"garbage\n", b"", {"status": "OK"}])
def test_proxy_failure_is_503_without_details(world, fake_backend, proxy, reply):
    sid, act = active_server(world, fake_backend)
    proxy.reply = reply
    r = world.a.post(act, {"console": {"type": "vnc"}})
    assert r.status_code == 503, r.content
    message = r.json()["serviceUnavailable"]["message"]
    assert "console proxy is not available" in message and "free port" not in message


def test_proxy_not_running_is_503(world, fake_backend, proxy, settings, tmp_path):
    sid, act = active_server(world, fake_backend)
    settings.CONSOLE_PROXY_CONTROL = "unix:%s" % (tmp_path / "absent.sock")
    r = world.a.post(act, {"console": {"type": "vnc"}})
    assert r.status_code == 503 and "Traceback" not in r.content.decode()
    settings.CONSOLE_PROXY_CONTROL = "tcp:127.0.0.1:1"
    assert world.a.post(act, {"console": {"type": "vnc"}}).status_code == 503


def test_rapi_failure_is_503(world, fake_backend, proxy, monkeypatch):
    sid, act = active_server(world, fake_backend)

    def broken(vm):
        raise rapi_error()
    monkeypatch.setattr(instances, "get_console_info", broken)
    r = world.a.post(act, {"console": {"type": "vnc"}})
    assert r.status_code == 503 and "console of server %d" % sid in r.content.decode()
    assert proxy.requests == []


def test_tcp_control_sends_the_proxy_user(world, fake_backend, proxy, settings):
    sid, act = active_server(world, fake_backend)
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(1)
    settings.CONSOLE_PROXY_CONTROL = "tcp:127.0.0.1:%d" % tcp.getsockname()[1]
    settings.CONSOLE_PROXY_AUTH = ("api", "pw")
    seen = []

    def serve():
        conn, _ = tcp.accept()
        with conn:
            seen.append(json.loads(conn.recv(4096)))
            conn.sendall(b'{"status": "OK", "source_port": 25001}\n')
    t = threading.Thread(target=serve)
    t.start()
    r = world.a.post(act, {"console": {"type": "vnc"}})
    t.join(30)
    tcp.close()
    assert r.status_code == 200 and r.json()["console"]["port"] == 25001
    assert seen[0]["auth_user"] == "api" and seen[0]["auth_password"] == "pw"
    assert VirtualMachine.objects.get(pk=sid).action != "CONSOLE"  # no state recorded
