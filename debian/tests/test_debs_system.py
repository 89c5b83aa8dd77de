"""Install each node type's packages with apt-get, run every service through its init
script, upgrade keeping local edits, purge and find nothing left.

The tests run in file order and share the machine's package state; the session
fixture `clean_system` purges everything of ours before and after, also on failure.
"""

import grp
import json
import os
import pwd
import re
import secrets
import signal
import stat
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import (GANETI_UTS, NODE_TYPES, control_packages, enable_variable,
                      installed_ours, purge_all, run, services, stop_all_services)

pytestmark = pytest.mark.usefixtures("clean_system")

PREFIX = "snfdebtest-"          # BACKEND_PREFIX_ID: queues of our own on the shared broker
GUNICORN_PORT = 18471           # not 8080 (the shipped default) and not make demo's 8000
NFQUEUE_BASE = 4271             # nfdhcpd's queues; never the defaults other tests bind
AMQP_URL = os.environ.get("SNF_TEST_AMQP_URL",
                          "amqp://synnefo:synnefo-test@127.0.0.1:5672/synnefo-test")
# The test cluster's node name lives in its own UTS namespace: there this machine
# is the Ganeti master (network stays the host's, so the broker is reachable).
IN_GANETI_NODE = ["nsenter", "--uts=" + GANETI_UTS]


# ---------------------------------------------------------------- helpers

def node_packages(*types):
    have = set(control_packages())
    return sorted({p for t in types for p in NODE_TYPES[t] if p in have})


def apt_install(debs):
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "-o", "DPkg::Lock::Timeout=300",
         "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold"]
        + ["./" + os.path.relpath(d) if not str(d).startswith("/") else str(d) for d in debs],
        timeout=600)


def ensure_node(debs, *types):
    """Exactly the packages of these node types (and their Depends) installed, fresh."""
    wanted = debs.closure(node_packages(*types))
    names = sorted(p.name.split("_")[0] for p in wanted)
    if sorted(installed_ours()) != names:
        purge_all()
        apt_install(wanted)
    assert sorted(installed_ours()) == names
    return names


def set_vars(path, **values):
    """Set VAR=value lines of a shell-syntax defaults file (appending missing ones)."""
    text = Path(path).read_text()
    for var, value in values.items():
        line = '%s="%s"' % (var, value)
        text, n = re.subn(r"^%s=.*$" % var, line, text, flags=re.M)
        if not n:
            text += line + "\n"
    Path(path).write_text(text)


def configure_synnefo(extra="", prefix=PREFIX):
    """Point the installed packages at the test broker through 99-local.conf."""
    conf = Path("/etc/synnefo/99-local.conf")
    text = conf.read_text()
    marker = "## package tests\n"
    if marker in text:
        text = text[:text.index(marker)]
    text += marker + ('BACKEND_PREFIX_ID = "%s"\nAMQP_HOSTS = [%r]\n' % (prefix, AMQP_URL)) \
        + ('API_PUBLIC_BASE_URL = "http://127.0.0.1:%d"\n' % GUNICORN_PORT) + extra
    conf.write_text(text)


def as_synnefo(*cmd):
    return run(["runuser", "-u", "synnefo", "--"] + list(cmd), timeout=300)


def delete_test_queues(prefix=PREFIX):
    vhost = AMQP_URL.rsplit("/", 1)[1] or "/"
    res = run(["rabbitmqctl", "-q", "list_queues", "-p", vhost, "name"], check=False)
    for name in res.stdout.split():
        if name.startswith(prefix.rstrip("-") + "-"):
            run(["rabbitmqctl", "-q", "delete_queue", "-p", vhost, name], check=False)


def procname(service):
    return "gunicorn" if service == "snf-gunicorn" else service[:15]


def pidfile(service):
    if service == "nfdhcpd":
        m = re.search(r"^\s*pidfile\s*=\s*(\S+)", Path("/etc/nfdhcpd/nfdhcpd.conf").read_text(),
                      re.M)
        return Path(m.group(1))
    return Path("/run/synnefo/%s.pid" % service)


def comm(pid):
    try:
        return Path("/proc/%d/comm" % pid).read_text().strip()
    except (FileNotFoundError, ProcessLookupError):
        return None


