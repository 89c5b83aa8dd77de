"""The whole service for real, driven only through its API by real OpenStack clients.

The deployment is support.e2e_service's: every part the real one, each in its own process
(gunicorn, eventd, the hook, the dispatcher, PostgreSQL, RabbitMQ, the Ganeti test cluster
with a test OS that reports progress), set up with snf-manage like an administrator would.
After that everything goes through the API with openstacksdk (password auth through our
identity endpoint, and admin_token) and the `openstack` CLI (Debian's /usr/bin/openstack),
and the results are checked against Ganeti itself (RAPI): servers get their address from
the public network's Ganeti pool, and the API must show exactly the address Ganeti gave
(`nic.ips`), which goes back to the pool when the server is deleted.

Needs PostgreSQL, RabbitMQ and the Ganeti cluster (ci/services.sh up, ci/ganeti.sh up):
    source ci/test-env.sh; cd snf-asterias-app
    SNF_TEST_DB=postgresql ../.venv/bin/python -m pytest tests/test_e2e_openstacksdk.py
"""

import datetime
import ipaddress
import json
import os
import re
import subprocess
import time

import pytest
from support.e2e_service import (
    GANETI_OS,
    HUGE_RAM,
    PASSWORD,
    PREFIX,
    e2e_service,
    ganeti,
    ganeti_networks,
    last_job_id,
    our_instances,
)
from support.live import (
    VENV_BIN,
    WAIT,
    openstack_cli,
    openstack_cli_json,
    sdk_connect,
    sdk_password,
    wait_for,
)

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    with e2e_service(tmp_path_factory.mktemp("e2e")) as s:
        yield s


@pytest.fixture(scope="module")
def conn(service):
    return sdk_password(service.base, "alice", PASSWORD)


@pytest.fixture(scope="module")
def admin(service):
    return sdk_connect(auth_type="admin_token",
                       auth={"token": service.admin_token,
                             "endpoint": service.base + "/compute/v2.1"})


@pytest.fixture(scope="module")
def flavors(conn):
    return {(f.vcpus, f.ram): f for f in conn.compute.flavors()}


@pytest.fixture(scope="module")
def image(conn):
    return conn.image.find_image("debian-12")


def watch(service, conn, server_id, until, timeout=WAIT):
    """Poll the server until its status is ``until``; the (status, progress) pairs seen."""
    seen = []
    deadline = time.monotonic() + timeout
    while True:
        s = conn.compute.get_server(server_id)
        if not seen or seen[-1] != (s.status, s.progress):
            seen.append((s.status, s.progress))
        if s.status == until:
            return seen
        if time.monotonic() > deadline:
            raise AssertionError("server %s: statuses %s, never %s\n%s"
                                 % (server_id, seen, until, service.pipeline.logs()))
        time.sleep(0.1)


