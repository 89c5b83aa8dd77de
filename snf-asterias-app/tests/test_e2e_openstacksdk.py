"""The whole service for real, driven only through its API by real OpenStack clients.

Every part is the real one, each in its own process: the web project under Debian's
gunicorn on a free loopback port; snf-ganeti-eventd in the test cluster's UTS namespace;
snf-ganeti-hook installed in the cluster's instance-*-post.d hook directories (a wrapper
named 90-snfe2e<pid>-hook, removed afterwards); snf-dispatcher with two workers; a
database of its own on the real PostgreSQL (snfe2e<pid>, created and dropped here); the
real RabbitMQ (prefix snfe2e<pid>-: queues of its own, deleted afterwards); the real
Ganeti test cluster (fake hypervisor; a test OS that reports progress), added with
`snf-manage backend-add --certificate` so its RAPI certificate is pinned. Setup uses
snf-manage like an administrator would; after that everything goes through the API with
openstacksdk (password auth through our identity endpoint, and admin_token) and the
`openstack` CLI (Debian's /usr/bin/openstack), and the results are checked against
Ganeti itself (RAPI).

The public network is made as an administrator makes it: `snf-manage network-create
public --public --subnet 10.251.N.0/24 --link gnt-br0 --no-wait` (N = 200 + pid % 50, the
next one no Ganeti network uses if that is taken: concurrent runs differ), so eventd and
the dispatcher make it ACTIVE; servers get their address from Ganeti's pool, and the API
must show exactly the address Ganeti gave (`nic.ips`), which goes back to the pool when the
server is deleted. `snf-manage network-remove` removes it at the end (a dead run's Ganeti
network is disconnected and removed over RAPI: its database is gone).

Build progress: ci/ganeti.sh's snf-image stand-in reports none, so this test installs its
own OS definition (snfe2e<pid>-image, removed afterwards) whose create step feeds
image-copy-progress lines to the real snf-progress-monitor, as snf-image does.

Needs PostgreSQL, RabbitMQ and the Ganeti cluster (ci/services.sh up, ci/ganeti.sh up):
    source ci/test-env.sh; cd snf-asterias-app
    SNF_TEST_DB=postgresql ../.venv/bin/python -m pytest tests/test_e2e_openstacksdk.py
"""

import datetime
import glob
import ipaddress
import json
import os
import re
import shutil
import subprocess
import time

import pytest
from support.cluster import RAPI_PEM, env
from support.live import (
    REPO,
    VENV_BIN,
    Gunicorn,
    Pipeline,
    delete_queues,
    openstack_cli,
    openstack_cli_json,
    pipeline_settings,
    purge_queues,
    sdk_connect,
    sdk_password,
    snf_manage,
    wait_for,
    write_clouds_yaml,
)

pytestmark = pytest.mark.integration

# Names of this run (several runs may share the machine: CI and developers): the
# deployment prefix (Ganeti instance names, RabbitMQ queues), database, hook, OS.
RUN = "snfe2e%d" % os.getpid()
RUN_RE = re.compile(r"^(?:90-)?snfe2e(\d+)[-_]")
PREFIX = RUN + "-"
DB_NAME = RUN
HOOK_NAME = "90-%s-hook" % RUN
OS_ROOT = "/srv/ganeti/os"  # first directory of Ganeti's OS search path
OS_DIR = os.path.join(OS_ROOT, RUN + "-image")
GANETI_OS = RUN + "-image+default"
PASSWORD = "e2e-pass-" + "7"
# More memory than any test machine has, within the cluster's instance policy (1 TiB):
# Ganeti itself refuses to start the instance it was asked to create.
HUGE_RAM = 512 * 1024


