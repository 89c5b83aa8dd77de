"""Harness for the tests that run the service's real processes.

Shared by test_api_clients.py (gunicorn + OpenStack clients), test_pipeline_cluster.py
(eventd + hook + dispatcher on the real Ganeti cluster and RabbitMQ) and
test_e2e_openstacksdk.py (all of them at once). Every process is started by PID and
stopped by PID; the hook is installed under a name given by the caller and removed
again.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from support.cluster import env

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
VENV_BIN = os.path.dirname(sys.executable)
UTS = "/run/ganeti-test/uts"   # the cluster's UTS namespace (ci/ganeti.sh)
HOOK_DIRS = ["instance-add", "instance-modify", "instance-reboot", "instance-start",
             "instance-stop", "instance-remove"]
OPENSTACK_CLI = "/usr/bin/openstack"
# Bound for what a test waits for (a state, a log line, a server to answer): only a broken
# build reaches it. Under load (the CI machine runs the Debian package stage beside this
# one on two cores) a Ganeti job through eventd and the dispatcher takes many seconds.
WAIT = 120


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout=WAIT, interval=0.2, logs=None):
    """check()'s first true value; on a timeout the error carries ``logs()`` if given."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %d s waiting for %s%s"
                                 % (timeout, what, "\n" + logs() if logs else ""))
        time.sleep(interval)


def tail(path, size=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-size:]
    except OSError:
        return ""


def stop_process(proc, group=False, timeout=10):
    """SIGTERM (to the process group when ``group``), SIGKILL after ``timeout`` s."""
    if proc is None or proc.poll() is not None:
        return
    send = (lambda sig: os.killpg(proc.pid, sig)) if group else proc.send_signal
    send(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        proc.wait()


def live_settings(tmp, **settings):
    """A settings dir under ``tmp`` for a live service on a file SQLite database there;
    ``settings`` are added as NAME = repr(value). Returns the environment to run it with."""
    conf = tmp / "etc"
    conf.mkdir()
    base = {"DATABASES": {"default": {"ENGINE": "django.db.backends.sqlite3",
                                      "NAME": str(tmp / "db.sqlite3"),
                                      "OPTIONS": {"timeout": 20}}},
            "SECRET_KEY": "integration-test-only",
            "STATIC_ROOT": str(tmp / "static")}
    base.update(settings)
    (conf / "50-test.conf").write_text(
        "".join("%s = %r\n" % item for item in base.items()))
    environ = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf),
                   DJANGO_SETTINGS_MODULE="synnefo.webproject.settings")
    environ.pop("OS_CLOUD", None)
    return environ


def copy_test_settings(tmp_path, extra):
    """<tmp_path>/conf: a copy of ci/test-settings (ci/test_django_settings.py's, database
    from SNF_TEST_DB) plus 90-extra.conf with the text ``extra``."""
    conf = tmp_path / "conf"
    conf.mkdir()
    src = os.path.join(REPO, "ci", "test-settings")
    for name in os.listdir(src):
        with open(os.path.join(src, name)) as f:
            (conf / name).write_text(f.read())
    (conf / "90-extra.conf").write_text(extra)
    return str(conf)


def snf_manage(environ, *args, stdin=None, check=True, timeout=120):
    """Run snf-manage with ``environ``; its stdout (or the CompletedProcess if not check)."""
    proc = subprocess.run([os.path.join(VENV_BIN, "snf-manage")] + list(args), env=environ,
                          input=stdin, capture_output=True, text=True, timeout=timeout)
    if not check:
        return proc
    assert proc.returncode == 0, "snf-manage %s failed:\n%s%s" % (" ".join(args), proc.stdout,
                                                                   proc.stderr)
    return proc.stdout


def public_url_settings(environ, base):
    """Add 90-public-url.conf to the settings dir of ``environ``: the service's public URL
    ``base`` (API_PUBLIC_BASE_URL, which catalogs and links use) and its host as the only
    ALLOWED_HOSTS entry, as a deployment sets them."""
    host = base.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0]
    with open(os.path.join(environ["SYNNEFO_SETTINGS_DIR"], "90-public-url.conf"), "w") as f:
        f.write("API_PUBLIC_BASE_URL = %r\nALLOWED_HOSTS = [%r]\n" % (base, host))


