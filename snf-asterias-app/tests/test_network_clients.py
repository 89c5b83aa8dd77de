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
import subprocess

import pytest
from support.cluster import RAPI_PEM, env, remove_ganeti_network, run_prefix
from support.live import Gunicorn, live_settings, snf_manage, write_clouds_yaml

pytestmark = pytest.mark.integration

PASSWORD = "carol-pass-" + "1"
PREFIX = run_prefix("snfnetcli")
SUBNET = "10.251.102.0/24"


def _rapi():
    from synnefo.backend.rapi import RapiClient
    return RapiClient(env("SNF_TEST_RAPI_HOST"), int(env("SNF_TEST_RAPI_PORT")),
                      env("SNF_TEST_RAPI_USER"), env("SNF_TEST_RAPI_PASSWORD"), verify=False)


def _remove_ganeti_networks(client):
    """This run's Ganeti networks (their names carry its prefix)."""
    for net in client.request("GET", "/2/networks", {"bulk": 1}):
        if net["name"].startswith(PREFIX):
            remove_ganeti_network(client, net)


class Live:
    pass


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    rapi = _rapi()
    _remove_ganeti_networks(rapi)
    tmp = tmp_path_factory.mktemp("net-live")
    environ = live_settings(
        tmp, BACKEND_PREFIX_ID=PREFIX,
        GANETI_CLUSTER_INFO=(env("SNF_TEST_RAPI_HOST"), int(env("SNF_TEST_RAPI_PORT")),
                             env("SNF_TEST_RAPI_USER"), env("SNF_TEST_RAPI_PASSWORD")),
        GANETI_CLUSTER_CERTIFICATE=RAPI_PEM, GANETI_NETWORK_GROUPS=["default"])

    def manage(*args, stdin=None):
        return snf_manage(environ, *args, stdin=stdin, timeout=180)

    manage("migrate", "-v0")
    manage("user-create", "carol", "--password-stdin", stdin=PASSWORD + "\n")
    w = Live()
    w.manage, w.rapi = manage, rapi
    w.gunicorn = Gunicorn("synnefo.webproject.wsgi:application", environ,
                          str(tmp / "gunicorn.log"), threads=4, timeout=120)
    w.base = w.gunicorn.base
    # the network endpoint comes from the identity catalog, as for any client
    w.clouds = write_clouds_yaml(tmp / "clouds.yaml", w.base, "carol", PASSWORD)
    w.tmp = tmp
    yield w
    w.gunicorn.stop()
    _remove_ganeti_networks(rapi)


def cli(live, *args, ok=True):
    environ = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(live.clouds))
    environ.pop("OS_CLOUD", None)
    proc = subprocess.run(["/usr/bin/openstack", "--os-cloud", "asterias"] + list(args),
                          env=environ, capture_output=True, text=True, timeout=120)
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
