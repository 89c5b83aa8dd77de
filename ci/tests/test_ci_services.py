"""Checks that the test services from ci/services.sh and ci/ganeti.sh work.

Run after `ci/services.sh up` and `ci/ganeti.sh up`, with Debian's Python:

    /usr/bin/python3 -m pytest ci/tests

Every check talks to the real server with the client library the project
uses, and fails (never skips) when the server cannot be reached.  The
connection facts come from ci/test-env.sh: the file is sourced in a shell,
so values already set in the environment win, as they do for every test.
"""

import io
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

CI_DIR = Path(__file__).resolve().parent.parent
TEST_ENV = CI_DIR / "test-env.sh"

EXPECTED_VARS = [
    "SNF_TEST_PG_HOST", "SNF_TEST_PG_PORT", "SNF_TEST_PG_USER",
    "SNF_TEST_PG_PASSWORD", "SNF_TEST_PG_NAME",
    "SNF_TEST_MYSQL_HOST", "SNF_TEST_MYSQL_PORT", "SNF_TEST_MYSQL_USER",
    "SNF_TEST_MYSQL_PASSWORD", "SNF_TEST_MYSQL_NAME",
    "SNF_TEST_AMQP_URL",
    "SNF_TEST_RAPI_HOST", "SNF_TEST_RAPI_PORT", "SNF_TEST_RAPI_USER",
    "SNF_TEST_RAPI_PASSWORD", "SNF_TEST_GANETI_CLUSTER",
    "SNF_TEST_GANETI_NODE", "SNF_TEST_GANETI_NETNS",
]


@pytest.fixture(scope="module")
def env():
    """The SNF_TEST_* values after sourcing ci/test-env.sh."""
    out = subprocess.run(
        ["bash", "-c", 'set -eu; . "$1"; env -0', "test-env", str(TEST_ENV)],
        check=True, capture_output=True, timeout=60).stdout
    values = dict(item.split("=", 1) for item in out.decode().split("\0") if "=" in item)
    return {k: v for k, v in values.items() if k.startswith("SNF_TEST_")}


def test_test_env_exports_every_variable(env):
    missing = [name for name in EXPECTED_VARS if not env.get(name)]
    assert not missing, "ci/test-env.sh does not export %s" % ", ".join(missing)


# --- PostgreSQL -------------------------------------------------------------

def _pg_connect(env, dbname=None):
    import psycopg2
    return psycopg2.connect(
        host=env["SNF_TEST_PG_HOST"], port=int(env["SNF_TEST_PG_PORT"]),
        user=env["SNF_TEST_PG_USER"], password=env["SNF_TEST_PG_PASSWORD"],
        dbname=dbname or env["SNF_TEST_PG_NAME"], connect_timeout=30)


def test_postgresql_password_login_over_tcp(env):
    conn = _pg_connect(env)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_user, current_database(), inet_server_addr()::text,"
                        " current_setting('server_version_num')::int")
            user, db, addr, version = cur.fetchone()
            # A password login over TCP, not a socket: the server has an address.
            assert (user, db) == (env["SNF_TEST_PG_USER"], env["SNF_TEST_PG_NAME"])
            assert addr == env["SNF_TEST_PG_HOST"] + "/32"
            assert version // 10000 == 15
            cur.execute("SELECT pg_get_userbyid(datdba) FROM pg_database"
                        " WHERE datname = current_database()")
            assert cur.fetchone()[0] == env["SNF_TEST_PG_USER"]
    finally:
        conn.close()


def test_postgresql_role_can_create_databases(env):
    """Django's test runner creates test_<name>; the role needs CREATEDB."""
    name = "test_ci_probe_%s" % uuid.uuid4().hex[:8]
    conn = _pg_connect(env)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute('CREATE DATABASE "%s"' % name)
            cur.execute('DROP DATABASE "%s"' % name)
    finally:
        conn.close()


def test_postgresql_rejects_a_wrong_password(env):
    import psycopg2
    bad = dict(env, SNF_TEST_PG_PASSWORD="not-the-password")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        _pg_connect(bad).close()


# --- MariaDB ----------------------------------------------------------------