class Gunicorn:
    """The web project under gunicorn (Debian's python3-gunicorn) on a free loopback port,
    its public URL (public_url_settings) that of the port. ``host``: the address to
    listen on instead (e.g. one a client in the cluster's namespace reaches)."""

    def __init__(self, app, environ, log_path, pythonpath=None, threads=8, timeout=60,
                 workers=1, host="127.0.0.1"):
        self.port = free_port()
        self.base = "http://%s:%d" % (host, self.port)
        public_url_settings(environ, self.base)
        self.log_path = log_path
        args = [sys.executable, "-m", "gunicorn", "--bind", "%s:%d" % (host, self.port),
                "--workers", str(workers), "--threads", str(threads),
                "--timeout", str(timeout)]
        if pythonpath:
            args += ["--pythonpath", pythonpath]
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(args + [app], env=environ, stdout=self._log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + WAIT
        while True:
            try:
                urllib.request.urlopen(self.base + "/compute/", timeout=WAIT).read()
                break
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise AssertionError("gunicorn did not start: %s" % tail(log_path))
                time.sleep(0.2)

    def stop(self):
        stop_process(self.proc)
        self._log.close()


# -- OpenStack clients ---------------------------------------------------------------

def write_clouds_yaml(path, base, username, password, cloud="asterias", **extra):
    """A clouds.yaml with one cloud; ``extra`` adds settings of that cloud (e.g.
    network_endpoint_override)."""
    with open(path, "w") as f:
        f.write("clouds:\n  %s:\n    auth:\n      auth_url: %s/identity/v3\n"
                "      username: %s\n      password: %s\n      project_name: %s\n"
                "      user_domain_name: Default\n      project_domain_name: Default\n"
                "    identity_api_version: 3\n    region_name: RegionOne\n"
                % (cloud, base, username, password, username))
        for key, value in extra.items():
            f.write("    %s: %s\n" % (key, value))
    return path


def sdk_connect(**auth):
    """openstacksdk with the given auth arguments (e.g. auth_type="admin_token")."""
    import openstack
    return openstack.connect(region_name="RegionOne", **auth)


def sdk_password(base, username, password):
    """openstacksdk with password auth through our Keystone v3 endpoint."""
    return sdk_connect(auth_url=base + "/identity/v3", username=username, password=password,
                       project_name=username, user_domain_name="Default",
                       project_domain_name="Default")


def openstack_cli(clouds, home, *args, cloud="asterias", timeout=120):
    """Debian's /usr/bin/openstack (its own python3) with our clouds.yaml; its stdout."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    environ.update(OS_CLIENT_CONFIG_FILE=str(clouds), HOME=str(home), PATH="/usr/bin:/bin")
    proc = subprocess.run([OPENSTACK_CLI, "--os-cloud", cloud] + list(args), env=environ,
                          capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, "openstack %s failed:\n%s%s" % (" ".join(args), proc.stdout,
                                                                  proc.stderr)
    return proc.stdout


def openstack_cli_json(clouds, home, *args, **kw):
    out = openstack_cli(clouds, home, *args, "-f", "json", **kw)
    # `server create --wait` writes "Progress: N" lines before the document
    start = min((out.find(c) for c in "{[" if c in out), default=0)
    return json.loads(out[start:])


# -- the Ganeti pipeline: eventd, hook, dispatcher -----------------------------------------

def pipeline_settings(prefix, workdir, amqp_url):
    """Settings-file text for eventd, the hook and the dispatcher of one deployment."""
    return ("BACKEND_PREFIX_ID = %r\nAMQP_HOSTS = [%r]\n"
            "GANETI_EVENTS_SPOOL_DIR = %r\nLOG_DIR = %r\n"
            "EVENTD_PID_FILE = %r\nEVENTD_MASTER_CHECK_INTERVAL = 5\n"
            % (prefix, amqp_url, os.path.join(workdir, "spool"), workdir,
               os.path.join(workdir, "eventd.pid")))


def pipeline_on_test_db(workdir, prefix, hook_name, db_name):
    """The Pipeline of a test's deployment: eventd and the hook read <workdir>/conf
    (pipeline_settings()), the dispatcher uses the test database ``db_name`` (PostgreSQL)
    through ci/test_django_settings.py."""
    conf_dir = os.path.join(workdir, "conf")
    os.makedirs(conf_dir, exist_ok=True)
    with open(os.path.join(conf_dir, "10-pipeline.conf"), "w") as f:
        f.write(pipeline_settings(prefix, workdir, env("SNF_TEST_AMQP_URL")))
    dispatcher_env = dict(os.environ, SNF_TEST_DB="postgresql", SNF_TEST_PG_NAME=db_name,
                          SNF_TEST_PREFIX=prefix, DJANGO_SETTINGS_MODULE="test_django_settings",
                          PYTHONPATH=os.path.join(REPO, "ci"))
    dispatcher_env.pop("SYNNEFO_SETTINGS_DIR", None)
    return Pipeline(workdir, conf_dir, hook_name, dispatcher_env)


class Pipeline:
    """Starts and stops eventd, the hook and the dispatcher of one deployment.

    ``conf_dir`` holds the settings of eventd and the hook (pipeline_settings());
    ``dispatcher_env`` is the environment of snf-dispatcher (its Django settings);
    ``hook_name`` must be unique to the test and contain no dots (Ganeti skips those).
    """

    def __init__(self, workdir, conf_dir, hook_name, dispatcher_env):
        assert "." not in hook_name
        self.workdir = workdir
        self.conf_dir = conf_dir
        self.spool = os.path.join(workdir, "spool")
        self.hook_name = hook_name
        self._dispatcher_env = dispatcher_env
        self.eventd = None
        self.dispatcher = None

    # -- hook ---------------------------------------------------------------------
    def install_hook(self):
        script = ("#!/bin/sh\n# installed by snf-asterias-app/tests (support/live.py)\n"
                  "SYNNEFO_SETTINGS_DIR=%s exec %s -m synnefo.ganeti.hook\n"
                  % (self.conf_dir, os.path.join(VENV_BIN, "python")))
        for d in HOOK_DIRS:
            path = "/etc/ganeti/hooks/%s-post.d" % d
            os.makedirs(path, exist_ok=True)
            with open(os.path.join(path, self.hook_name), "w") as f:
                f.write(script)
            os.chmod(os.path.join(path, self.hook_name), 0o755)

    def remove_hook(self):
        for d in HOOK_DIRS:
            try:
                os.unlink("/etc/ganeti/hooks/%s-post.d/%s" % (d, self.hook_name))
            except FileNotFoundError:
                pass

    # -- daemons --------------------------------------------------------------------
    def tools_env(self):
        return dict(os.environ, SYNNEFO_SETTINGS_DIR=self.conf_dir)

    def dispatcher_env(self):
        return dict(self._dispatcher_env)

    def start_eventd(self):
        self.eventd_log = open(os.path.join(self.workdir, "eventd.out"), "ab")
        start = self.eventd_log.tell()
        # eventd must see itself as the master: the cluster's UTS namespace
        self.eventd = subprocess.Popen(
            ["nsenter", "--uts=" + UTS, os.path.join(VENV_BIN, "snf-ganeti-eventd"),
             "--debug"], env=self.tools_env(), stdout=self.eventd_log,
            stderr=subprocess.STDOUT)
        wait_for("eventd to watch the queue",
                 lambda: b"watching" in open(self.eventd_log.name, "rb").read()[start:]
                 or self.eventd.poll() is not None)
        assert self.eventd.poll() is None, tail(self.eventd_log.name)

    def stop_eventd(self):
        stop_process(self.eventd)

    def start_dispatcher(self, workers=2):
        self.dispatcher_log = open(os.path.join(self.workdir, "dispatcher.out"), "ab")
        start = self.dispatcher_log.tell()
        self.dispatcher = subprocess.Popen(
            [os.path.join(VENV_BIN, "snf-dispatcher"), "--debug", "-w", str(workers),
             "-p", os.path.join(self.workdir, "dispatcher.pid")],
            env=self.dispatcher_env(), stdout=self.dispatcher_log, stderr=subprocess.STDOUT,
            start_new_session=True)
        wait_for("dispatcher to consume",
                 lambda: open(self.dispatcher_log.name, "rb").read()[start:].count(b"consuming")
                 >= workers or self.dispatcher.poll() is not None)
        assert self.dispatcher.poll() is None, tail(self.dispatcher_log.name)

    def kill9_dispatcher(self):
        os.killpg(self.dispatcher.pid, signal.SIGKILL)  # parent and workers
        self.dispatcher.wait()

    def stop_all(self):
        stop_process(self.eventd)
        stop_process(self.dispatcher, group=True, timeout=15)

    def logs(self):
        out = []
        for name in ("eventd.out", "dispatcher.out"):
            path = os.path.join(self.workdir, name)
            if os.path.exists(path):
                out.append("--- %s (tail)\n%s" % (name, tail(path)))
        return "\n".join(out)


def purge_queues(prefix, amqp_url):
    """Empty the deployment's queues and their dead-letter twins (leftovers of a past run)."""
    from synnefo.common.amqp_client import AMQPClient, Topology
    topo = Topology(prefix)
    with AMQPClient([amqp_url]) as client:
        for q in list(topo.queues) + topo.dead_letter_queues():
            try:
                client.channel.queue_purge(q)
            except Exception:  # not declared yet: the channel is closed, reopen
                client.close()
                client.connect()


def delete_queues(prefix, amqp_url):
    """Delete the deployment's queues and dead-letter twins (a per-run prefix leaves none)."""
    from synnefo.common.amqp_client import AMQPClient, Topology
    topo = Topology(prefix)
    with AMQPClient([amqp_url]) as client:
        for q in list(topo.queues) + topo.dead_letter_queues():
            client.channel.queue_delete(q)
