"""Each node type on a machine that holds nothing of ours: a clean bookworm root
(ci/noderoot.py) into which only the node's .debs are installed with apt-get,
dependencies from the archive (Recommends off, so whatever the node needs must be a
Depends). Inside the node (own namespaces, PID 1 not systemd) every service runs
through its init script and is shown to work:

  APISERVER      snf-gunicorn: a token from /identity/v3, the server list with it;
                 an internal error's request id and traceback in gunicorn-error.log;
                 snf-vncauthproxy: its control socket opens a forwarding
  LOGIC          snf-dispatcher: consumes a Ganeti event from RabbitMQ (a QUEUE node)
                 and applies it to the database
  GANETI-MASTER  snf-ganeti-eventd: refuses before the node is a Ganeti master; after
                 gnt-cluster init it runs and publishes a real Ganeti job's events
  GANETI-NODE    snf-ganeti-eventd refuses (not the master); nfdhcpd answers a DHCP
                 client in a VM namespace with the bound address; the snf-image OS
                 provider verifies parameters and writes an image
  CLIENT         snf-tools alone (no Django, no other package of ours): snf-burnin,
                 snf-cloud and snf-admin start, with man pages and completions; burnin
                 and snf-cloud load every module they need: a login they cannot make is
                 exit status 2 with one line

and each service's init script behaves (disabled by default, no double start,
restart, stale pid files, stop); an upgrade to the next build keeps local edits.
Nothing is installed on this machine.
"""

import concurrent.futures
import json
import os
import re
import sys
import time

import pytest
from support.debs import NODE_TYPES, TOP, control_packages, enable_variable, services

sys.path.insert(0, str(TOP / "ci"))
import noderoot  # noqa: E402

PREFIX = "snft-"                 # BACKEND_PREFIX_ID of these nodes
MQ_USER, MQ_PASS, MQ_VHOST = "synnefo", "mq-" + "secret", "synnefo"
USER, PASSWORD = "debtest", "debtest-" + "pass"


# ---------------------------------------------------------------- nodes

@pytest.fixture(scope="module")
def cloud():
    """One run: a bridge, nodes added by the tests; all torn down at the end."""
    with noderoot.Run("debs") as run:
        yield run, run.net()


# node name: node types whose packages it gets
NODES = {"api": ["APISERVER"], "logic": ["LOGIC"], "gnt1": ["GANETI-MASTER"],
         "gnt2": ["GANETI-NODE"], "client": ["CLIENT"]}


@pytest.fixture(scope="module")
def nodes(cloud, debs):
    """Every node prepared at once (the installs wait mostly on apt and dpkg): name ->
    future of the started node; a test takes the one it needs (its failure shows there)."""
    run, net = cloud
    net.address("gntc")                    # the Ganeti cluster's (master) IP
    roots = {name: run.node(name, noderoot.tarball("base"), net) for name in NODES}
    roots["vm"] = run.node("vm", noderoot.tarball("base"))
    roots["mq"] = run.node("mq", noderoot.tarball("mq", ["rabbitmq-server"]), net)
    jobs = {name: (install_ours, (roots[name], debs, types)) for name, types in NODES.items()}
    jobs["vm"] = (install_vm, (roots["vm"],))
    jobs["mq"] = (start_mq, (roots["mq"],))
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        yield {name: pool.submit(fn, *args) for name, (fn, args) in jobs.items()}


@pytest.fixture(scope="module")
def mq(nodes):
    return nodes["mq"].result()


def start_mq(node):
    """QUEUE node: Debian's rabbitmq-server (not ours: from a cached role tarball)."""
    node.start()
    node.run("/etc/init.d/rabbitmq-server start", timeout=180)
    for cmd in (["add_vhost", MQ_VHOST], ["add_user", MQ_USER, MQ_PASS],
                ["set_permissions", "-p", MQ_VHOST, MQ_USER, ".*", ".*", ".*"]):
        node.run(["rabbitmqctl", "-q"] + cmd)
    return node


def install_vm(node):
    """A "VM" for the DHCP test: a clean root with busybox's udhcpc, no bridge."""
    node.install(["busybox"])
    return node.start()


def amqp_url(mq):
    return "amqp://%s:%s@%s:5672/%s" % (MQ_USER, MQ_PASS, mq.hostname, MQ_VHOST)


def node_packages(*types):
    have = set(control_packages())
    return sorted({p for t in types for p in NODE_TYPES[t] if p in have})