def test_lifecycle_on_real_ganeti(service, conn, admin, flavors, image):
    small, big = flavors[(1, 128)], flavors[(2, 256)]
    server = conn.compute.create_server(name="e2e-vm", image_id=image.id, flavor_id=small.id,
                                        networks="auto", metadata={"purpose": "e2e"})
    assert server.admin_password
    seen = watch(service, conn, server.id, "ACTIVE")
    assert seen[0][0] == "BUILD", seen
    assert seen[-1] == ("ACTIVE", 100)
    # the OS's progress reports, through snf-progress-monitor, eventd, RabbitMQ, dispatcher
    build = [p for st, p in seen if st == "BUILD"]
    assert build == sorted(build) and set(build) & {20, 50, 80}, seen
    name = PREFIX + server.id
    inst = service.rapi.get_instance(name)
    assert inst["oper_state"] and inst["os"] == GANETI_OS
    assert inst["beparams"]["maxmem"] == 128 and inst["nic.links"] == ["gnt-br0"]
    # the OS got the root password; Ganeti shows it to no one (a secret OS parameter)
    with open(os.path.join(str(service.tmp), name + ".passwd")) as f:
        assert f.read() == server.admin_password
    job = service.rapi.request("GET", "/2/jobs/%d" % last_job_id(service, server.id))
    assert job["ops"][0]["OP_ID"] == "OP_INSTANCE_CREATE"
    assert server.admin_password not in json.dumps(job)
    # the hook reported the NIC Ganeti made (its MAC), through eventd's spool and RabbitMQ
    wait_for("the hook's NIC report", lambda: _attachments(conn, server.id))
    assert [a["mac_address"] for a in _attachments(conn, server.id)] == inst["nic.macs"]
    # ... and the address Ganeti took from the public network's pool, in this run's subnet
    ip = _public_ipv4(conn, server.id)
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(service.subnet), ip
    assert inst["nic.ips"] == [ip]
    assert _in_pool(service, ip) == "taken by " + name
    ports = list(conn.network.ports(device_id=server.id))
    assert [[f["ip_address"] for f in p.fixed_ips] for p in ports] == [[ip]], ports

    # admin_token sees it too; stop and start through it
    assert [s.id for s in admin.compute.servers()] == [server.id]
    admin.compute.stop_server(server)
    watch(service, admin, server.id, "SHUTOFF")
    assert not service.rapi.get_instance(name)["oper_state"]
    admin.compute.start_server(server)
    watch(service, conn, server.id, "ACTIVE")
    assert service.rapi.get_instance(name)["oper_state"]

    conn.compute.reboot_server(server, "HARD")
    seen = watch(service, conn, server.id, "ACTIVE")
    assert seen[0][0] == "REBOOT", seen

    conn.compute.resize_server(server, big.id)
    seen = watch(service, conn, server.id, "ACTIVE")
    wait_for("the new flavor", lambda: conn.compute.get_server(server.id).flavor.id == big.id)
    assert seen[0][0] == "RESIZE", seen
    assert service.rapi.get_instance(name)["beparams"]["maxmem"] == 256
    assert _public_ipv4(conn, server.id) == ip  # kept through stop, start, reboot, resize
    limits = conn.compute.get_limits().absolute
    assert limits.instances_used == 1 and limits.total_cores_used == 2

    since = (datetime.datetime.utcnow() - datetime.timedelta(seconds=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.2, wait=WAIT)
    assert list(conn.compute.servers()) == [] and list(admin.compute.servers()) == []
    changed = conn.compute.get("/servers/detail?changes-since=" + since).json()["servers"]
    assert [(s["id"], s["status"]) for s in changed] == [(server.id, "DELETED")]
    assert name not in our_instances(service.rapi)
    # the address is gone from the API and back in Ganeti's pool
    assert changed[0]["addresses"] == {}, changed
    assert list(conn.network.ports(network_id=str(service.network["id"]))) == []
    assert _in_pool(service, ip) == "free"


def _public_ipv4(conn, server_id):
    """The server's IPv4 address on the public network, as openstacksdk shows it."""
    addrs = conn.compute.get_server(server_id).addresses
    assert set(addrs) == {"public"}, addrs
    v4 = [a["addr"] for a in addrs["public"] if a["version"] == 4]
    assert len(v4) == 1, addrs
    return v4[0]


def _in_pool(service, ip):
    """What Ganeti's public network says of ``ip``: "taken by <instance>" or "free"."""
    net = ganeti_networks(service.rapi)[service.network["ganeti_name"]]
    offset = int(ipaddress.ip_address(ip)) - int(ipaddress.ip_network(net["network"])[0])
    owners = [i for i in net["inst_list"] if ip in service.rapi.get_instance(i)["nic.ips"]]
    if net["map"][offset] == "X":
        return "taken by " + ",".join(owners)
    assert not owners, (ip, owners)
    return "free"


def _attachments(conn, server_id):
    body = conn.compute.get("/servers/%s" % server_id,
                            headers={"X-Synnefo-Extensions": "true"}).json()["server"]
    return [a for a in body["SNF:attachments"] if a["mac_address"]]


def test_create_that_ganeti_refuses_is_error_with_its_reason(service, conn, flavors, image):
    huge = flavors[(1, HUGE_RAM)]
    server = conn.compute.create_server(name="too-big", image_id=image.id, flavor_id=huge.id)
    seen = watch(service, conn, server.id, "ERROR")
    assert seen[0][0] == "BUILD", seen
    # (bookworm's openstacksdk has no Server.fault: read the body the SDK received)
    fault = conn.compute.get("/servers/%s" % server.id).json()["server"]["fault"]
    # Ganeti's own words, e.g. "Not enough memory on node node1...: needed 524288 MiB"
    assert "memory" in fault["message"].lower() and str(HUGE_RAM) in fault["message"], fault
    assert PREFIX + server.id not in our_instances(service.rapi)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.2, wait=WAIT)
    assert list(conn.compute.servers()) == []


