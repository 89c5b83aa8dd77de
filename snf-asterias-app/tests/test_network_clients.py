"""The `openstack` CLI (/usr/bin/openstack) against the network API, served by
gunicorn on a loopback port, with the REAL Ganeti test cluster behind it.

Set-up follows test_api_clients.py (settings directory, file-based SQLite prepared
with snf-manage), but nothing is simulated: `openstack subnet create` makes a real
Ganeti network with a pool in 10.251.102.0/24, connected to the default node group,
and `openstack network delete` removes it again. The admin tool
`snf-manage network-modify --wait` stands in for the dispatcher (it waits for the
Ganeti jobs and records their results through the same handler).
"""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.integration

VENV_BIN = os.path.dirname(sys.executable)
PASSWORD = "carol-pass-" + "1"
PREFIX = "snfnetcli-"
SUBNET = "10.251.102.0/24"
RAPI_PEM = "/var/lib/ganeti/rapi.pem"


def env_value(name):
    value = os.environ.get(name)
    assert value, "%s is not set: run through `make test` (ci/test-env.sh)" % name
    return value


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _rapi():
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
    from synnefo.backend.rapi import RapiClient
    return RapiClient(env_value("SNF_TEST_RAPI_HOST"), int(env_value("SNF_TEST_RAPI_PORT")),
                      env_value("SNF_TEST_RAPI_USER"), env_value("SNF_TEST_RAPI_PASSWORD"),
                      verify=False)


def _remove_ganeti_networks(client):
    """Leftovers of an interrupted earlier run (names carry this test's prefix)."""
    for net in client.request("GET", "/2/networks", {"bulk": 1}):
        if not net["name"].startswith(PREFIX):
            continue
        for group in net.get("group_list") or []:
            client.wait_for_job(client.request(
                "PUT", "/2/networks/%s/disconnect" % net["name"], body={"group_name": group[0]}))
        client.wait_for_job(client.request("DELETE", "/2/networks/%s" % net["name"]))


class Live:
    pass


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    rapi = _rapi()
    _remove_ganeti_networks(rapi)
    tmp = tmp_path_factory.mktemp("net-live")
    conf = tmp / "etc"
    conf.mkdir()
    (conf / "50-test.conf").write_text(
        'DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", '
        '"NAME": %r, "OPTIONS": {"timeout": 20}}}\n'
        'SECRET_KEY = "integration-test-only"\n'
        'BACKEND_PREFIX_ID = %r\n'
        'GANETI_CLUSTER_INFO = (%r, %s, %r, %r)\n'
        'GANETI_CLUSTER_CERTIFICATE = %r\n'
        'GANETI_NETWORK_GROUPS = ["default"]\n'
        'STATIC_ROOT = %r\n' % (
            str(tmp / "db.sqlite3"), PREFIX, env_value("SNF_TEST_RAPI_HOST"),
            env_value("SNF_TEST_RAPI_PORT"), env_value("SNF_TEST_RAPI_USER"),
            env_value("SNF_TEST_RAPI_PASSWORD"), RAPI_PEM, str(tmp / "static")))
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf),
               DJANGO_SETTINGS_MODULE="synnefo.webproject.settings")
    env.pop("OS_CLOUD", None)

    def manage(*args, stdin=None):
        proc = subprocess.run([os.path.join(VENV_BIN, "snf-manage")] + list(args), env=env,
                              input=stdin, capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    manage("migrate", "-v0")
    manage("user-create", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    port = _free_port()
    w = Live()
    w.manage, w.rapi = manage, rapi
    w.base = "http://127.0.0.1:%d" % port
    log = open(tmp / "gunicorn.log", "w")
    w.server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:%d" % port, "--workers", "1",
         "--threads", "4", "--timeout", "120", "synnefo.webproject.wsgi:application"],
        env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(w.base + "/network", timeout=2).read()
            break
        except OSError:
            if time.time() > deadline or w.server.poll() is not None:
                w.server.kill()
                raise AssertionError("gunicorn did not start: %s"
                                     % (tmp / "gunicorn.log").read_text()[-3000:])
            time.sleep(0.2)
    # The identity catalog does not list the network service yet (synnefo.api.identity);
    # until it does, the client is pointed at it explicitly.
    w.clouds = tmp / "clouds.yaml"
    w.clouds.write_text(
        "clouds:\n  asterias:\n    auth:\n      auth_url: %s/identity/v3\n"
        "      username: carol\n      password: %s\n      project_name: carol\n"
        "      user_domain_name: Default\n      project_domain_name: Default\n"
        "    identity_api_version: 3\n    region_name: RegionOne\n"
        "    network_endpoint_override: %s/network/\n" % (w.base, PASSWORD, w.base))
    w.tmp = tmp
    yield w
    w.server.terminate()
    try:
        w.server.wait(10)
    except subprocess.TimeoutExpired:
        w.server.kill()
    log.close()
    _remove_ganeti_networks(rapi)


def cli(live, *args, ok=True):
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(live.clouds))
    env.pop("OS_CLOUD", None)
    proc = subprocess.run(["/usr/bin/openstack", "--os-cloud", "asterias"] + list(args),
                          env=env, capture_output=True, text=True, timeout=120)
    if ok:
        assert proc.returncode == 0, "openstack %s failed:\n%s%s" % (" ".join(args),
                                                                    proc.stdout, proc.stderr)
    return proc