def install_ours(node, debs, types):
    """Exactly these node types' packages (and our Depends) installed; node started."""
    wanted = debs.closure(node_packages(*types))
    t0 = time.monotonic()
    node.install(wanted)
    print("%s: apt-get install took %.1f s" % (node.name, time.monotonic() - t0))
    names = node.chroot("dpkg-query -W -f '${Package} ${db:Status-Abbrev}\\n' %s"
                        % " ".join(control_packages()), check=False).stdout
    ours = sorted(line.split()[0] for line in names.splitlines()
                  if len(line.split()) > 1 and line.split()[1] == "ii")
    assert ours == sorted(p.name.split("_")[0] for p in wanted)
    return node.start()


def configure(node, text):
    """Deployment settings in /etc/synnefo/99-local.conf (as the docs say)."""
    path = node.path("/etc/synnefo/99-local.conf")
    path.write_text(path.read_text() + "\n## package tests\n" + text)


def set_vars(node, service, **values):
    path = node.path("/etc/default/" + service)
    text = path.read_text()
    for var, value in values.items():
        line = '%s="%s"' % (var, value)
        text, n = re.subn(r"^%s=.*$" % var, line, text, flags=re.M)
        if not n:
            text += line + "\n"
    path.write_text(text)


def as_synnefo(node, *cmd, **kw):
    return node.run(["runuser", "-u", "synnefo", "--"] + list(cmd), **kw)


def check_common_layout(node):
    pw = node.run("getent passwd synnefo").stdout.split(":")
    assert pw[6].strip() in ("/usr/sbin/nologin", "/bin/false") and int(pw[2]) < 1000
    out = node.run("stat -c '%a %U %G %n' /etc/synnefo /etc/synnefo/* /var/lib/synnefo "
                   "/var/log/synnefo").stdout.splitlines()
    modes = {line.split()[3]: tuple(line.split()[:3]) for line in out}
    assert modes.pop("/etc/synnefo") == ("750", "root", "synnefo")
    assert modes.pop("/var/lib/synnefo") == ("750", "synnefo", "synnefo")
    assert modes.pop("/var/log/synnefo") == ("750", "synnefo", "synnefo")
    assert modes and all(v == ("640", "root", "synnefo") for v in modes.values()), modes


# ---------------------------------------------------------------- init scripts

def procname(service):
    return "gunicorn" if service == "snf-gunicorn" else service[:15]


def pidfile(node, service):
    """Path of the service's pid file inside the node (under its own tmpfs /run:
    read it with node.run, not through node.path)."""
    if service == "nfdhcpd":
        m = re.search(r"^\s*pidfile\s*=\s*(\S+)",
                      node.path("/etc/nfdhcpd/nfdhcpd.conf").read_text(), re.M)
        return m.group(1)
    return "/run/synnefo/%s.pid" % service


def read_pidfile(node, service):
    res = node.run(["cat", pidfile(node, service)], check=False)
    return res.stdout if res.returncode == 0 else None


def procs(node):
    """{pid: (ppid, pgid, state, comm)} of the node's processes (its own PID ns)."""
    out = node.run("ps -e -o pid=,ppid=,pgid=,stat=,comm=").stdout
    return {int(f[0]): (int(f[1]), int(f[2]), f[3], f[4])
            for f in (line.split(None, 4) for line in out.splitlines())}


def daemons(node, service):
    """Pids of the service's live top-level processes (workers are their children)."""
    ps, name = procs(node), procname(service)
    return sorted(p for p, (pp, _, st, c) in ps.items()
                  if c == name and not st.startswith("Z")
                  and ps.get(pp, (0, 0, "", ""))[3] != name)


def running_pid(node, service, timeout=60):  # a bound for a broken build only
    end = time.monotonic() + timeout
    while True:
        try:
            pid = int(read_pidfile(node, service).split()[0])
            if pid in daemons(node, service):
                return pid
        except (AttributeError, ValueError, IndexError):
            pid = None
        assert time.monotonic() < end, "no live %s pid file (pid %s)" % (service, pid)
        time.sleep(0.1)


def wait_gone(node, pid, timeout=60):
    end = time.monotonic() + timeout
    while pid in procs(node) and not procs(node).get(pid, (0, 0, "Z"))[2].startswith("Z"):
        assert time.monotonic() < end, "pid %d still alive" % pid
        time.sleep(0.1)