def ppid(pid):
    try:
        return int(Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None


def state(pid):
    try:
        return Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return None


def daemons(service):
    """Pids of the service's live top-level processes (workers are their children).

    Zombies do not count: this container's PID 1 reaps the exited intermediate
    processes of a daemon's double fork only after a moment.
    """
    name = procname(service)
    # Other suites (and `make demo`) run daemons of the same names from the source
    # tree: ours are those started with the init script's pid file or config.
    mark = "/etc/nfdhcpd/nfdhcpd.conf" if service == "nfdhcpd" else str(pidfile(service))
    pids = [int(p) for p in os.listdir("/proc")
            if p.isdigit() and comm(int(p)) == name and state(int(p)) not in (None, "Z")
            and mark in cmdline(int(p))]
    return sorted(p for p in pids if comm(ppid(p) or 0) != name)


def cmdline(pid):
    try:
        return Path("/proc/%d/cmdline" % pid).read_bytes().replace(b"\0", b" ").decode(
            errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return ""


def wait_gone(pid, timeout=30, reaped=False):
    """Wait for pid to exit (reaped: until PID 1 collected it, as a real init does at once)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if state(pid) is None or (state(pid) == "Z" and not reaped):
            return True
        time.sleep(0.1)
    return False


def running_pid(service, timeout=15):
    """The service's pid from its pid file; a daemon writes that file a moment after its
    init script returned (gunicorn once it has bound its socket), so wait for it."""
    end = time.monotonic() + timeout
    while True:
        try:
            pid = int(pidfile(service).read_text().split()[0])
            if comm(pid) == procname(service):
                return pid
        except (OSError, ValueError, IndexError):
            pid = None
        if time.monotonic() > end:
            raise AssertionError("no live %s pid file after %d s (pid %s)"
                                 % (service, timeout, pid))
        time.sleep(0.1)


def init(service, action, ns=()):
    return run(list(ns) + ["/etc/init.d/" + service, action], check=False, timeout=120)


def ok(res):
    assert res.returncode == 0, "exit %d: %s %s" % (res.returncode, res.stdout, res.stderr)
    return res


def exercise_service(service, ns=(), check_up=None):
    """start/status/restart/force-reload/stop through the init script, the ENABLE
    switch of /etc/default/<service>, stale pid files, no double start."""
    default = "/etc/default/" + service
    var = enable_variable(service)

    set_vars(default, **{var: "false"})
    res = ok(init(service, "start", ns))
    assert "disabled" in res.stdout + res.stderr
    assert init(service, "status", ns).returncode == 3
    assert daemons(service) == []

    set_vars(default, **{var: "true"})
    ok(init(service, "start", ns))
    assert ok(init(service, "status", ns))
    pid = running_pid(service)
    if check_up:
        check_up()

    ok(init(service, "start", ns))                 # a second start starts nothing
    assert running_pid(service) == pid
    assert daemons(service) == [pid]

    ok(init(service, "restart", ns))
    new = running_pid(service)
    assert new != pid and wait_gone(pid)
    assert daemons(service) == [new]
    if check_up:
        check_up()

    ok(init(service, "force-reload", ns))
    assert init(service, "status", ns).returncode == 0

    # A crash leaves a pid file behind: status says so, a start is not blocked.
    pid = running_pid(service)
    pgid = os.getpgid(pid)
    assert pgid != os.getpgrp()
    os.killpg(pgid, signal.SIGKILL)
    assert wait_gone(pid, reaped=True)
    assert pidfile(service).exists()
    assert init(service, "status", ns).returncode == 1
    ok(init(service, "start", ns))
    assert running_pid(service) != pid
    # A pid file naming a live process that is not the daemon: not "running".
    ok(init(service, "stop", ns))
    pidfile(service).parent.mkdir(parents=True, exist_ok=True)
    pidfile(service).write_text("%d\n" % os.getpid())
    assert init(service, "status", ns).returncode == 1
    ok(init(service, "start", ns))
    assert running_pid(service) != os.getpid()
    if check_up:
        check_up()

    ok(init(service, "stop", ns))
    assert init(service, "status", ns).returncode == 3
    assert daemons(service) == []
    assert not pidfile(service).exists()
    ok(init(service, "stop", ns))                  # stopping a stopped service is fine

    # The *_OPTS variable reaches the daemon (the original's defaults file once set a
    # variable its init script never read).
    if service in OPTS_PROBES:
        opts_var, value, check = OPTS_PROBES[service]
        before = Path(default).read_text()
        set_vars(default, **{opts_var: value})
        try:
            ok(init(service, "start", ns))
            pid = running_pid(service)
            assert value in cmdline(pid), cmdline(pid)
            if check:
                check(pid)
        finally:
            init(service, "stop", ns)
            Path(default).write_text(before)


def three_workers(pid):
    end = time.monotonic() + 20
    while len(children(pid)) != 3 and time.monotonic() < end:
        time.sleep(0.2)
    assert len(children(pid)) == 3, children(pid)


def children(pid):
    return [int(p) for p in os.listdir("/proc") if p.isdigit() and ppid(int(p)) == pid
            and state(int(p)) not in (None, "Z")]


# service: (variable, value, extra check of the running daemon's pid)
OPTS_PROBES = {
    "snf-dispatcher": ("SNF_DISPATCHER_OPTS", "--workers 3", three_workers),
    "snf-ganeti-eventd": ("SNF_EVENTD_OPTS", "--no-master-check", None),
    "nfdhcpd": ("NFDHCPD_OPTS", "--debug", None),
}


def mode_owner(path):
    st = os.stat(path)
    return (stat.S_IMODE(st.st_mode), pwd.getpwuid(st.st_uid).pw_name,
            grp.getgrgid(st.st_gid).gr_name)


def check_common_layout():
    pw = pwd.getpwnam("synnefo")
    assert pw.pw_shell in ("/usr/sbin/nologin", "/bin/false") and pw.pw_uid < 1000
    assert mode_owner("/etc/synnefo") == (0o750, "root", "synnefo")
    for f in Path("/etc/synnefo").iterdir():
        assert mode_owner(f) == (0o640, "root", "synnefo"), f
    assert mode_owner("/var/lib/synnefo") == (0o750, "synnefo", "synnefo")
    assert mode_owner("/var/log/synnefo") == (0o750, "synnefo", "synnefo")
    assert mode_owner("/run/synnefo") == (0o775, "synnefo", "synnefo")


# ---------------------------------------------------------------- node types

def test_apiserver_node_serves_the_api_with_gunicorn(debs):
    ensure_node(debs, "APISERVER")
    check_common_layout()
    configure_synnefo()
    # The packages never migrate by themselves; the documented command does.
    as_synnefo("snf-manage", "migrate", "--noinput")
    as_synnefo("snf-manage", "check")
    assert Path("/usr/share/synnefo/static/webproject/base.css").is_file()

    set_vars("/etc/default/snf-gunicorn",
             SNF_GUNICORN_OPTS="--bind 127.0.0.1:%d --workers 2" % GUNICORN_PORT)

    def api_up():
        end = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/compute" % GUNICORN_PORT,
                                            timeout=5) as resp:
                    body = json.load(resp)
                break
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.3)
        assert "versions" in body or "version" in body, body

    exercise_service("snf-gunicorn", check_up=api_up)
    # gunicorn ran as the synnefo user and logged where the config says.
    assert Path("/var/log/synnefo/gunicorn-error.log").stat().st_uid == pwd.getpwnam("synnefo").pw_uid


def test_logic_node_runs_the_dispatcher(debs):
    ensure_node(debs, "LOGIC")
    check_common_layout()
    configure_synnefo()
    as_synnefo("snf-manage", "migrate", "--noinput")
    try:
        exercise_service("snf-dispatcher")
    finally:
        delete_test_queues()
    assert Path("/var/log/synnefo/dispatcher.log").exists()


def test_ganeti_master_node_hooks_and_eventd(debs):
    ensure_node(debs, "GANETI-MASTER")
    check_common_layout()
    configure_synnefo()
    for op in ("add", "modify", "reboot", "start", "stop", "remove"):
        link = Path("/etc/ganeti/hooks/instance-%s-post.d/snf-ganeti-hook" % op)
        assert link.is_symlink() and os.access(link.resolve(), os.X_OK), link
    assert os.access("/etc/ganeti/kvm-vif-bridge", os.X_OK)

    # This machine is not the Ganeti master: the init script declines, cleanly.
    set_vars("/etc/default/snf-ganeti-eventd", SNF_EVENTD_ENABLE="true")
    res = ok(init("snf-ganeti-eventd", "start"))
    assert "not the Ganeti master" in res.stdout + res.stderr
    assert init("snf-ganeti-eventd", "status").returncode == 3
    assert daemons("snf-ganeti-eventd") == []

    # Inside the test cluster's node (its own hostname), it is the master.
    assert os.path.exists(GANETI_UTS), "the Ganeti test cluster is down: run ci/ganeti.sh up"
    exercise_service("snf-ganeti-eventd", ns=IN_GANETI_NODE)


def test_ganeti_node_runs_nfdhcpd(debs):
    ensure_node(debs, "GANETI-NODE")
    conf = Path("/etc/nfdhcpd/nfdhcpd.conf")
    text = conf.read_text()
    for i, key in enumerate(("dhcp_queue", "rs_queue", "ns_queue", "dhcpv6_queue")):
        text = re.sub(r"^%s\s*=.*$" % key, "%s = %d" % (key, NFQUEUE_BASE + i), text, flags=re.M)
    conf.write_text(text)
    exercise_service("nfdhcpd")


# ---------------------------------------------------------------- a whole deployment

PG = dict(host=os.environ.get("SNF_TEST_PG_HOST", "127.0.0.1"),
          port=os.environ.get("SNF_TEST_PG_PORT", "5432"),
          user=os.environ.get("SNF_TEST_PG_USER", "synnefo"),
          password=os.environ.get("SNF_TEST_PG_PASSWORD", "synnefo-test"))
E2E_DB = "snfdebtest"
RAPI = dict(host=os.environ.get("SNF_TEST_RAPI_HOST", "10.251.0.10"),
            port=int(os.environ.get("SNF_TEST_RAPI_PORT", "5080")),
            user=os.environ.get("SNF_TEST_RAPI_USER", "ganeti-test"),
            password=os.environ.get("SNF_TEST_RAPI_PASSWORD", "ganeti-secret"))
E2E_PASSWORD = "debtest-" + "pass"


def psql(sql):
    run(["psql", "-q", "-v", "ON_ERROR_STOP=1", "-h", PG["host"], "-p", PG["port"],
         "-U", PG["user"], "-d", "postgres", "-c", sql], env={"PGPASSWORD": PG["password"]})


def rapi(method, path):
    import base64
    import ssl
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # the test cluster's self-signed certificate
    req = urllib.request.Request("https://%s:%d%s" % (RAPI["host"], RAPI["port"], path),
                                 method=method)
    token = base64.b64encode(("%s:%s" % (RAPI["user"], RAPI["password"])).encode()).decode()
    req.add_header("Authorization", "Basic " + token)
    with urllib.request.urlopen(req, context=ctx, timeout=30) as resp:
        return json.load(resp)


def remove_test_instances(prefix):
    for inst in rapi("GET", "/2/instances"):
        name = inst["id"] if isinstance(inst, dict) else inst
        if name.startswith(prefix):
            job = rapi("DELETE", "/2/instances/%s" % name)
            end = time.monotonic() + 120
            while rapi("GET", "/2/jobs/%s" % job)["status"] not in ("success", "error",
                                                                  "canceled"):
                assert time.monotonic() < end, "Ganeti job %s did not finish" % job
                time.sleep(1)


def test_installed_packages_run_a_whole_deployment(debs):
    """From the installed packages only: settings for PostgreSQL, RabbitMQ and the Ganeti
    test cluster in /etc/synnefo, daemons started by their init scripts, the API under
    gunicorn; openstacksdk creates a server and sees it ACTIVE (Ganeti job -> eventd ->
    RabbitMQ -> dispatcher -> PostgreSQL -> API)."""
    import openstack

    ensure_node(debs, *NODE_TYPES)
    assert os.path.exists(GANETI_UTS), "the Ganeti test cluster is down: run ci/ganeti.sh up"
    psql("DROP DATABASE IF EXISTS %s" % E2E_DB)
    psql("CREATE DATABASE %s" % E2E_DB)
    # A prefix of this run's own: the cluster's job history still holds the events of
    # earlier runs' instances, whose names (prefix + VM id) a fresh database would reuse.
    prefix = "snfdeb%s-" % secrets.token_hex(3)
    configure_synnefo(prefix=prefix, extra=
        'DATABASES = {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": %r,\n'
        '    "USER": %r, "PASSWORD": %r, "HOST": %r, "PORT": %r}}\n'
        'SECRET_KEY = "package-test-only"\n'
        'GANETI_MASTER_IP = %r\n'
        'GANETI_CLUSTER_INFO = (%r, %d, %r, %r)\n'
        % (E2E_DB, PG["user"], PG["password"], PG["host"], PG["port"], RAPI["host"],
           RAPI["host"], RAPI["port"], RAPI["user"], RAPI["password"]))
    base = "http://127.0.0.1:%d" % GUNICORN_PORT
    try:
        as_synnefo("snf-manage", "migrate", "--noinput", "-v0")
        run(["snf-manage", "backend-add", RAPI["host"], "--port", str(RAPI["port"]),
             "--username", RAPI["user"], "--password-file", "/dev/stdin",
             "--certificate", "/var/lib/ganeti/rapi.pem"], input=RAPI["password"] + "\n")
        run(["snf-manage", "user-create", "debtest", "--password-stdin"],
            input=E2E_PASSWORD + "\n")
        run(["snf-manage", "flavor-create", "1", "128", "1", "diskless"])
        run(["snf-manage", "image-register", "debian-12", "debian-12", "--public"])
        run(["snf-manage", "shell", "-c",
             "from synnefo.db.models import Network; Network.objects.create(name='public', "
             "public=True, state='ACTIVE', type='PUBLIC_ROUTED', link='gnt-br0')"])

        set_vars("/etc/default/snf-gunicorn", SNF_GUNICORN_ENABLE="true",
                 SNF_GUNICORN_OPTS="--bind 127.0.0.1:%d --workers 2" % GUNICORN_PORT)
        set_vars("/etc/default/snf-dispatcher", SNF_DISPATCHER_ENABLE="true")
        set_vars("/etc/default/snf-ganeti-eventd", SNF_EVENTD_ENABLE="true")
        ok(init("snf-gunicorn", "start"))
        ok(init("snf-dispatcher", "start"))
        ok(init("snf-ganeti-eventd", "start", IN_GANETI_NODE))
        assert init("snf-ganeti-eventd", "status", IN_GANETI_NODE).returncode == 0

        conn = openstack.connect(auth_url=base + "/identity/v3", username="debtest",
                                 password=E2E_PASSWORD, project_name="debtest",
                                 user_domain_name="Default", project_domain_name="Default",
                                 region_name="RegionOne",
                                 load_yaml_config=False, load_envvars=False)
        flavor = [f for f in conn.compute.flavors() if f.vcpus == 1 and f.ram == 128][0]
        image = conn.image.find_image("debian-12")
        server = conn.compute.create_server(name="debtest-vm", image_id=image.id,
                                            flavor_id=flavor.id)
        server = conn.compute.wait_for_server(server, status="ACTIVE", wait=240, interval=1)
        assert server.status == "ACTIVE"
        # ACTIVE came from Ganeti's own job, through eventd and the dispatcher.
        names = [i["id"] if isinstance(i, dict) else i for i in rapi("GET", "/2/instances")]
        assert [n for n in names if n.startswith(prefix)], names
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, wait=240, interval=1)
    except BaseException:
        for log in ("dispatcher.log", "snf-ganeti-eventd.log", "gunicorn-error.log"):
            p = Path("/var/log/synnefo") / log
            if p.exists():
                print("--- %s (tail)\n%s" % (p, p.read_text()[-3000:]))
        raise
    finally:
        stop_all_services()
        remove_test_instances(prefix)
        delete_test_queues(prefix)
        configure_synnefo()
        psql("DROP DATABASE IF EXISTS %s" % E2E_DB)


# ---------------------------------------------------------------- upgrade, purge

def test_upgrade_keeps_local_edits_and_running_services(debs):
    ensure_node(debs, *NODE_TYPES)
    local = Path("/etc/synnefo/99-local.conf")
    local.write_text(local.read_text() + "# local edit kept across upgrades\n")
    set_vars("/etc/default/nfdhcpd", NFDHCPD_ENABLE="true")
    nfconf = Path("/etc/nfdhcpd/nfdhcpd.conf")
    nfconf.write_text(re.sub(r"^dhcp_queue\s*=.*$", "dhcp_queue = %d" % NFQUEUE_BASE,
                             nfconf.read_text(), flags=re.M))
    nfconf.write_text(re.sub(r"^rs_queue\s*=.*$", "rs_queue = %d" % (NFQUEUE_BASE + 1),
                             nfconf.read_text(), flags=re.M))
    nfconf.write_text(re.sub(r"^ns_queue\s*=.*$", "ns_queue = %d" % (NFQUEUE_BASE + 2),
                             nfconf.read_text(), flags=re.M))
    nfconf.write_text(re.sub(r"^dhcpv6_queue\s*=.*$", "dhcpv6_queue = %d" % (NFQUEUE_BASE + 3),
                             nfconf.read_text(), flags=re.M))
    ok(init("nfdhcpd", "start"))
    pid = running_pid("nfdhcpd")

    apt_install(debs.closure(node_packages(*NODE_TYPES), "upgrade"))

    for pkg in installed_ours():
        v = run(["dpkg-query", "-W", "-f", "${Version}", pkg]).stdout
        assert v == debs.upgrade_version, (pkg, v)
    assert "# local edit kept across upgrades" in local.read_text()
    assert "dhcp_queue = %d" % NFQUEUE_BASE in nfconf.read_text()
    assert 'NFDHCPD_ENABLE="true"' in Path("/etc/default/nfdhcpd").read_text()
    check_common_layout()
    for service in services():
        res = run(["systemd-analyze", "verify", "/lib/systemd/system/%s.service" % service],
                  check=False)
        assert res.returncode == 0 and not res.stderr.strip(), (service, res.stderr)
    leftovers = [str(p) for d in ("/etc/synnefo", "/etc/nfdhcpd", "/etc/default", "/etc/ganeti")
                 for p in Path(d).glob("*.dpkg-*")]
    assert leftovers == []
    # Not stopped by the upgrade (dpkg may not restart it here: policy-rc.d).
    assert running_pid("nfdhcpd") == pid
    ok(init("nfdhcpd", "restart"))
    assert running_pid("nfdhcpd") != pid
    ok(init("nfdhcpd", "stop"))


def test_purge_leaves_nothing_behind(debs):
    ensure_node(debs, *NODE_TYPES)
    # Shipped paths: every file and link of every package.
    shipped = set()
    for deb in debs.closure(node_packages(*NODE_TYPES)):
        for line in run(["dpkg-deb", "-c", deb]).stdout.splitlines():
            if not line.startswith("d"):
                shipped.add(line.split(None, 5)[5].split(" -> ")[0][1:])
    stop_all_services()
    run(["apt-get", "purge", "-y", "-q", "-o", "DPkg::Lock::Timeout=300"] + installed_ours(), timeout=300)

    assert installed_ours() == []
    left = sorted(p for p in shipped if os.path.lexists(p))
    assert left == [], "shipped files left after purge: %s" % left
    runtime = ["/etc/synnefo", "/var/lib/synnefo", "/var/log/synnefo", "/run/synnefo",
               "/etc/nfdhcpd", "/var/lib/nfdhcpd", "/var/log/nfdhcpd", "/run/nfdhcpd",
               "/usr/lib/python3/dist-packages/synnefo", "/usr/share/synnefo"]
    assert [p for p in runtime if os.path.lexists(p)] == []
    # No rc.d or systemd links, hook links or other links into what is gone.
    names = list(services()) + ["snf-ganeti-hook", "kvm-vif-bridge"]
    dangling = []
    for top in ("/etc/rc0.d", "/etc/rc1.d", "/etc/rc2.d", "/etc/rc3.d", "/etc/rc4.d",
                "/etc/rc5.d", "/etc/rc6.d", "/etc/rcS.d", "/etc/systemd/system", "/etc/ganeti"):
        for root, dirs, files in os.walk(top):
            for f in files + dirs:
                p = os.path.join(root, f)
                if any(n in f for n in names) or (os.path.islink(p) and not os.path.exists(p)):
                    dangling.append(p)
    assert dangling == []
    assert [p for p in Path("/usr/lib/python3/dist-packages").glob("snf_*")] == []
    assert [p for p in Path("/usr/lib/python3/dist-packages").glob("nfdhcpd*")] == []
    for service in services():
        assert daemons(service) == [], service