def test_delete_while_building(service, conn, flavors, image):
    server = conn.compute.create_server(name="short-lived", image_id=image.id,
                                        flavor_id=flavors[(1, 128)].id)
    assert conn.compute.get_server(server.id).status == "BUILD"
    conn.compute.delete_server(server)  # Ganeti runs the remove after the create
    conn.compute.wait_for_delete(server, interval=0.2, wait=WAIT)
    assert list(conn.compute.servers()) == []
    # gone because Ganeti removed it, not because the remove came too early ("not
    # known") while the create went on to leave an orphan instance
    remove = service.rapi.request("GET", "/2/jobs/%d" % last_job_id(service, server.id))
    assert remove["ops"][0]["OP_ID"] == "OP_INSTANCE_REMOVE" and remove["status"] == "success"
    create_job = remove["ops"][0]["depends"][0][0]
    create = service.rapi.request("GET", "/2/jobs/%d" % int(create_job))
    assert create["ops"][0]["OP_ID"] == "OP_INSTANCE_CREATE" and create["status"] == "success"
    assert create["ops"][0]["instance_name"] == PREFIX + server.id
    assert PREFIX + server.id not in our_instances(service.rapi)


def test_instance_removed_behind_our_back_is_fixed_by_reconciliation(service, conn, flavors,
                                                                     image):
    server = conn.compute.create_server(name="gone", image_id=image.id,
                                        flavor_id=flavors[(1, 128)].id)
    watch(service, conn, server.id, "ACTIVE")
    name = PREFIX + server.id
    # Behind our back: eventd is down while an administrator removes the instance, and
    # the job is archived before eventd returns, so no event ever tells us.
    service.pipeline.stop_eventd()
    try:
        out = ganeti("gnt-instance", "remove", "--submit", "-f", name)
        job = re.search(r"JobID: (\d+)", out).group(1)
        ganeti("gnt-job", "wait", job)
        ganeti("gnt-job", "archive", job)
    finally:
        service.pipeline.start_eventd()
    assert name not in our_instances(service.rapi)
    time.sleep(1)
    assert conn.compute.get_server(server.id).status == "ACTIVE"  # the DB still believes

    found = service.manage("reconcile-servers", "--detect-stale")
    assert "stale: %s on %s" % (name, service.backend["clustername"]) in found, found
    assert conn.compute.get_server(server.id).status == "ACTIVE"  # detect changes nothing
    fixed = service.manage("reconcile-servers", "--fix-stale")
    assert "stale: %s" % name in fixed and "(fixed)" in fixed, fixed
    conn.compute.wait_for_delete(server, interval=0.2, wait=WAIT)
    assert list(conn.compute.servers()) == []
    assert service.manage("reconcile-servers").strip() == "nothing found"


def test_openstack_cli(service):
    def cli(*args):
        return openstack_cli_json(service.clouds, service.tmp, *args)
    created = cli("server", "create", "--image", "debian-12", "--flavor", "C1R128D1file",
                  "--wait", "cli-vm")
    assert created["status"] == "ACTIVE" and created["name"] == "cli-vm"
    name = PREFIX + created["id"]
    ip = service.rapi.get_instance(name)["nic.ips"][0]  # Ganeti's pool address
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(service.subnet), ip
    assert ip in json.dumps(created["addresses"]), created
    assert [(s["Name"], s["Status"]) for s in cli("server", "list")] == [("cli-vm", "ACTIVE")]
    shown = cli("server", "show", "cli-vm")
    assert shown["status"] == "ACTIVE" and shown["id"] == created["id"]
    assert ip in json.dumps(shown["addresses"]), shown
    assert _in_pool(service, ip) == "taken by " + name
    openstack_cli(service.clouds, service.tmp, "server", "delete", "--wait", "cli-vm")
    assert cli("server", "list") == []
    assert name not in our_instances(service.rapi)
    assert _in_pool(service, ip) == "free"