def init(node, service, action):
    return node.run(["/etc/init.d/" + service, action], check=False, timeout=120)


def ok(res):
    assert res.returncode == 0, "exit %d: %s %s" % (res.returncode, res.stdout, res.stderr)
    return res


def exercise_service(node, service, check_up=None):
    """The init script: disabled by default, start/status, no double start, restart,
    force-reload, a crash's stale pid file, a pid file naming another process, stop.
    Leaves the service running."""
    var = enable_variable(service)
    res = ok(init(node, service, "start"))
    assert "disabled" in res.stdout + res.stderr
    assert init(node, service, "status").returncode == 3
    assert daemons(node, service) == []

    set_vars(node, service, **{var: "true"})
    ok(init(node, service, "start"))
    ok(init(node, service, "status"))
    pid = running_pid(node, service)
    if check_up:
        check_up()
    ok(init(node, service, "start"))                       # starts nothing
    assert running_pid(node, service) == pid and daemons(node, service) == [pid]

    ok(init(node, service, "restart"))
    new = running_pid(node, service)
    assert new != pid
    wait_gone(node, pid)
    ok(init(node, service, "force-reload"))
    ok(init(node, service, "status"))

    pid = running_pid(node, service)                       # a crash: pid file stays
    node.run(["kill", "-KILL", "--", "-%d" % procs(node)[pid][1]])
    wait_gone(node, pid)
    assert read_pidfile(node, service) is not None
    assert init(node, service, "status").returncode == 1
    ok(init(node, service, "start"))
    assert running_pid(node, service) != pid

    ok(init(node, service, "stop"))
    assert init(node, service, "status").returncode == 3
    assert daemons(node, service) == [] and read_pidfile(node, service) is None
    ok(init(node, service, "stop"))                        # stopping a stopped one: fine
    node.run("echo 1 > %s" % pidfile(node, service))      # the node's PID 1, not ours
    assert init(node, service, "status").returncode == 1
    ok(init(node, service, "start"))
    assert running_pid(node, service) != 1
    if check_up:
        check_up()


# ---------------------------------------------------------------- node types

def test_apiserver_issues_a_token_and_lists_servers(nodes):
    node = nodes["api"].result()
    check_common_layout(node)
    port = 8080    # the shipped gunicorn.conf.py's bind
    configure(node, 'API_PUBLIC_BASE_URL = "http://127.0.0.1:%d"\n' % port)
    # The packages never migrate by themselves; the documented command does (SQLite,
    # the shipped default, owned by the synnefo user).
    as_synnefo(node, "snf-manage", "migrate", "--noinput", "-v0")
    as_synnefo(node, "snf-manage", "check")
    as_synnefo(node, "snf-manage", "user-create", USER, "--password-stdin",
               input=PASSWORD + "\n")
    assert node.path("/usr/share/synnefo/static/webproject/base.css").is_file()

    def curl(*args):
        return json.loads(node.run(["curl", "-sS", "--fail-with-body", "--retry", "20",
                                    "--retry-connrefused", "--retry-delay", "0"]
                                   + list(args)).stdout or "{}")

    def api_up():
        servers = curl("-H", "X-Auth-Token: " + get_token(node, port),
                       "http://127.0.0.1:%d/compute/v2.1/servers" % port)
        assert servers == {"servers": []}, servers

    exercise_service(node, "snf-gunicorn", check_up=api_up)
    check_500_is_logged(node, port)
    check_image_store(node, port)
    api_up()                                   # the table is back: the list works again

    def proxy_up():
        """The control socket opens a forwarding (the console's first step)."""
        reply = node.run(["runuser", "-u", "synnefo", "--", "/usr/bin/python3", "-c", """
import json, socket
s = socket.socket(socket.AF_UNIX); s.connect("/run/synnefo/vncauthproxy.sock")
s.sendall(json.dumps({"destination_address": "127.0.0.1", "destination_port": 5900,
                      "password": "console-secret", "type": "vnc"}).encode() + b"\\n")
print(s.makefile().readline())"""]).stdout
        assert json.loads(reply)["status"] == "OK", reply

    exercise_service(node, "snf-vncauthproxy", check_up=proxy_up)
    ok(init(node, "snf-vncauthproxy", "stop"))
    check_common_layout(node)
    assert node.run("stat -c %U /var/log/synnefo/gunicorn-error.log").stdout.strip() \
        == "synnefo"
    ok(init(node, "snf-gunicorn", "stop"))


