"""Consoles end to end on a real KVM guest (QEMU TCG) of the Ganeti test cluster.

The whole chain as deployed: gunicorn serving the API (its own SQLite database, set up
with snf-manage), the backend registered with `snf-manage backend-add --hypervisor kvm`,
the real snf-vncauthproxy daemon on a UNIX control socket, and a server created with
`openstack server create` (Ganeti runs it under kvm; `snf-manage reconcile-servers
--fix-unsynced` records it ACTIVE, as an administrator would without a dispatcher).
One guest serves every test of the module.

Checked: a VNC client through the proxy with the password of the `console` action
types into the guest's shell and reads the typed command's output back from the
screen's pixels; `openstack console url show` gives a noVNC URL whose WebSocket
forwarding shows the same, and that noVNC shows it in headless chromium, over http
with ws:// and over https with wss:// (the proxy's vnc-wss with a certificate of a test
CA that chromium trusts through its NSS database); a wrong
password is refused and uses up the port; a port takes one client and closes unused
after the connect timeout; 50 forwardings open at once, each then relayed to the
guest's qemu (25 at a time: qemu's client limit); a killed proxy leaves no port bound
and the restarted one serves consoles again; malformed control requests get a clear
status.
"""

import base64
import concurrent.futures
import json
import os
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from support.cluster import RAPI_PEM, env, run_prefix
from support.live import (
    Gunicorn,
    free_port,
    live_settings,
    openstack_cli,
    openstack_cli_json,
    snf_manage,
    stop_process,
    wait_for,
    write_clouds_yaml,
)

TOP = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(TOP / "snf-vncauthproxy" / "tests" / "support"))  # its RFB test client
from vncclient import AuthFailed, VNCClient, listening, save_png, text_cells  # noqa: E402

pytestmark = pytest.mark.integration

KVM_GUEST = TOP / "ci" / "kvm-guest.sh"
NOVNC = "/usr/share/novnc"  # Debian's novnc
PREFIX = run_prefix("snfcon")
PASSWORD = "console-pass-1"
ARTIFACTS = Path(os.environ.get("SNF_TEST_ARTIFACTS", "/var/tmp/synnefo-ci/artifacts"))
BOOT = 180  # seconds for the guest to boot and its shell to answer (TCG, busy machine)
MARK = "x" * 30  # the typed command prints five lines of this


def run(*cmd, timeout=300):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, "%s exited %d\n%s%s" % (" ".join(map(str, cmd)),
                                                        res.returncode, res.stdout, res.stderr)
    return res.stdout


class Rapi:
    """The few raw RAPI calls the fixture needs for cleaning up (the service under test
    does everything else)."""

    def __init__(self):
        self.base = "https://%s:%s" % (env("SNF_TEST_RAPI_HOST"), env("SNF_TEST_RAPI_PORT"))
        self.ctx = ssl.create_default_context(cafile=RAPI_PEM)
        self.ctx.check_hostname = False
        auth = "%s:%s" % (env("SNF_TEST_RAPI_USER"), env("SNF_TEST_RAPI_PASSWORD"))
        self.auth = "Basic " + base64.b64encode(auth.encode()).decode()

    def call(self, method, path):
        req = urllib.request.Request(self.base + path, method=method,
                                     headers={"Authorization": self.auth})
        with urllib.request.urlopen(req, context=self.ctx, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def ours(self):
        return [i["name"] for i in self.call("GET", "/2/instances?bulk=1")
                if i["name"].startswith(PREFIX)]

    def remove_ours(self):
        """Remove our instances; a removal that fails (qemu's monitor too slow to
        answer on a busy machine) is submitted again."""
        for _ in range(5):
            names = self.ours()
            if not names:
                return
            jobs = [self.call("DELETE", "/2/instances/%s?shutdown_timeout=0" % name)
                    for name in names]
            for job in jobs:
                wait_for("job %s" % job, lambda: self.call("GET", "/2/jobs/%s" % job)[
                    "status"] in ("success", "error", "canceled"), timeout=600, interval=2)
        assert not self.ours(), "could not remove %s" % self.ours()


class Proxy:
    """The real snf-vncauthproxy in the foreground, settings in its own directory."""

    def __init__(self, tmp, tls):
        self.dir = tmp / "proxy"
        (self.dir / "etc").mkdir(parents=True)
        self.socket = str(self.dir / "control.sock")
        low = 31000 + (os.getpid() % 100) * 200
        settings = {"VNCAUTHPROXY_CONTROL": "unix:" + self.socket,
                    "VNCAUTHPROXY_LISTEN_ADDRESSES": ["127.0.0.1"],
                    "VNCAUTHPROXY_PORT_RANGE": (low, low + 199),
                    "VNCAUTHPROXY_CONNECT_TIMEOUT": 30,
                    "VNCAUTHPROXY_SOURCE_RATE": (1000, 60),
                    "VNCAUTHPROXY_PID_FILE": str(self.dir / "proxy.pid"),
                    "VNCAUTHPROXY_USER": None, "LOG_DIR": str(self.dir),
                    "VNCAUTHPROXY_CERT_FILE": str(tls.cert),
                    "VNCAUTHPROXY_KEY_FILE": str(tls.key)}
        (self.dir / "etc" / "50-test.conf").write_text(
            "".join("%s = %r\n" % item for item in settings.items()))
        self.env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(self.dir / "etc"))
        self.log = self.dir / "stderr.log"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "synnefo.vncauthproxy.daemon", "-d"], env=self.env,
            stdout=open(self.log, "ab"), stderr=subprocess.STDOUT)
        # (a killed daemon leaves its socket file: wait until one accepts)
        wait_for("the proxy's control socket", self.accepting,
                 logs=lambda: self.log.read_text())

    def accepting(self):
        import socket
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.connect(self.socket)
                return True
            except OSError:
                return False

    def control(self, data):
        import socket
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(30)
            s.connect(self.socket)
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while chunk := s.recv(4096):
                reply += chunk
        return json.loads(reply)