def install_os(path, conf_dir, record_dir):
    """A Ganeti OS definition that deploys nothing and reports progress as snf-image does.

    Like ci/ganeti.sh's snf-image stand-in (same OS parameters), but its create step
    writes image-copy-progress lines into the real snf-progress-monitor, with pauses,
    so the progress goes hook-spool -> eventd -> RabbitMQ -> dispatcher -> API. It
    also records the root password it was given in ``record_dir``/<instance>.passwd.
    """
    os.makedirs(path, exist_ok=True)
    files = {
        "ganeti_api_version": "20\n",
        "variants.list": "default\n",
        "parameters.list": "".join("%s %s (test OS: ignored)\n" % (p, p) for p in (
            "img_id", "img_format", "img_passwd", "img_properties", "img_personality",
            "config_url")),
        "create": "#!/bin/sh\n# installed by snf-asterias-app/tests/test_e2e_openstacksdk.py\n"
                  "printf %%s \"$OSP_IMG_PASSWD\" > %s/\"$INSTANCE_NAME\".passwd\n"
                  "for p in 20 50 80; do\n"
                  "  printf '{\"type\": \"image-copy-progress\", \"progress\": %%d}\\n' $p\n"
                  "  sleep 0.7\n"
                  "done | SYNNEFO_SETTINGS_DIR=%s %s \"$INSTANCE_NAME\"\nexit 0\n"
                  % (record_dir, conf_dir, os.path.join(VENV_BIN, "snf-progress-monitor")),
        "export": "#!/bin/sh\nexit 0\n",
        "import": "#!/bin/sh\nexec cat > /dev/null\n",
        "rename": "#!/bin/sh\nexit 0\n",
        "verify": "#!/bin/sh\nexit 0\n",
    }
    for name, text in files.items():
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
        os.chmod(os.path.join(path, name), 0o755 if text.startswith("#!") else 0o644)