def get_token(node, port):
    """A token of USER from the API (retried until gunicorn listens)."""
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": USER, "domain": {"id": "default"}, "password": PASSWORD}}},
        "scope": {"project": {"name": USER, "domain": {"id": "default"}}}}}
    out = node.run(["curl", "-sS", "--fail-with-body", "-D", "-", "--retry", "20",
                    "--retry-connrefused", "--retry-delay", "0", "-H",
                    "Content-Type: application/json", "-d", json.dumps(body),
                    "http://127.0.0.1:%d/identity/v3/auth/tokens" % port]).stdout
    return re.search(r"^X-Subject-Token:\s*(\S+)", out, re.M | re.I).group(1)


def check_image_store(node, port):
    """The package's image store (IMAGE_STORE_DIR, made by the postinst): an image
    uploaded through the API under the running gunicorn lands there as the synnefo user,
    one registered with snf-manage is copied there, and the API serves both."""
    out = node.run("stat -c '%a %U %G' /var/lib/synnefo/images").stdout.split()
    assert out == ["750", "synnefo", "synnefo"], out
    token = get_token(node, port)
    base = "http://127.0.0.1:%d/image/v2/images" % port
    node.path("/tmp/upload.raw").write_bytes(b"uploaded image " * 4096)
    node.path("/tmp/register.raw").write_bytes(b"registered image " * 4096)
    node.run("chmod 0644 /tmp/upload.raw /tmp/register.raw")

    def curl(*args):
        return node.run(["curl", "-sS", "--fail-with-body", "-H", "X-Auth-Token: " + token]
                        + list(args)).stdout

    image = json.loads(curl("-H", "Content-Type: application/json", "-d",
                            '{"name": "up", "disk_format": "raw"}', base))["id"]
    curl("-X", "PUT", "-H", "Content-Type: application/octet-stream", "--data-binary",
         "@/tmp/upload.raw", "%s/%s/file" % (base, image))
    registered = json.loads(as_synnefo(node, "snf-manage", "image-register", "reg",
                                       "/tmp/register.raw", "--public", "--json").stdout)["id"]
    for image_id, source in ((image, "/tmp/upload.raw"), (registered, "/tmp/register.raw")):
        curl("-o", "/tmp/download.raw", "%s/%s/file" % (base, image_id))
        assert node.path("/tmp/download.raw").read_bytes() == node.path(source).read_bytes()
    owners = node.run("stat -c '%U %a' /var/lib/synnefo/images/*").stdout.split("\n")
    assert sorted(o for o in owners if o) == ["synnefo 644"] * 2, owners


def check_500_is_logged(node, port):
    """A real server-side fault (the server list's table renamed away under the running
    gunicorn) answers 500 with a request id and no traceback, and the log the admin is
    told to read (docs/settings.md, "Logs") holds that id with the traceback. The table
    is renamed back afterwards."""
    def rename(old, new):
        as_synnefo(node, "snf-manage", "shell", "-c",
                   "from django.db import connection\n"
                   "connection.cursor().execute('ALTER TABLE %s RENAME TO %s')" % (old, new))

    token = get_token(node, port)
    log = node.path("/var/log/synnefo/gunicorn-error.log")
    rename("db_virtualmachine", "db_virtualmachine_away")
    try:
        res = node.run(["curl", "-sS", "-D", "-", "-H", "X-Auth-Token: " + token,
                        "http://127.0.0.1:%d/compute/v2.1/servers" % port])
    finally:
        rename("db_virtualmachine_away", "db_virtualmachine")
    head, _, text = res.stdout.replace("\r\n", "\n").partition("\n\n")
    assert re.match(r"HTTP/\S+ 500 ", head), res.stdout
    rid = re.search(r"^X-Openstack-Request-Id:\s*(req-[0-9a-f-]+)\s*$", head,
                    re.M | re.I).group(1)
    assert rid in json.loads(text)["computeFault"]["message"], text
    assert "Traceback" not in res.stdout and "db_virtualmachine" not in res.stdout, res.stdout
    # The record with the id, followed by its traceback (up to the next record).
    logged = log.read_text()
    m = re.search(r"^\S+ \S+ ERROR \S+ \[%s\]: .*\n(?:(?!\d{4}-\d\d-\d\d ).*\n)*"
                  % re.escape(rid), logged, re.M)
    assert m, "request %s not in %s:\n%s" % (rid, log, logged[-3000:])
    record = m.group(0)
    assert "Traceback (most recent call last)" in record, record
    assert "no such table: db_virtualmachine" in record, record