def cli_json(live, *args):
    return json.loads(cli(live, *args, "-f", "json").stdout)


def test_openstack_network_subnet_port_commands(live):
    net = cli_json(live, "network", "create", "lan")
    assert net["name"] == "lan" and net["status"] == "ACTIVE"
    listed = cli_json(live, "network", "list")
    assert [n["Name"] for n in listed] == ["lan"]

    sub = cli_json(live, "subnet", "create", "--network", "lan", "--subnet-range", SUBNET,
                   "lan-v4")
    assert sub["cidr"] == SUBNET and sub["gateway_ip"] == "10.251.102.1"
    assert sub["name"] == "lan-v4" and sub["network_id"] == net["id"]
    ganeti_name = "%snet-%s" % (PREFIX, net["id"])
    assert cli_json(live, "network", "show", "lan")["status"] == "BUILD"  # jobs submitted
    live.manage("network-modify", net["id"], "--wait")  # stands in for the dispatcher
    info = live.rapi.request("GET", "/2/networks/%s" % ganeti_name)  # really there
    assert info["network"] == SUBNET and info["gateway"] == "10.251.102.1"
    assert info["mac_prefix"] == "aa:00:01"
    assert ["default", "bridged", "prv0", ""] in info["group_list"]
    shown = cli_json(live, "network", "show", "lan")
    assert shown["status"] == "ACTIVE" and shown["subnets"] in ([sub["id"]], sub["id"])
    subnets = cli_json(live, "subnet", "list")
    assert [(s["Name"], s["Subnet"]) for s in subnets] == [("lan-v4", SUBNET)]

    assert cli_json(live, "port", "list") == []

    # a second network without a subnet, deleted at once
    cli_json(live, "network", "create", "scratch")
    cli(live, "network", "delete", "scratch")
    assert [n["Name"] for n in cli_json(live, "network", "list")] == ["lan"]

    # deleting the network with a subnet removes the Ganeti network too
    cli(live, "network", "delete", "lan")
    assert cli_json(live, "network", "list") == []
    out = live.manage("network-list", "--deleted", "--json")
    assert [n["name"] for n in json.loads(out)] == ["lan", "scratch"]
    live.manage("network-remove", net["id"])  # waits for the removal jobs
    names = [n["name"] for n in live.rapi.request("GET", "/2/networks", {"bulk": 1})]
    assert ganeti_name not in names
    row = json.loads(live.manage("network-list", "--deleted", "--json"))[0]
    assert row["state"] == "DELETED"


def test_openstack_cli_errors_are_readable(live):
    proc = cli(live, "network", "delete", "no-such-network", ok=False)
    assert proc.returncode != 0
    assert "no-such-network" in proc.stderr
    proc = cli(live, "subnet", "create", "--network", "nope", "--subnet-range", "10.0.0.0/24",
               "x", ok=False)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