class ConsoleCA:
    """A throwaway CA and a server certificate it signed for 127.0.0.1 (what the proxy's
    vnc-wss and the https noVNC page present), made with openssl."""

    def __init__(self, tmp):
        d = tmp / "tls"
        d.mkdir()
        self.ca, ca_key = d / "ca.pem", d / "ca.key"
        self.cert, self.key = d / "server.pem", d / "server.key"
        ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
        run("openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", self.ca, "-days", "2",
            "-subj", "/CN=synnefo console test CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
        # (chromium wants the address in subjectAltName and serverAuth usage)
        run("openssl", "req", "-x509", *ec, "-keyout", self.key, "-out", self.cert,
            "-days", "2", "-subj", "/CN=127.0.0.1", "-CA", self.ca, "-CAkey", ca_key,
            "-addext", "subjectAltName=IP:127.0.0.1",
            "-addext", "basicConstraints=critical,CA:FALSE",
            "-addext", "extendedKeyUsage=serverAuth")

    def nss_home(self, home):
        """``home`` with an NSS database (~/.pki/nssdb, where chromium on Linux keeps its
        certificates) that trusts the CA for servers; chromium run with HOME=home."""
        db = "sql:%s" % (home / ".pki" / "nssdb")
        (home / ".pki" / "nssdb").mkdir(parents=True)
        run("certutil", "-N", "-d", db, "--empty-password")
        run("certutil", "-A", "-d", db, "-n", "synnefo-test-ca", "-t", "C,,", "-i", self.ca)
        return home


# A static directory over https, as nginx serves /novnc/ on an APISERVER.
HTTPS_SERVER = """
import functools, http.server, ssl, sys
directory, port, cert, key = sys.argv[1:]
ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
ctx.load_cert_chain(cert, key)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
server = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), handler)
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
"""


class Env:
    """What the module's tests share: the service's URL, token, clients and guest."""

    def cli(self, *args):
        return openstack_cli(self.clouds, self.tmp, *args)

    def cli_json(self, *args):
        return openstack_cli_json(self.clouds, self.tmp, *args)


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console-e2e")
    run(KVM_GUEST, "up")
    rapi = Rapi()
    rapi.remove_ours()
    e = Env()
    e.tmp, e.rapi = tmp, rapi
    e.tls = ConsoleCA(tmp)
    e.proxy = Proxy(tmp, e.tls)
    e.proxy.start()
    # Debian's noVNC, served as the example nginx site does (a static directory).
    novnc_port = free_port()
    e.novnc = subprocess.Popen(
        [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", NOVNC,
         str(novnc_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    e.novnc_url = "http://127.0.0.1:%d/vnc.html" % novnc_port
    novnc_https_port = free_port()
    e.novnc_https = subprocess.Popen(
        [sys.executable, "-c", HTTPS_SERVER, NOVNC, str(novnc_https_port), str(e.tls.cert),
         str(e.tls.key)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    e.novnc_https_url = "https://127.0.0.1:%d/vnc.html" % novnc_https_port
    e.wss_gunicorn = None
    environ = live_settings(tmp, BACKEND_PREFIX_ID=PREFIX, GANETI_OS="noop+default",
                            GANETI_CLUSTER_INFO=(),
                            CONSOLE_PROXY_CONTROL="unix:" + e.proxy.socket,
                            CONSOLE_NOVNC_URL=e.novnc_url)
    pwfile = tmp / "rapi-password"
    pwfile.write_text(env("SNF_TEST_RAPI_PASSWORD") + "\n")
    pwfile.chmod(0o600)

    def manage(*args, stdin=None):
        return snf_manage(environ, *args, stdin=stdin)
    e.manage = manage
    manage("migrate", "-v0")
    manage("user-create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    manage("user-create", "bob", "--password-stdin", stdin="bob-pass-1\n")
    manage("flavor-create", "1", "128", "1", "diskless")
    manage("image-register", "busybox", "busybox-guest", "--public")
    manage("backend-add", env("SNF_TEST_RAPI_HOST"), "--port", env("SNF_TEST_RAPI_PORT"),
           "--username", env("SNF_TEST_RAPI_USER"), "--password-file", str(pwfile),
           "--certificate", RAPI_PEM, "--hypervisor", "kvm")
    e.token = manage("token-create", "alice").strip()
    e.gunicorn_environ = environ
    e.gunicorn = Gunicorn("synnefo.webproject.wsgi:application", environ,
                          str(tmp / "gunicorn.log"))
    e.base = e.gunicorn.base
    e.clouds = write_clouds_yaml(tmp / "clouds.yaml", e.base, "alice", PASSWORD)
    try:
        # (no NIC: OSC 6 cannot say --nic none without a microversion; the API can)
        image = e.cli_json("image", "show", "busybox")["id"]
        flavor = e.cli_json("flavor", "show", "C1R128D1diskless")["id"]
        created = api(e, "POST", "/compute/v2.1/servers", {"server": {
            "name": "console-vm", "imageRef": image, "flavorRef": flavor,
            "networks": "none"}}, expect=202)
        e.server_id = created["server"]["id"]

        def active():
            manage("reconcile-servers", "--fix-unsynced")
            return e.cli_json("server", "show", "console-vm")["status"] == "ACTIVE"
        wait_for("console-vm ACTIVE", active, timeout=BOOT, interval=2,
                 logs=lambda: manage("reconcile-servers", "--detect-all"))
        yield e
    finally:
        try:
            rapi.remove_ours()
        finally:
            e.gunicorn.stop()
            if e.wss_gunicorn:
                e.wss_gunicorn.stop()
            stop_process(e.proxy.proc)
            stop_process(e.novnc)
            stop_process(e.novnc_https)
            run(KVM_GUEST, "down")


def api_console(e, body, token=None, expect=200):
    return api(e, "POST", "/compute/v2.1/servers/%s/action" % e.server_id, body, token,
               expect)


def api(e, method, path, body, token=None, expect=200):
    req = urllib.request.Request(
        e.base + path, data=json.dumps(body).encode(), method=method,
        headers={"X-Auth-Token": token or e.token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            status, data = r.status, r.read()
    except urllib.error.HTTPError as err:
        status, data = err.code, err.read()
    assert status == expect, (status, data)
    return json.loads(data) if data else None


def vnc_console(e):
    c = api_console(e, {"console": {"type": "vnc"}})["console"]
    assert c["type"] == "vnc" and c["host"] == "127.0.0.1" and len(c["password"]) == 8
    return c


def marked(pixels):
    """Whether the screen shows MARK on five consecutive rows: the first 30 cells of
    each the same non-blank glyph, the next 10 blank."""
    rows = text_cells(pixels)
    for top in range(len(rows) - 4):
        block = rows[top:top + 5]
        glyph = block[0][0]
        if glyph and all(r[i] == glyph for r in block for i in range(len(MARK))) \
                and all(not r[i] for r in block for i in range(len(MARK), len(MARK) + 10)):
            return True
    return False


def show_mark(client):
    """Type into the guest's root shell on tty0 (Synnefo's KVM instances have no serial
    console) until the screen shows the command's output; -> that screenshot.

    First `clear`, until the screen shows no MARK (so MARK left by an earlier session
    cannot count), then the command. Each is typed only once the shell shows its
    prompt again: busybox's line editor asks the console for the cursor position
    when it prints a prompt and eats keys typed meanwhile. Retried while the guest is
    still booting."""
    deadline = time.monotonic() + BOOT
    pixels = None
    while time.monotonic() < deadline:
        client.type("clear\n", pace=0.05)
        if not poll(client, lambda p: not marked(p)):
            continue
        time.sleep(1)  # let the shell print its prompt
        client.type("for i in 1 2 3 4 5;do echo %s;done\n" % MARK, pace=0.05)
        pixels = poll(client, marked)
        if pixels:
            return pixels
    pixels = pixels or client.screenshot()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    save_png(pixels, ARTIFACTS / "console-failed.png")
    raise AssertionError("the guest's screen never showed the output; the last "
                         "screenshot is %s" % (ARTIFACTS / "console-failed.png"))


def poll(client, wanted, rounds=10):
    """A screenshot for which ``wanted`` holds, taken within ``rounds`` tries a second
    apart; None if none was."""
    for _ in range(rounds):
        pixels = client.screenshot()
        if wanted(pixels):
            return pixels
        time.sleep(1)
    return None


def test_vnc_client_types_into_the_guest_and_reads_the_screen(live):
    c = vnc_console(live)
    assert listening(c["port"])
    client = VNCClient(c["host"], c["port"], c["password"])
    width, height, name = client.init()
    assert PREFIX in name  # qemu's desktop name is the Ganeti instance name
    assert (width, height) == (720, 400), "expected the VGA text console"
    assert not listening(c["port"])  # one client only
    pixels = show_mark(client)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    save_png(pixels, ARTIFACTS / "console-vnc.png")
    client.close()


def test_openstack_console_url_show_opens_the_same_screen(live):
    shown = live.cli_json("console", "url", "show", "console-vm")
    assert shown["type"] == "novnc"
    url = urlsplit(shown["url"])
    assert url.geturl().startswith(live.novnc_url + "#")
    params = {k: v[0] for k, v in parse_qs(url.fragment).items()}
    assert params["host"] == "127.0.0.1" and params["encrypt"] == "0"
    client = VNCClient(params["host"], int(params["port"]), params["password"],
                       websocket=True)
    assert PREFIX in client.init()[2]
    save_png(show_mark(client), ARTIFACTS / "console-websocket.png")
    client.close()


def test_wrong_password_is_refused_and_uses_up_the_port(live):
    c = vnc_console(live)
    with pytest.raises(AuthFailed, match="Authentication failed"):
        VNCClient(c["host"], c["port"], c["password"][::-1] + "x")
    assert not listening(c["port"])
    with pytest.raises(ConnectionRefusedError):
        VNCClient(c["host"], c["port"], c["password"])


def test_unused_port_closes_after_the_connect_timeout(live):
    c = vnc_console(live)
    assert listening(c["port"])
    wait_for("port %d closed" % c["port"], lambda: not listening(c["port"]), timeout=300)
    with pytest.raises(ConnectionRefusedError):
        VNCClient(c["host"], c["port"], c["password"])


def test_other_users_get_404(live):
    bob = live.manage("token-create", "bob").strip()
    api_console(live, {"console": {"type": "vnc"}}, token=bob, expect=404)


def test_fifty_concurrent_forwardings_to_the_guest(live):
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        consoles = list(pool.map(lambda _: vnc_console(live), range(50)))
    assert len({c["port"] for c in consoles}) == 50
    assert all(listening(c["port"]) for c in consoles)  # all 50 open at once

    def session(c):
        client = VNCClient(c["host"], c["port"], c["password"])
        name = client.init(set_format=False)[2]
        return client, name

    # qemu takes at most 32 VNC clients at a time (its -vnc connections= default), so
    # the 50 are used in two waves of 25 simultaneous relays to the guest.
    for wave in (consoles[:25], consoles[25:]):
        with concurrent.futures.ThreadPoolExecutor(len(wave)) as pool:
            sessions = list(pool.map(session, wave))
        assert all(PREFIX in name for _, name in sessions)
        for client, _ in sessions:
            client.close()


def test_killed_proxy_leaves_no_port_and_restarts(live):
    ports = [vnc_console(live)["port"] for _ in range(3)]
    assert all(listening(p) for p in ports)
    live.proxy.proc.send_signal(signal.SIGKILL)
    live.proxy.proc.wait(60)
    assert not any(listening(p) for p in ports)
    # the API answers 503 while the proxy is down, never a traceback
    body = api_console(live, {"console": {"type": "vnc"}}, expect=503)
    assert "console proxy" in body["serviceUnavailable"]["message"]
    live.proxy.start()
    c = vnc_console(live)
    client = VNCClient(c["host"], c["port"], c["password"])
    assert PREFIX in client.init(set_format=False)[2]
    client.close()


def test_control_socket_refuses_bad_requests_clearly(live):
    reply = live.proxy.control(b"{not json\n")
    assert reply == {"status": "FAILED", "reason": "malformed request: not JSON"}
    reply = live.proxy.control(b'{"destination_address": "x", "destination_port": 1}\n')
    assert reply["status"] == "FAILED" and "password" in reply["reason"]


# Reads the noVNC canvas (the framebuffer as noVNC drew it) as one "0"/"1" per pixel.
CANVAS_BITS = """
const c = document.querySelector('#noVNC_container canvas');
if (!c || c.width < 100) return null;
const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
const bits = new Array(c.width * c.height);
for (let i = 0; i < bits.length; i++)
    bits[i] = (d[4 * i] + d[4 * i + 1] + d[4 * i + 2] > 200) ? '1' : '0';
return [c.width, c.height, bits.join('')];
"""


def novnc_in_chromium(live, url, artifact, home):
    """Open ``url`` (noVNC set to connect to a forwarding) in Debian's headless chromium
    (HOME=``home``) and wait until its canvas shows MARK; keep the browser's screenshot."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    # the screen shows MARK (typed through a VNC console of our own)
    c = vnc_console(live)
    client = VNCClient(c["host"], c["port"], c["password"])
    client.init()
    show_mark(client)
    client.close()
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1024,600",
                "--user-data-dir=%s" % (home / "profile")):
        options.add_argument(arg)
    service = Service("/usr/bin/chromedriver", env=dict(os.environ, HOME=str(home)))
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.get(url)
        pixels = None

        def canvas_marked():
            nonlocal pixels
            got = driver.execute_script(CANVAS_BITS)
            if not got:
                return False
            width, height, bits = got
            on, off = (255, 255, 255), (0, 0, 0)
            pixels = [[on if bits[y * width + x] == "1" else off for x in range(width)]
                      for y in range(height)]
            return (width, height) == (720, 400) and marked(pixels)
        wait_for("noVNC showing the guest's screen", canvas_marked, timeout=BOOT,
                 interval=1, logs=lambda: driver.execute_script(
                     "return document.getElementById('noVNC_status').textContent"))
        status = driver.execute_script(
            "return document.getElementById('noVNC_status').textContent")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(ARTIFACTS / artifact))
        return status
    finally:
        driver.quit()


def test_novnc_in_chromium_shows_the_guest_screen(live):
    url = live.cli_json("console", "url", "show", "console-vm")["url"]
    home = live.tmp / "chromium-ws"
    home.mkdir()
    status = novnc_in_chromium(live, url, "console-novnc.png", home)
    assert "unencrypted" in status, status


def test_novnc_over_https_uses_wss_with_the_proxy_certificate(live):
    """The deployment as on an APISERVER: the noVNC page is https (CONSOLE_NOVNC_URL; no
    CONSOLE_WEBSOCKET_TLS, so the API follows the page's scheme) and the proxy has
    VNCAUTHPROXY_CERT_FILE; chromium trusts the test CA through its NSS database (no
    --ignore-certificate-errors)."""
    conf = live.tmp / "etc-wss"  # the same database; another noVNC page
    conf.mkdir()
    conf.joinpath("50-test.conf").write_text(
        (live.tmp / "etc" / "50-test.conf").read_text()
        + "CONSOLE_NOVNC_URL = %r\n" % live.novnc_https_url)
    environ = dict(live.gunicorn_environ, SYNNEFO_SETTINGS_DIR=str(conf))
    live.wss_gunicorn = Gunicorn("synnefo.webproject.wsgi:application", environ,
                                 str(live.tmp / "gunicorn-wss.log"))
    clouds = write_clouds_yaml(live.tmp / "clouds-wss.yaml", live.wss_gunicorn.base, "alice",
                               PASSWORD)
    url = openstack_cli_json(clouds, live.tmp, "console", "url", "show", "console-vm")["url"]
    assert url.startswith(live.novnc_https_url + "#")
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).fragment).items()}
    assert params["host"] == "127.0.0.1" and params["encrypt"] == "1"
    home = live.tls.nss_home(live.tmp / "chromium-wss")
    status = novnc_in_chromium(live, url, "console-novnc-wss.png", home)
    assert "(encrypted)" in status, status