def test_logic_node_dispatcher_consumes_an_event(nodes, mq):
    node = nodes["logic"].result()
    check_common_layout(node)
    configure(node, 'BACKEND_PREFIX_ID = "%s"\nAMQP_HOSTS = [%r]\n' % (PREFIX, amqp_url(mq)))
    as_synnefo(node, "snf-manage", "migrate", "--noinput", "-v0")
    exercise_service(node, "snf-dispatcher")
    vm = as_synnefo(node, "snf-manage", "shell", "-c", """
from synnefo.db import models as m
u = m.User.objects.create(name="alice")
f = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
print(m.VirtualMachine.objects.create(owner=u, flavor=f, name="vm").id)""").stdout.split()[-1]
    # A Ganeti event as eventd would publish it, through the shipped AMQP client.
    as_synnefo(node, "snf-manage", "shell", "-c", """
from django.conf import settings
from synnefo.common.amqp_client import AMQPClient, Topology
from synnefo.db.models import VirtualMachine
vm = VirtualMachine.objects.get(id=%s)
topo = Topology(settings.BACKEND_PREFIX_ID)
with AMQPClient(settings.AMQP_HOSTS) as c:
    c.publish(topo.exchange, topo.routing_keys["op"], {"type": "ganeti-op-status",
        "instance": vm.backend_vm_id, "operation": "OP_INSTANCE_STARTUP",
        "status": "success", "jobId": 7, "logmsg": "", "event_time": [1, 0]})""" % vm)
    end = time.monotonic() + 60
    while True:
        state = as_synnefo(node, "snf-manage", "shell", "-c",
                           "from synnefo.db.models import VirtualMachine as V; "
                           "v = V.objects.get(id=%s); print(v.operstate, v.backendjobid)"
                           % vm).stdout.split()[-2:]
        if state == ["STARTED", "7"] or time.monotonic() > end:
            break
        time.sleep(0.5)
    log = node.path("/var/log/synnefo/dispatcher.log")
    assert state == ["STARTED", "7"], log.read_text()[-3000:] if log.exists() else "no log"
    queues = mq.run(["rabbitmqctl", "-q", "list_queues", "-p", MQ_VHOST, "name",
                     "messages"]).stdout
    assert re.search(r"^%sevents-op\s+0$" % PREFIX, queues, re.M), queues   # consumed
    ok(init(node, "snf-dispatcher", "stop"))


NOOP_OS = {"ganeti_api_version": "20\n", "variants.list": "default\n",
           "parameters.list": "img_id Image\nimg_format Format\nimg_passwd Password\n"
                              "img_properties Properties\n"}


def ganeti_master(node):
    """gnt-cluster init in the node (fake hypervisor, diskless), a no-op OS."""
    for name, text in NOOP_OS.items():
        node.write("/srv/ganeti/os/noop/" + name, text)
    for script in ("create", "export", "import", "rename", "verify"):
        node.write("/srv/ganeti/os/noop/" + script, "#!/bin/sh\nexit 0\n", mode=0o755)
    node.run(["gnt-cluster", "init", "--enabled-hypervisors=fake",
              "--enabled-disk-templates=diskless", "--master-netdev=eth0",
              "--master-netmask=24", "--nic-parameters=mode=bridged,link=br0",
              # an instance without NICs and disks is within the policy
              "--ipolicy-bounds-specs=min:disk-size=1,cpu-count=1,disk-count=0,"
              "memory-size=32,nic-count=0,spindle-use=0/max:disk-size=1048576,cpu-count=8,"
              "disk-count=4,memory-size=4096,nic-count=8,spindle-use=12",
              "--no-ssh-init", "--no-etc-hosts", "gntc." + node.net.domain], timeout=180)