def _pg(sql, dbname="postgres"):
    import psycopg2
    conn = psycopg2.connect(host=env("SNF_TEST_PG_HOST"), port=env("SNF_TEST_PG_PORT"),
                            user=env("SNF_TEST_PG_USER"), password=env("SNF_TEST_PG_PASSWORD"),
                            dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return [row[0] for row in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


def _rapi():
    from synnefo.backend.rapi import RapiClient
    return RapiClient(env("SNF_TEST_RAPI_HOST"), env("SNF_TEST_RAPI_PORT"),
                      env("SNF_TEST_RAPI_USER"), env("SNF_TEST_RAPI_PASSWORD"))


def _our_instances(rapi):
    return {i["name"]: i for i in rapi.get_instances(bulk=True)
            if i["name"].startswith(PREFIX)}


def _remove_our_instances(rapi):
    for name in _our_instances(rapi):
        rapi.wait_for_job(rapi.delete_instance(name))


def _choose_subnet(rapi):
    """10.251.(200 + pid % 50).0/24, or the next such /24 no Ganeti network uses."""
    taken = {n["network"] for n in rapi.request("GET", "/2/networks", {"bulk": 1})}
    for i in range(50):
        cidr = "10.251.%d.0/24" % (200 + (os.getpid() + i) % 50)
        if cidr not in taken:
            return cidr
    raise AssertionError("every /24 of 10.251.200.0-10.251.249.0 is a Ganeti network: %s"
                         % sorted(taken))


def _ganeti_networks(rapi):
    return {n["name"]: n for n in rapi.request("GET", "/2/networks", {"bulk": 1})}


def _remove_ganeti_network(rapi, name):
    """Disconnect and remove a Ganeti network over RAPI (what network-remove does, for a
    network whose database is gone). Ganeti fails a disconnect ("retry the operation")
    while other tests create or remove instances on the node group: retried."""
    for _ in range(10):
        net = _ganeti_networks(rapi).get(name)
        if net is None:
            return
        jobs = [rapi.wait_for_job(rapi.request("PUT", "/2/networks/%s/disconnect" % name,
                                               body={"group_name": group[0]}))
                for group in net["group_list"]]
        if all(j["status"] == "success" for j in jobs):
            if rapi.wait_for_job(rapi.request("DELETE", "/2/networks/%s" % name))[
                    "status"] == "success":
                return
        time.sleep(0.5)
    raise AssertionError("Ganeti network %s could not be removed" % name)


def _dead_run(name):
    """True for the name of something a run of this test left behind when it died."""
    match = RUN_RE.match(name)
    return bool(match) and not os.path.exists("/proc/%s" % match.group(1))


def _clean_up_after_dead_runs(rapi):
    for inst in rapi.get_instances(bulk=True):
        name = inst["name"]
        if _dead_run(name):
            rapi.wait_for_job(rapi.delete_instance(name))
    for name in _ganeti_networks(rapi):
        if _dead_run(name):
            _remove_ganeti_network(rapi, name)
    for hook_dir in glob.glob("/etc/ganeti/hooks/instance-*-post.d"):
        for name in os.listdir(hook_dir):
            if _dead_run(name):
                os.unlink(os.path.join(hook_dir, name))
    for name in os.listdir(OS_ROOT):
        if _dead_run(name):
            shutil.rmtree(os.path.join(OS_ROOT, name), ignore_errors=True)
    for name in _pg("SELECT datname FROM pg_database WHERE datname LIKE 'snfe2e%%'"):
        if _dead_run(name + "_"):
            _pg("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)


def ganeti(*args):
    """A command inside the cluster's namespaces (ci/ganeti.sh exec); its output."""
    proc = subprocess.run([os.path.join(REPO, "ci", "ganeti.sh"), "exec"] + list(args),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, "%s failed:\n%s%s" % (" ".join(args), proc.stdout,
                                                        proc.stderr)
    return proc.stdout + proc.stderr


class Service:
    pass


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    workdir = str(tmp)
    conf = tmp / "etc"
    conf.mkdir()
    (conf / "50-e2e.conf").write_text(
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': %r, "
        "'HOST': %r, 'PORT': %r, 'USER': %r, 'PASSWORD': %r}}\n"
        "SECRET_KEY = 'e2e-test-only'\n"
        "GANETI_OS = %r\n"
        "GANETI_CLUSTER_INFO = ('', 5080, '', '')\n"
        "STATIC_ROOT = %r\n"
        % (DB_NAME, env("SNF_TEST_PG_HOST"), env("SNF_TEST_PG_PORT"),
           env("SNF_TEST_PG_USER"), env("SNF_TEST_PG_PASSWORD"), GANETI_OS, str(tmp / "static"))
        + pipeline_settings(PREFIX, workdir, env("SNF_TEST_AMQP_URL")))
    environ = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf),
                   DJANGO_SETTINGS_MODULE="synnefo.webproject.settings")
    environ.pop("OS_CLOUD", None)
    environ.pop("PYTHONPATH", None)

    rapi = _rapi()
    _clean_up_after_dead_runs(rapi)
    _pg("CREATE DATABASE %s" % DB_NAME)
    purge_queues(PREFIX, env("SNF_TEST_AMQP_URL"))

    def manage(*args, **kw):
        return snf_manage(environ, *args, **kw)

    manage("migrate", "-v0")
    # Server ids go on from past runs': Ganeti's job queue still holds their jobs about
    # <prefix><id>, and eventd republishes them when it starts. A fresh row must never
    # share its instance name with one of those (a stale REMOVE would delete it), even
    # when a PID comes back.
    _pg("SELECT setval(pg_get_serial_sequence('db_virtualmachine', 'id'), %d)"
        % int(time.time()), dbname=DB_NAME)
    manage("user-create", "alice", "--password-stdin", "--max-ram", str(HUGE_RAM + 4096),
           stdin=PASSWORD + "\n")
    # file disks: Ganeti runs no OS create step for diskless instances
    manage("flavor-create", "1,2", "128,256", "1", "file")
    manage("flavor-create", "1", str(HUGE_RAM), "1", "diskless")
    manage("image-register", "debian-12", "debian-12-diskdump", "--public", "--meta", "OS=debian")
    (tmp / "rapi-password").write_text(env("SNF_TEST_RAPI_PASSWORD") + "\n")
    added = json.loads(manage("backend-add", env("SNF_TEST_RAPI_HOST"), "--port",
                              env("SNF_TEST_RAPI_PORT"), "--username", env("SNF_TEST_RAPI_USER"),
                              "--password-file", str(tmp / "rapi-password"),
                              "--certificate", RAPI_PEM, "--json"))

    s = Service()
    s.backend = added
    assert added["pinned"], added  # the RAPI certificate is pinned in the backend row
    s.manage = manage
    s.rapi = rapi
    s.tmp = tmp
    s.admin_token = manage("token-create", "alice").strip()
    s.pipeline = Pipeline(workdir, str(conf), HOOK_NAME, environ)
    s.gunicorn = None
    s.network = None
    s.pipeline.install_hook()
    install_os(OS_DIR, str(conf), workdir)
    try:
        s.pipeline.start_eventd()
        s.pipeline.start_dispatcher(workers=2)
        s.gunicorn = Gunicorn("synnefo.webproject.wsgi:application", environ,
                              str(tmp / "gunicorn.log"))
        s.base = s.gunicorn.base
        s.clouds = write_clouds_yaml(tmp / "clouds.yaml", s.base, "alice", PASSWORD)
        # The public network, as an administrator makes it; --no-wait: only eventd and
        # the dispatcher can make it ACTIVE.
        s.subnet = _choose_subnet(rapi)
        s.network = json.loads(manage("network-create", "public", "--public", "--subnet",
                                      s.subnet, "--link", "gnt-br0", "--no-wait", "--json"))
        assert s.network["state"] == "PENDING", s.network
        assert s.network["ganeti_name"] == "%snet-%d" % (PREFIX, s.network["id"]), s.network
        user = sdk_password(s.base, "alice", PASSWORD)
        wait_for("the public network to become ACTIVE (eventd, dispatcher)",
                 lambda: user.network.get_network(str(s.network["id"])).status == "ACTIVE")
        yield s
    finally:
        if s.gunicorn is not None:
            s.gunicorn.stop()
        if s.network is not None and s.network["ganeti_name"] in _ganeti_networks(rapi):
            # not removed by test_public_network_removal (failed earlier): try the
            # product's way, which refuses while servers of ours are left
            manage("network-remove", str(s.network["id"]), check=False)
        s.pipeline.stop_all()
        s.pipeline.remove_hook()
        _remove_our_instances(rapi)
        for name in _ganeti_networks(rapi):
            if name.startswith(PREFIX):
                _remove_ganeti_network(rapi, name)
        shutil.rmtree(OS_DIR, ignore_errors=True)
        delete_queues(PREFIX, env("SNF_TEST_AMQP_URL"))
        _pg("DROP DATABASE IF EXISTS %s WITH (FORCE)" % DB_NAME)


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


def watch(service, conn, server_id, until, timeout=60):
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
    job = service.rapi.request("GET", "/2/jobs/%d" % _last_job_id(service, server.id))
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
    conn.compute.wait_for_delete(server, interval=0.2, wait=60)
    assert list(conn.compute.servers()) == [] and list(admin.compute.servers()) == []
    changed = conn.compute.get("/servers/detail?changes-since=" + since).json()["servers"]
    assert [(s["id"], s["status"]) for s in changed] == [(server.id, "DELETED")]
    assert name not in _our_instances(service.rapi)
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
    net = _ganeti_networks(service.rapi)[service.network["ganeti_name"]]
    offset = int(ipaddress.ip_address(ip)) - int(ipaddress.ip_network(net["network"])[0])
    owners = [i for i in net["inst_list"] if ip in service.rapi.get_instance(i)["nic.ips"]]
    if net["map"][offset] == "X":
        return "taken by " + ",".join(owners)
    assert not owners, (ip, owners)
    return "free"


def _last_job_id(service, server_id):
    """The newest Ganeti job the dispatcher recorded for the server (snf-manage server-show)."""
    shown = json.loads(service.manage("server-show", str(server_id), "--json"))
    return int(shown["backendjobid"])


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
    assert PREFIX + server.id not in _our_instances(service.rapi)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.2, wait=60)
    assert list(conn.compute.servers()) == []


def test_delete_while_building(service, conn, flavors, image):
    server = conn.compute.create_server(name="short-lived", image_id=image.id,
                                        flavor_id=flavors[(1, 128)].id)
    assert conn.compute.get_server(server.id).status == "BUILD"
    conn.compute.delete_server(server)  # Ganeti runs the remove after the create
    conn.compute.wait_for_delete(server, interval=0.2, wait=60)
    assert list(conn.compute.servers()) == []
    # gone because Ganeti removed it, not because the remove came too early ("not
    # known") while the create went on to leave an orphan instance
    remove = service.rapi.request("GET", "/2/jobs/%d" % _last_job_id(service, server.id))
    assert remove["ops"][0]["OP_ID"] == "OP_INSTANCE_REMOVE" and remove["status"] == "success"
    create_job = remove["ops"][0]["depends"][0][0]
    create = service.rapi.request("GET", "/2/jobs/%d" % int(create_job))
    assert create["ops"][0]["OP_ID"] == "OP_INSTANCE_CREATE" and create["status"] == "success"
    assert create["ops"][0]["instance_name"] == PREFIX + server.id
    assert PREFIX + server.id not in _our_instances(service.rapi)


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
    assert name not in _our_instances(service.rapi)
    time.sleep(1)
    assert conn.compute.get_server(server.id).status == "ACTIVE"  # the DB still believes

    found = service.manage("reconcile-servers", "--detect-stale")
    assert "stale: %s on %s" % (name, service.backend["clustername"]) in found, found
    assert conn.compute.get_server(server.id).status == "ACTIVE"  # detect changes nothing
    fixed = service.manage("reconcile-servers", "--fix-stale")
    assert "stale: %s" % name in fixed and "(fixed)" in fixed, fixed
    conn.compute.wait_for_delete(server, interval=0.2, wait=30)
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
    assert name not in _our_instances(service.rapi)
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
    conn.compute.wait_for_delete(server, interval=0.2, wait=60)


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
    assert service.network["ganeti_name"] not in _ganeti_networks(service.rapi)