def _mysql_connect(env, **kw):
    import MySQLdb
    kw.setdefault("db", env["SNF_TEST_MYSQL_NAME"])
    return MySQLdb.connect(
        host=env["SNF_TEST_MYSQL_HOST"], port=int(env["SNF_TEST_MYSQL_PORT"]),
        user=env["SNF_TEST_MYSQL_USER"], passwd=env["SNF_TEST_MYSQL_PASSWORD"],
        connect_timeout=30, **kw)


def test_mariadb_login_and_server_settings(env):
    conn = _mysql_connect(env)
    try:
        cur = conn.cursor()
        cur.execute("SELECT CURRENT_USER(), DATABASE(), @@session.tx_isolation,"
                    " @@global.tx_isolation, @@default_storage_engine, VERSION()")
        user, db, session_iso, global_iso, engine, version = cur.fetchone()
        assert user.split("@")[0] == env["SNF_TEST_MYSQL_USER"]
        assert db == env["SNF_TEST_MYSQL_NAME"]
        assert session_iso == "READ-COMMITTED"
        assert global_iso == "READ-COMMITTED"
        assert engine == "InnoDB"
        assert "MariaDB" in version
    finally:
        conn.close()


def test_mariadb_user_can_create_test_databases(env):
    """Django's test runner creates and drops test_<name>."""
    name = "test_ci_probe_%s" % uuid.uuid4().hex[:8]
    conn = _mysql_connect(env, db="")
    try:
        cur = conn.cursor()
        cur.execute("CREATE DATABASE `%s`" % name)
        cur.execute("CREATE TABLE `%s`.t (id INT PRIMARY KEY)" % name)
        cur.execute("SELECT ENGINE FROM information_schema.TABLES"
                    " WHERE TABLE_SCHEMA = %s AND TABLE_NAME = 't'", (name,))
        assert cur.fetchone()[0] == "InnoDB"
        cur.execute("DROP DATABASE `%s`" % name)
    finally:
        conn.close()


def test_mariadb_user_cannot_touch_other_databases(env):
    import MySQLdb
    conn = _mysql_connect(env, db="")
    try:
        with pytest.raises(MySQLdb.OperationalError, match="Access denied"):
            conn.cursor().execute("CREATE DATABASE `ci_probe_not_allowed`")
    finally:
        conn.close()


# --- RabbitMQ ---------------------------------------------------------------

def _amqp_connection(url):
    import amqp
    parts = urlsplit(url)
    assert parts.scheme == "amqp", url
    return amqp.Connection(
        host="%s:%d" % (parts.hostname, parts.port or 5672),
        userid=unquote(parts.username), password=unquote(parts.password),
        virtual_host=unquote(parts.path[1:]) or "/", connect_timeout=30)


@pytest.mark.parametrize("vhost", ["synnefo-test", "synnefo-demo"])
def test_rabbitmq_round_trip(env, vhost):
    url = env["SNF_TEST_AMQP_URL"].rsplit("/", 1)[0] + "/" + vhost
    import amqp
    conn = _amqp_connection(url)
    conn.connect()
    try:
        ch = conn.channel()
        queue, _, _ = ch.queue_declare("", exclusive=True, auto_delete=True)
        body = "ci-probe %s" % uuid.uuid4()
        ch.basic_publish(amqp.Message(body, content_type="text/plain"),
                         exchange="", routing_key=queue)
        msg = None
        for _ in range(50):        # the broker routes asynchronously
            msg = ch.basic_get(queue, no_ack=True)
            if msg is not None:
                break
            time.sleep(0.1)
        assert msg is not None, "message did not come back from %s" % vhost
        assert msg.body in (body, body.encode())
    finally:
        conn.close()


# --- Ganeti RAPI ------------------------------------------------------------

def _rapi(env, method, path, body=None):
    """(HTTP status, body bytes) of one RAPI request."""
    import pycurl
    buf = io.BytesIO()
    c = pycurl.Curl()
    try:
        c.setopt(pycurl.URL, "https://%s:%s%s" % (
            env["SNF_TEST_RAPI_HOST"], env["SNF_TEST_RAPI_PORT"], path))
        c.setopt(pycurl.CUSTOMREQUEST, method)
        if body is not None:
            c.setopt(pycurl.POSTFIELDS, json.dumps(body))
            c.setopt(pycurl.HTTPHEADER, ["Content-Type: application/json"])
        c.setopt(pycurl.USERPWD,
                 "%s:%s" % (env["SNF_TEST_RAPI_USER"], env["SNF_TEST_RAPI_PASSWORD"]))
        c.setopt(pycurl.HTTPAUTH, pycurl.HTTPAUTH_BASIC)
        # The RAPI certificate is self-signed (CN ganeti.example.com).
        c.setopt(pycurl.SSL_VERIFYPEER, 0)
        c.setopt(pycurl.SSL_VERIFYHOST, 0)
        # bounds for a broken service only: a loaded machine answers slowly
        c.setopt(pycurl.CONNECTTIMEOUT, 30)
        c.setopt(pycurl.TIMEOUT, 120)
        c.setopt(pycurl.WRITEDATA, buf)
        c.perform()
        status = c.getinfo(pycurl.RESPONSE_CODE)
    finally:
        c.close()
    return status, buf.getvalue()