def test_ganeti_master_eventd_publishes_job_events(nodes, mq):
    node = nodes["gnt1"].result()
    check_common_layout(node)
    for op in ("add", "modify", "reboot", "start", "stop", "remove"):
        link = "/etc/ganeti/hooks/instance-%s-post.d/snf-ganeti-hook" % op
        node.run("test -L %s && test -x %s" % (link, link))
    node.run("test -x /etc/ganeti/kvm-vif-bridge")
    configure(node, 'BACKEND_PREFIX_ID = "%s"\nAMQP_HOSTS = [%r]\n' % (PREFIX, amqp_url(mq)))

    # Not (yet) a Ganeti node: the init script declines, cleanly.
    set_vars(node, "snf-ganeti-eventd", SNF_EVENTD_ENABLE="true")
    res = ok(init(node, "snf-ganeti-eventd", "start"))
    assert "not a Ganeti node" in res.stdout + res.stderr
    assert init(node, "snf-ganeti-eventd", "status").returncode == 3
    set_vars(node, "snf-ganeti-eventd", SNF_EVENTD_ENABLE="false")

    ganeti_master(node)
    exercise_service(node, "snf-ganeti-eventd")
    # A queue of our own bound to the events; then a real Ganeti job.
    node.run(["/usr/bin/python3", "-c", """
import amqp, sys
c = amqp.Connection(host="%s:5672", userid="%s", password="%s", virtual_host="%s")
c.connect(); ch = c.channel()
ch.exchange_declare("ganeti", "topic", durable=True, auto_delete=False)
ch.queue_declare("eventd-probe", durable=False, auto_delete=False)
ch.queue_bind("eventd-probe", "ganeti", "ganeti.%s.event.op")""" % (
        mq.hostname, MQ_USER, MQ_PASS, MQ_VHOST, PREFIX.rstrip("-"))])
    inst = PREFIX + "42"
    node.run(["gnt-instance", "add", "-n", node.hostname, "-t", "diskless", "-o",
              "noop+default", "--no-nics", "--no-ip-check", "--no-name-check",
              "--no-install", "-H", "fake", "-B", "maxmem=128,minmem=128,vcpus=1", inst],
             timeout=180)
    seen = []
    end = time.monotonic() + 60
    while not any(m["operation"] == "OP_INSTANCE_CREATE" and m["status"] == "success"
                  for m in seen) and time.monotonic() < end:
        out = node.run(["/usr/bin/python3", "-c", """
import amqp, sys
c = amqp.Connection(host="%s:5672", userid="%s", password="%s", virtual_host="%s")
c.connect(); ch = c.channel()
while True:
    m = ch.basic_get("eventd-probe", no_ack=True)
    if m is None: break
    print(m.body.decode() if isinstance(m.body, bytes) else m.body)""" % (
            mq.hostname, MQ_USER, MQ_PASS, MQ_VHOST)]).stdout
        seen += [json.loads(line) for line in out.splitlines() if line.strip()]
        time.sleep(0.5)
    assert any(m["operation"] == "OP_INSTANCE_CREATE" and m["status"] == "success"
               and m["instance"] == inst for m in seen), seen
    ok(init(node, "snf-ganeti-eventd", "stop"))


VM_MAC, VM_IP = "aa:00:00:fb:d2:10", "10.249.210.10"
BINDING = """IP=%s
MAC=%s
LINK=100
HOSTNAME=vm10.example.test
TAGS=""
SUBNET=10.249.210.0/24
GATEWAY=10.249.210.1
SUBNET6=
GATEWAY6=
""" % (VM_IP, VM_MAC)


