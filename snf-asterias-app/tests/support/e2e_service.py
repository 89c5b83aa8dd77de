"""The whole service deployed for real on the Ganeti test cluster, for the tests that drive
it only through its public API (test_e2e_openstacksdk.py with OpenStack clients,
test_ui_journey_cluster.py with a browser).

Every part is the real one, each in its own process: the web project under Debian's
gunicorn on a free loopback port; snf-ganeti-eventd in the test cluster's UTS namespace;
snf-ganeti-hook installed in the cluster's instance-*-post.d hook directories (a wrapper
named 90-snfe2e<pid>-hook, removed afterwards); snf-dispatcher with two workers; a
database of its own on the real PostgreSQL (snfe2e<pid>, created and dropped here); the
real RabbitMQ (prefix snfe2e<pid>-: queues of its own, deleted afterwards); the real
Ganeti test cluster (fake hypervisor; a test OS that reports progress), added with
`snf-manage backend-add --certificate` so its RAPI certificate is pinned. Setup uses
snf-manage like an administrator would.

The public network is made as an administrator makes it: `snf-manage network-create
public --public --subnet 10.251.N.0/24 --link gnt-br0 --no-wait` (N = 200 + pid % 50, the
next one no Ganeti network uses if that is taken: concurrent runs differ), so eventd and
the dispatcher make it ACTIVE. `snf-manage network-remove` removes it at the end (a dead
run's Ganeti network is disconnected and removed over RAPI: its database is gone).

Build progress: ci/ganeti.sh's snf-image stand-in reports none, so the deployment installs
its own OS definition (snfe2e<pid>-image, removed afterwards) whose create step feeds
image-copy-progress lines to the real snf-progress-monitor, as snf-image does.

One deployment at a time per process: the names come from the pid.
"""

import contextlib
import glob
import json
import os
import re
import shutil
import subprocess
import time

from support.cluster import RAPI_PEM, env
from support.live import (
    REPO,
    VENV_BIN,
    Gunicorn,
    Pipeline,
    delete_queues,
    pipeline_settings,
    purge_queues,
    sdk_password,
    snf_manage,
    wait_for,
    write_clouds_yaml,
)
from support.postgres import drop_database, pg

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


def _rapi():
    from synnefo.backend.rapi import RapiClient
    return RapiClient(env("SNF_TEST_RAPI_HOST"), env("SNF_TEST_RAPI_PORT"),
                      env("SNF_TEST_RAPI_USER"), env("SNF_TEST_RAPI_PASSWORD"))


def our_instances(rapi):
    return {i["name"]: i for i in rapi.get_instances(bulk=True)
            if i["name"].startswith(PREFIX)}


def _remove_our_instances(rapi):
    for name in our_instances(rapi):
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


def ganeti_networks(rapi):
    return {n["name"]: n for n in rapi.request("GET", "/2/networks", {"bulk": 1})}


def _remove_ganeti_network(rapi, name):
    """Disconnect and remove a Ganeti network over RAPI (what network-remove does, for a
    network whose database is gone). Ganeti fails a disconnect ("retry the operation")
    while other tests create or remove instances on the node group: retried."""
    for _ in range(10):
        net = ganeti_networks(rapi).get(name)
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
    for name in ganeti_networks(rapi):
        if _dead_run(name):
            _remove_ganeti_network(rapi, name)
    for hook_dir in glob.glob("/etc/ganeti/hooks/instance-*-post.d"):
        for name in os.listdir(hook_dir):
            if _dead_run(name):
                os.unlink(os.path.join(hook_dir, name))
    for name in os.listdir(OS_ROOT):
        if _dead_run(name):
            shutil.rmtree(os.path.join(OS_ROOT, name), ignore_errors=True)
    for name in pg("SELECT datname FROM pg_database WHERE datname LIKE 'snfe2e%%'"):
        if _dead_run(name + "_"):
            drop_database(name)


def ganeti(*args):
    """A command inside the cluster's namespaces (ci/ganeti.sh exec); its output."""
    proc = subprocess.run([os.path.join(REPO, "ci", "ganeti.sh"), "exec"] + list(args),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, "%s failed:\n%s%s" % (" ".join(args), proc.stdout,
                                                        proc.stderr)
    return proc.stdout + proc.stderr


class Service:
    pass


def server_show(service, server_id):
    """snf-manage server-show --json: the server's Ganeti instance, the newest job the
    dispatcher recorded for it..."""
    return json.loads(service.manage("server-show", str(server_id), "--json"))


def last_job_id(service, server_id):
    return int(server_show(service, server_id)["backendjobid"])


@contextlib.contextmanager
def e2e_service(tmp, extra_conf=""):
    """The deployment (see the module's docstring) in ``tmp``; ``extra_conf``: more
    settings-file text. Yields a Service: base URL, manage(), rapi, pipeline, network..."""
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
        + pipeline_settings(PREFIX, workdir, env("SNF_TEST_AMQP_URL")) + extra_conf)
    environ = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf),
                   DJANGO_SETTINGS_MODULE="synnefo.webproject.settings")
    environ.pop("OS_CLOUD", None)
    environ.pop("PYTHONPATH", None)

    rapi = _rapi()
    _clean_up_after_dead_runs(rapi)
    drop_database(DB_NAME)  # a teardown in this process may have failed
    pg("CREATE DATABASE %s" % DB_NAME)
    purge_queues(PREFIX, env("SNF_TEST_AMQP_URL"))

    def manage(*args, **kw):
        return snf_manage(environ, *args, **kw)

    manage("migrate", "-v0")
    # Server ids go on from past runs': Ganeti's job queue still holds their jobs about
    # <prefix><id>, and eventd republishes them when it starts. A fresh row must never
    # share its instance name with one of those (a stale REMOVE would delete it), even
    # when a PID comes back.
    pg("SELECT setval(pg_get_serial_sequence('db_virtualmachine', 'id'), %d)"
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
        if s.network is not None and s.network["ganeti_name"] in ganeti_networks(rapi):
            # not removed by a test (test_public_network_removal failed earlier, or a
            # module without it): try the product's way, which refuses while servers of
            # ours are left; on a busy cluster its jobs may outlast the wait, and the RAPI
            # removal below cleans up what is left. Either way the rest must run.
            try:
                manage("network-remove", str(s.network["id"]), check=False, timeout=600)
            except subprocess.TimeoutExpired:
                pass
        s.pipeline.stop_all()
        s.pipeline.remove_hook()
        _remove_our_instances(rapi)
        for name in ganeti_networks(rapi):
            if name.startswith(PREFIX):
                _remove_ganeti_network(rapi, name)
        shutil.rmtree(OS_DIR, ignore_errors=True)
        delete_queues(PREFIX, env("SNF_TEST_AMQP_URL"))
        drop_database(DB_NAME)


