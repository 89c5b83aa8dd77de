"""SQLite (the embedded default of `make demo`) holds under concurrent writers.

The whole service on one file SQLite database, each part in its own process: the web
project under gunicorn with three worker processes, snf-ganeti-eventd, the hook and
snf-dispatcher -w 2 (support.live.Pipeline) on the real Ganeti test cluster and
RabbitMQ. Through the API, all at once: 20 creates; then 20 deletes together with 10
more creates while the dispatcher is still applying the first ones' events; then the
last 10 deletes. Required: no 5xx at any moment (before synnefo.webproject.sqlite3, a
"database is locked" 500 now and then), each server reaches its final state (ACTIVE,
then gone), the quota usage is exact after each phase, the dispatcher never had to
requeue a message for a database error and left nothing in a dead-letter queue.

Names of its own per run (prefix snfsq<pid>-); the server ids start past every earlier
run's (Ganeti's job queue still holds old jobs about <prefix><id>, which eventd
republishes at its start).
"""

import json
import os
import sqlite3
import threading
import time
import urllib.error
import urllib.request

import pytest
from support.cluster import RAPI_PEM, env, remove_instances, run_prefix
from support.live import (
    Gunicorn,
    Pipeline,
    delete_queues,
    live_settings,
    pipeline_settings,
    purge_queues,
    snf_manage,
    tail,
    wait_for,
)

pytestmark = pytest.mark.integration

PREFIX = run_prefix("snfsq")
HOOK_NAME = "90-%shook" % PREFIX.rstrip("-")
RAM = 128


def _rapi():
    from synnefo.backend.rapi import RapiClient
    return RapiClient(env("SNF_TEST_RAPI_HOST"), env("SNF_TEST_RAPI_PORT"),
                      env("SNF_TEST_RAPI_USER"), env("SNF_TEST_RAPI_PASSWORD"))


class Service:
    """The running service and every API answer it gave (status, method, path)."""

    def __init__(self):
        self.answers = []
        self._lock = threading.Lock()

    def call(self, method, path, body=None):
        req = urllib.request.Request(
            self.base + "/compute/v2.1" + path, method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"X-Auth-Token": self.token, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                status, text = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, text = exc.code, exc.read()
        with self._lock:
            self.answers.append((status, method, path, text[:300]))
        return status, (json.loads(text) if text.strip() else None)

    def server_errors(self):
        with self._lock:
            return [a for a in self.answers if a[0] >= 500]

    def servers(self):
        status, body = self.call("GET", "/servers/detail")
        assert status == 200, body
        return {s["id"]: s for s in body["servers"]}

    def usage(self):
        status, body = self.call("GET", "/limits")
        assert status == 200, body
        a = body["limits"]["absolute"]
        return a["totalInstancesUsed"], a["totalCoresUsed"], a["totalRAMUsed"]

    def logs(self):
        return "%s\n--- gunicorn (tail)\n%s" % (self.pipeline.logs(),
                                                tail(self.gunicorn.log_path))


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sqlite")
    workdir = str(tmp)
    environ = live_settings(tmp, GANETI_CLUSTER_INFO=("", 5080, "", ""))
    conf = environ["SYNNEFO_SETTINGS_DIR"]
    with open(os.path.join(conf, "60-pipeline.conf"), "w") as f:
        f.write(pipeline_settings(PREFIX, workdir, env("SNF_TEST_AMQP_URL")))
    environ.pop("PYTHONPATH", None)
    rapi = _rapi()
    remove_instances(rapi, PREFIX)  # a dead run with this pid
    purge_queues(PREFIX, env("SNF_TEST_AMQP_URL"))

    def manage(*args, **kw):
        return snf_manage(environ, *args, **kw)

    manage("migrate", "-v0")
    with sqlite3.connect(str(tmp / "db.sqlite3")) as db:
        start = int(time.time())
        if not db.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = "
                          "'db_virtualmachine'", (start,)).rowcount:
            db.execute("INSERT INTO sqlite_sequence VALUES ('db_virtualmachine', ?)", (start,))
    manage("user-create", "alice", "--password", "sqlite-pass-7", "--max-servers", "40",
           "--max-ram", str(40 * RAM), "--max-cores", "40")
    manage("flavor-create", "1", str(RAM), "1", "diskless")
    manage("image-register", "debian-12", "debian-12-diskdump", "--public", "--meta",
           "OS=debian")
    (tmp / "rapi-password").write_text(env("SNF_TEST_RAPI_PASSWORD") + "\n")
    manage("backend-add", env("SNF_TEST_RAPI_HOST"), "--port", env("SNF_TEST_RAPI_PORT"),
           "--username", env("SNF_TEST_RAPI_USER"), "--password-file",
           str(tmp / "rapi-password"), "--certificate", RAPI_PEM)

    s = Service()
    s.token = manage("token-create", "alice").strip()
    s.pipeline = Pipeline(workdir, conf, HOOK_NAME, environ)
    s.gunicorn = None
    s.pipeline.install_hook()
    try:
        s.pipeline.start_eventd()
        s.pipeline.start_dispatcher(workers=2)
        s.gunicorn = Gunicorn("synnefo.webproject.wsgi:application", environ,
                              str(tmp / "gunicorn.log"), workers=3, threads=8)
        s.base = s.gunicorn.base
        status, flavors = s.call("GET", "/flavors")
        s.flavor = flavors["flavors"][0]["id"]
        status, images = s.call("GET", "/images")
        s.image = images["images"][0]["id"]
        yield s
    finally:
        if s.gunicorn is not None:
            s.gunicorn.stop()
        s.pipeline.stop_all()
        s.pipeline.remove_hook()
        remove_instances(rapi, PREFIX)
        delete_queues(PREFIX, env("SNF_TEST_AMQP_URL"))