def test_ganeti_node_nfdhcpd_hands_out_a_lease(nodes):
    node, vm = nodes["gnt2"].result(), nodes["vm"].result()
    net = node.net
    # A node of a cluster whose master is another node: eventd declines.
    node.write("/var/lib/ganeti/ssconf_master_node", "gnt1.%s\n" % net.domain)
    set_vars(node, "snf-ganeti-eventd", SNF_EVENTD_ENABLE="true")
    res = ok(init(node, "snf-ganeti-eventd", "start"))
    assert "is not the Ganeti master (gnt1.%s)" % net.domain in res.stdout + res.stderr
    assert init(node, "snf-ganeti-eventd", "status").returncode == 3
    assert daemons(node, "snf-ganeti-eventd") == []

    # A "VM": a clean root with a DHCP client, its eth0 the peer of tap0 in the node.
    noderoot.sh(["ip", "-n", node.netns, "link", "add", "tap0", "type", "veth", "peer",
                 "name", "eth0", "netns", vm.netns])
    noderoot.sh(["ip", "-n", vm.netns, "link", "set", "eth0", "address", VM_MAC, "up"])
    noderoot.sh(["ip", "-n", node.netns, "link", "set", "tap0", "up"])
    # The rule kvm-vif-bridge installs per tap, the binding file it writes.
    queue = re.search(r"^dhcp_queue\s*=\s*(\d+)", node.path(
        "/etc/nfdhcpd/nfdhcpd.conf").read_text(), re.M).group(1)
    node.run(["iptables", "-t", "mangle", "-A", "PREROUTING", "-i", "tap0", "-p", "udp",
              "--dport", "67", "-j", "NFQUEUE", "--queue-num", queue])
    node.write("/var/lib/nfdhcpd/tap0", BINDING)

    exercise_service(node, "nfdhcpd")
    vm.write("/lease.sh", '#!/bin/sh\n[ "$1" = bound ] && env > /lease.env\nexit 0\n', 0o755)
    # up to 20 DISCOVERs 3 s apart (it stops at the first answer): on a loaded machine
    # nfdhcpd answers seconds late
    res = vm.run(["busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-f", "-t", "20", "-T", "3",
                  "-s", "/lease.sh"], check=False, timeout=90)
    log = node.path("/var/log/nfdhcpd/nfdhcpd.log")
    assert res.returncode == 0, (res.stdout, res.stderr,
                                 log.read_text()[-3000:] if log.exists() else "no log")
    lease = dict(line.split("=", 1) for line in
                 vm.path("/lease.env").read_text().splitlines() if "=" in line)
    assert lease["ip"] == VM_IP and lease["router"] == "10.249.210.1", lease
    assert lease["hostname"] == "vm10.example.test"
    ok(init(node, "nfdhcpd", "stop"))


def test_ganeti_node_has_the_snf_image_os_provider(nodes):
    """apt-get install gave the GANETI-NODE a working snf-image: the OS definition where
    Ganeti looks, its verify script judging parameters, and create writing a local image
    onto a file disk, failing with the line the API shows as the fault."""
    node = nodes["gnt2"].result()
    os_dir = "/usr/share/ganeti/os/snf-image"
    assert node.path(os_dir + "/ganeti_api_version").read_text().split() == ["20"]
    # variants: a conffile the administrator extends (snf-image+NAME reads
    # /etc/snf-image/variants/NAME.conf on top of /etc/default/snf-image)
    assert os.readlink(node.path(os_dir + "/variants.list")) == "/etc/snf-image/variants.list"
    assert node.path("/etc/snf-image/variants.list").read_text().split() == ["default"]
    listed = [line.split()[0] for line in
              node.path(os_dir + "/parameters.list").read_text().splitlines()]
    assert {"img_id", "img_format", "img_passwd", "img_properties", "img_personality",
            "img_user_data", "img_checksum"} <= set(listed)
    api = {"OS_API_VERSION": "20", "OS_NAME": "snf-image", "OS_VARIANT": "default"}
    ok(node.run([os_dir + "/verify"], env=dict(api, OSP_IMG_FORMAT="diskdump")))
    res = node.run([os_dir + "/verify"], env=dict(api, OSP_IMG_FORMAT="vmdk"), check=False)
    assert res.returncode == 1
    assert "snf-image error: [400] unsupported image format 'vmdk'" in res.stderr, res.stderr

    image = bytearray(2 << 20)
    image[510:512] = b"\x55\xaa"
    image[1 << 20:(1 << 20) + 5] = b"snf-i"
    node.path("/var/lib/snf-image/images/tiny.img").write_bytes(bytes(image))
    node.path("/srv/disk0").write_bytes(bytes(4 << 20))
    create = dict(api, INSTANCE_NAME="snft-1", DISK_COUNT="1", DISK_0_PATH="/srv/disk0",
                  OSP_IMG_ID="tiny.img", OSP_IMG_FORMAT="diskdump",
                  OSP_IMG_PROPERTIES='{"EXCLUDE_ALL_TASKS": "yes"}', OSP_IMG_PASSWD="pw")
    ok(node.run([os_dir + "/create"], env=create))
    assert node.path("/srv/disk0").read_bytes()[:len(image)] == bytes(image)
    res = node.run([os_dir + "/create"], env=dict(create, OSP_IMG_ID="gone.img"), check=False)
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == \
        "snf-image error: [404] image 'gone.img' not found on the node", res.stderr
    assert node.path("/srv/disk0").read_bytes() == bytes(4 << 20)  # wiped
    # customisation needs the helper VM, which the administrator builds once
    res = node.run([os_dir + "/create"], env=dict(create, OSP_IMG_PROPERTIES="{}"), check=False)
    assert "run snf-image-update-helper" in res.stderr.strip().splitlines()[-1], res.stderr
    ok(node.run(["snf-image-update-helper", "--help"]))