def snf_cloud(service, *args, check=True):
    """snf-cloud (snf-tools) with this deployment's clouds.yaml; the CompletedProcess."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environ.update(OS_CLIENT_CONFIG_FILE=str(service.clouds), HOME=str(service.tmp))
    proc = subprocess.run([os.path.join(VENV_BIN, "snf-cloud"), "--os-cloud", "asterias"]
                          + list(args), env=environ, capture_output=True, text=True,
                          timeout=120)
    if check:
        assert proc.returncode == 0, "snf-cloud %s failed:\n%s%s" % (" ".join(args),
                                                                      proc.stdout, proc.stderr)
    return proc


def test_snf_cloud(service, conn, flavors, image):
    """snf-cloud against the live deployment: Synnefo's server fields, a firewall profile
    set per NIC (checked on the Ganeti instance's tags), errors as exit status 1."""
    server = conn.compute.create_server(name="cloud-vm", image_id=image.id,
                                        flavor_id=flavors[(1, 128)].id)
    watch(service, conn, server.id, "ACTIVE")
    name = PREFIX + server.id
    shown = json.loads(snf_cloud(service, "--json", "server", "show", "cloud-vm").stdout)
    assert shown["id"] == server.id and "SNF:task_state" in shown, shown
    [nic] = [a for a in shown["SNF:attachments"] if a["mac_address"]]
    table = snf_cloud(service, "server", "list").stdout
    assert "cloud-vm" in table and "ACTIVE" in table, table
    # per NIC: by its port id (the network API's)
    [port] = list(conn.network.ports(device_id=server.id))
    rows = json.loads(snf_cloud(service, "--json", "firewall", "set", "cloud-vm", "protected",
                                "--nic", port.id).stdout)
    assert [r["firewall"] for r in rows if r["nic"] == nic["id"]] == ["PROTECTED"], rows
    wait_for("the firewall tag on the Ganeti instance",
             lambda: "synnefo:network:0:limited" in service.rapi.get_instance(name)["tags"])
    snf_cloud(service, "firewall", "set", server.id, "ENABLED", "--nic", nic["id"])
    wait_for("the new firewall tag",
             lambda: service.rapi.get_instance(name)["tags"] == ["synnefo:network:0:protected"])
    assert "ENABLED" in snf_cloud(service, "firewall", "show", "cloud-vm").stdout
    limits = json.loads(snf_cloud(service, "--json", "limits").stdout)
    assert limits["totalInstancesUsed"] == 1 and "SNF:maxTotalDiskSize" in limits, limits
    # refusals: the API's message, exit status 1
    bad = snf_cloud(service, "firewall", "set", "cloud-vm", "ENABLED", "--nic", "nic-0-9",
                    check=False)
    assert bad.returncode == 1 and "no network interface" in bad.stderr, bad
    missing = snf_cloud(service, "server", "show", "no-such-vm", check=False)
    assert missing.returncode == 1 and "no server" in missing.stderr, missing
    # no console proxy in this deployment (test_burnin_e2e has one): the API's 503
    # reaches the user as one line
    console = snf_cloud(service, "console", "cloud-vm", check=False)
    assert console.returncode == 1, console
    assert console.stderr.startswith("snf-cloud: console of server %s: " % server.id), console
    assert len(console.stderr.splitlines()) == 1, console
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.2, wait=WAIT)


def test_processes_survived(service):
    assert service.pipeline.eventd.poll() is None
    assert service.pipeline.dispatcher.poll() is None
    assert service.gunicorn.proc.poll() is None


def test_public_network_removal(service, conn):
    """Last: snf-manage network-remove takes the network and its Ganeti network away."""
    net_id = str(service.network["id"])
    out = service.manage("network-remove", net_id)
    assert "network %s deleted" % net_id in out, out
    assert [n.id for n in conn.network.networks(name="public")] == []
    assert service.network["ganeti_name"] not in ganeti_networks(service.rapi)