def all_at_once(s, calls):
    """Send every (method, path, body) together, one thread each; -> their answers."""
    answers = [None] * len(calls)
    start = threading.Barrier(len(calls))

    def one(i, call):
        start.wait()
        answers[i] = s.call(*call)

    threads = [threading.Thread(target=one, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def create_calls(s, n, tag):
    return [("POST", "/servers", {"server": {"name": "%s-%d" % (tag, i), "flavorRef": s.flavor,
                                             "imageRef": s.image}}) for i in range(n)]


def wait_until(s, what, check, timeout=600):
    wait_for(what, check, timeout=timeout, interval=1, logs=s.logs)


def test_concurrent_creates_and_deletes_on_sqlite(service):
    s = service
    # 1. 20 creates at once
    first = all_at_once(s, create_calls(s, 20, "a"))
    assert [status for status, _ in first] == [202] * 20, first
    first_ids = {body["server"]["id"] for _, body in first}
    assert min(int(i) for i in first_ids) > 1000000  # past every earlier run's ids
    assert s.usage() == (20, 20, 20 * RAM)
    wait_until(s, "the first 20 servers ACTIVE", lambda: all(
        v["status"] == "ACTIVE" for k, v in s.servers().items() if k in first_ids)
        and first_ids <= set(s.servers()))
    # 2. the 20 deleted and 10 more created, all at once
    answers = all_at_once(s, [("DELETE", "/servers/%s" % i, None) for i in sorted(first_ids)]
                          + create_calls(s, 10, "b"))
    assert [status for status, _ in answers[:20]] == [204] * 20, answers[:20]
    assert [status for status, _ in answers[20:]] == [202] * 10, answers[20:]
    second_ids = {body["server"]["id"] for _, body in answers[20:]}

    def settled():
        servers = s.servers()
        return set(servers) == second_ids and all(v["status"] == "ACTIVE"
                                                  for v in servers.values())
    wait_until(s, "the first 20 gone and the next 10 ACTIVE", settled)
    assert s.usage() == (10, 10, 10 * RAM)
    # 3. the last 10 deleted at once
    last = all_at_once(s, [("DELETE", "/servers/%s" % i, None) for i in sorted(second_ids)])
    assert [status for status, _ in last] == [204] * 10, last
    wait_until(s, "every server gone", lambda: not s.servers())
    assert s.usage() == (0, 0, 0)
    wait_until(s, "Ganeti to have no instance of ours left", lambda: not [
        i for i in _rapi().get_instances() if str(i).startswith(PREFIX)])

    assert not s.server_errors(), s.server_errors()
    dispatcher_log = open(s.pipeline.dispatcher_log.name, errors="replace").read()
    assert "database is locked" not in dispatcher_log, s.logs()
    assert "database unavailable" not in dispatcher_log, s.logs()  # no requeue for the DB
    assert "dead-letter" not in dispatcher_log, s.logs()
    assert "database is locked" not in open(s.gunicorn.log_path, errors="replace").read()