def test_client_machine_runs_snf_burnin_and_snf_cloud(nodes):
    node = nodes["client"].result()
    # a pure API client: nothing of the service comes with it
    assert node.run(["python3", "-c", "import django"], check=False).returncode != 0
    for tool in ("snf-burnin", "snf-cloud", "snf-admin"):
        usage = node.run([tool, "--help"]).stdout
        assert usage.startswith("usage: %s" % tool), usage
        assert node.path("/usr/share/man/man1/%s.1.gz" % tool).is_file()
        completion = "/usr/share/bash-completion/completions/" + tool
        assert node.run(["bash", "-c", "source %s && complete -p %s" % (completion, tool)]
                        ).stdout.strip().endswith(" " + tool)
    # one real call each, which loads the rest of their modules (paramiko, cryptography,
    # openstacksdk, keystoneauth): the login fails cleanly
    burnin = node.run(["snf-burnin", "--auth-url", "http://127.0.0.1:9/identity/v3",
                       "--token", "not-a-token"], check=False)
    assert burnin.returncode == 2 and burnin.stderr.startswith("snf-burnin: "), burnin
    assert "Traceback" not in burnin.stderr
    node.path("/root/clouds.yaml").write_text(
        "clouds:\n  test:\n    auth:\n      auth_url: http://127.0.0.1:9/identity/v3\n"
        "      username: u\n      password: p\n      project_name: u\n"
        "      user_domain_name: Default\n      project_domain_name: Default\n")
    for cloud, message in (("test", "Unable to establish connection"),
                           ("absent", "Cloud absent was not found")):
        res = node.run(["env", "OS_CLIENT_CONFIG_FILE=/root/clouds.yaml", "snf-cloud",
                        "--os-cloud", cloud, "server", "list"], check=False)
        assert res.returncode == 2 and message in res.stderr, res
        assert res.stderr.startswith("snf-cloud: cannot log in to %s: " % cloud), res
        assert "Traceback" not in res.stderr


def test_upgrade_keeps_local_edits_and_a_running_service(nodes, debs):
    """On the GANETI-NODE (snf-common, snf-ganeti-tools, nfdhcpd): apt-get install of the
    next build keeps edited conffiles and leaves the running nfdhcpd alone (policy-rc.d)."""
    node = nodes["gnt2"].result()
    local = node.path("/etc/synnefo/99-local.conf")
    local.write_text(local.read_text() + "# local edit kept across upgrades\n")
    set_vars(node, "nfdhcpd", NFDHCPD_ENABLE="true", NFDHCPD_OPTS="--debug")
    nfconf = node.path("/etc/nfdhcpd/nfdhcpd.conf")
    nfconf.write_text(nfconf.read_text().replace("192.0.2.53", "10.249.0.53"))
    ok(init(node, "nfdhcpd", "start"))
    pid = running_pid(node, "nfdhcpd")

    node.install(debs.closure(node_packages("GANETI-NODE"), "upgrade"))

    versions = node.chroot("dpkg-query -W -f '${Package} ${Version}\\n' %s"
                           % " ".join(p.name.split("_")[0] for p in
                                      debs.closure(node_packages("GANETI-NODE")))).stdout
    assert {line.split()[1] for line in versions.splitlines()} == {debs.upgrade_version}
    assert "# local edit kept across upgrades" in local.read_text()
    assert "10.249.0.53" in nfconf.read_text()
    assert 'NFDHCPD_OPTS="--debug"' in node.path("/etc/default/nfdhcpd").read_text()
    left = node.run("find /etc -name '*.dpkg-*'").stdout.split()
    assert left == []
    check_common_layout(node)
    assert running_pid(node, "nfdhcpd") == pid
    ok(init(node, "nfdhcpd", "restart"))
    assert running_pid(node, "nfdhcpd") != pid
    ok(init(node, "nfdhcpd", "stop"))


def test_every_service_was_run_in_a_node():
    """A new daemon gets a node test: the services above are all there are."""
    assert sorted(services()) == ["nfdhcpd", "snf-dispatcher", "snf-ganeti-eventd",
                                  "snf-gunicorn", "snf-vncauthproxy"]