def _rapi_get(env, path):
    return _rapi(env, "GET", path)


def _rapi_job(env, method, path, body=None):
    """Submit a RAPI job and wait (at most 60 s) for it to end; return the job."""
    status, answer = _rapi(env, method, path, body)
    assert status == 200, answer[:300]
    job_id = json.loads(answer)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, answer = _rapi_get(env, "/2/jobs/%s" % job_id)
        assert status == 200, answer[:300]
        job = json.loads(answer)
        if job["status"] in ("success", "error", "canceled"):
            return job
        time.sleep(0.2)
    raise AssertionError("Ganeti job %s did not finish within 60 s" % job_id)


def test_rapi_info_reports_the_cluster(env):
    status, body = _rapi_get(env, "/2/info")
    assert status == 200, body[:200]
    info = json.loads(body)
    assert info["name"] == env["SNF_TEST_GANETI_CLUSTER"]
    assert info["master"] == env["SNF_TEST_GANETI_NODE"]
    assert info["software_version"].startswith("3.0")
    # fake is the default; ci/kvm-guest.sh may enable kvm beside it for real-VM tests.
    assert info["default_hypervisor"] == "fake"
    assert info["enabled_hypervisors"][0] == "fake"
    assert set(info["enabled_disk_templates"]) == {"diskless", "file", "sharedfile"}


def test_rapi_lists_the_os_definitions(env):
    status, body = _rapi_get(env, "/2/os")
    assert status == 200, body[:200]
    assert {"noop+default", "snf-image+default"} <= set(json.loads(body))


def test_snf_image_os_accepts_synnefo_parameters(env):
    """Ganeti refuses OS parameters that parameters.list does not name."""
    name = "ci-probe-%s.ganeti.test" % uuid.uuid4().hex[:8]
    osparams = {
        "img_id": "ci-image", "img_format": "diskdump", "img_passwd": "secret",
        "img_properties": json.dumps({"OSFAMILY": "linux"}),
        "img_personality": json.dumps([]), "config_url": "http://127.0.0.1/config",
        "img_user_data": "I2Nsb3VkLWNvbmZpZwo=", "img_checksum": "sha256:" + "0" * 64,
    }
    job = _rapi_job(env, "POST", "/2/instances", {
        "__version__": 1, "mode": "create", "name": name,
        "disk_template": "diskless", "disks": [], "nics": [{"mac": "generate"}],
        "os_type": "snf-image+default", "osparams": osparams,
        "pnode": env["SNF_TEST_GANETI_NODE"], "hypervisor": "fake",
        "beparams": {"vcpus": 1, "maxmem": 128, "minmem": 128},
        "ip_check": False, "name_check": False, "start": False})
    try:
        assert job["status"] == "success", job["opresult"]
        info = _rapi_job(env, "GET", "/2/instances/%s/info?static=1" % name)
        assert info["status"] == "success", info["opresult"]
        data = info["opresult"][0][name]
        assert data["os"] == "snf-image+default"
        assert data["os_instance"] == osparams
    finally:
        if job["status"] == "success":
            removed = _rapi_job(env, "DELETE", "/2/instances/%s" % name)
            assert removed["status"] == "success", removed["opresult"]


def test_rapi_requires_credentials(env):
    status, _ = _rapi_get(dict(env, SNF_TEST_RAPI_PASSWORD="wrong"), "/2/info")
    assert status == 401


def test_ganeti_hook_directories_exist():
    for hook in ("add", "modify", "reboot", "start", "stop", "remove"):
        assert os.path.isdir("/etc/ganeti/hooks/instance-%s-post.d" % hook)
