"""Our connection setup, not the server, puts MySQL/MariaDB sessions in READ COMMITTED/InnoDB.

The shared test MariaDB (ci/services.sh) is configured READ-COMMITTED server-wide, so a check
against it passes whatever our settings do. This test starts a private MariaDB with no
configuration files at all: its global defaults are MariaDB's own, REPEATABLE-READ, and here
also MyISAM as the default engine. It then asks `snf-manage` -- the real settings loader over a
settings directory as an administrator writes it, with DATABASES naming only engine, name,
user and host -- what its session runs with. Without synnefo.webproject.settings'
connection options the answer would be the server's defaults, and the test would fail; a raw
connection to the same server shows those defaults.
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

pytestmark = pytest.mark.integration

SNF_MANAGE = os.path.join(os.path.dirname(sys.executable), "snf-manage")
MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
QUERY = ("SELECT @@session.tx_isolation, @@session.default_storage_engine, "
         "@@global.tx_isolation, @@global.default_storage_engine")


@pytest.fixture(scope="module")
def private_mariadb():
    """A throw-away mariadbd on a unix socket only, MariaDB's built-in defaults plus MyISAM."""
    for tool in (MARIADBD, INSTALL_DB):
        assert os.access(tool, os.X_OK), "%s missing: ci/services.sh up mariadb installs it" % tool
    assert os.geteuid() == 0, "runs mariadbd as user mysql: run the integration tests as root"
    mysql = pwd.getpwnam("mysql")
    # Not under pytest's tmp_path: its 0700 parents keep the mysql user out.
    top = tempfile.mkdtemp(prefix="snf-mysql-session-")
    os.chown(top, mysql.pw_uid, mysql.pw_gid)
    data, sock = os.path.join(top, "data"), os.path.join(top, "mysqld.sock")
    # --no-defaults: none of /etc/mysql (where the shared server's READ-COMMITTED lives).
    subprocess.run([INSTALL_DB, "--no-defaults", "--datadir=" + data, "--user=mysql",
                    "--skip-test-db", "--auth-root-authentication-method=socket"],
                   check=True, capture_output=True, timeout=120)
    log = open(os.path.join(top, "mysqld.log"), "w")
    proc = subprocess.Popen([MARIADBD, "--no-defaults", "--datadir=" + data, "--user=mysql",
                             "--socket=" + sock, "--skip-networking",
                             "--pid-file=" + os.path.join(top, "mysqld.pid"),
                             "--default-storage-engine=MyISAM"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not os.path.exists(sock):
            assert proc.poll() is None, open(log.name).read()[-3000:]
            assert time.monotonic() < deadline, "private mariadbd did not open its socket"
            time.sleep(0.1)
        subprocess.run(["mariadb", "--no-defaults", "--socket=" + sock, "-uroot", "-e",
                        "CREATE DATABASE synnefo"], check=True, capture_output=True, timeout=30)
        yield sock
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        log.close()
        shutil.rmtree(top, ignore_errors=True)


def raw_session(sock):
    out = subprocess.run(["mariadb", "--no-defaults", "--socket=" + sock, "-uroot", "-N", "-B",
                          "-e", QUERY], check=True, capture_output=True, text=True, timeout=30)
    return out.stdout.split()


def test_server_defaults_are_not_what_we_need(private_mariadb):
    """The premise: without our options a session gets REPEATABLE-READ and MyISAM."""
    assert raw_session(private_mariadb) == ["REPEATABLE-READ", "MyISAM",
                                            "REPEATABLE-READ", "MyISAM"]


def test_snf_manage_session_is_read_committed_innodb(private_mariadb, tmp_path):
    (tmp_path / "99-local.conf").write_text(
        'SECRET_KEY = "mysql-session-test"\n'
        'DATABASES = {"default": {"ENGINE": "django.db.backends.mysql", "NAME": "synnefo",\n'
        '                         "USER": "root", "HOST": %r}}\n' % private_mariadb)
    script = ("from django.db import connection\n"
              "c = connection.cursor()\n"
              "c.execute(%r)\n"
              "print(*c.fetchone())\n" % QUERY)
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(tmp_path))
    env.pop("DJANGO_SETTINGS_MODULE", None)
    out = subprocess.run([SNF_MANAGE, "shell", "-c", script], env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    session_iso, session_engine, global_iso, global_engine = out.stdout.split()
    assert (global_iso, global_engine) == ("REPEATABLE-READ", "MyISAM")
    assert (session_iso, session_engine) == ("READ-COMMITTED", "InnoDB")
