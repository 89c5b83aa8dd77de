"""Our SQLite backend under several writing processes (gunicorn workers, the dispatcher).

Each process runs read-then-write transactions (the shape of the quota checks and of
the dispatcher's callbacks: select_for_update() is a no-op on SQLite) against one file
database. With Django's own backend they fail "database is locked" as soon as two
overlap; with ours every one waits its turn and no increment is lost.
"""

import sqlite3
import subprocess
import sys

import pytest
from django.conf import settings

from synnefo.webproject.settings import SQLITE_BUSY_TIMEOUT, _database_options
from synnefo.webproject.sqlite3.base import _switch_to_wal

WRITER = r"""
import sys
import django
from django.conf import settings
settings.configure(DATABASES={"default": {"ENGINE": sys.argv[3],
                                          "NAME": sys.argv[1], "OPTIONS": {"timeout": 60}}})
django.setup()
from django.db import connection, transaction
for _ in range(int(sys.argv[2])):
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT n FROM counter")
            n = cursor.fetchone()[0]
            cursor.execute("UPDATE counter SET n = %s", [n + 1])
print(connection.cursor().execute("PRAGMA journal_mode").fetchone()[0])
"""


def test_sqlite_databases_get_our_backend_and_a_busy_timeout():
    dbs = _database_options({"a": {"ENGINE": "django.db.backends.sqlite3"},
                             "b": {"ENGINE": "django.db.backends.sqlite3",
                                   "OPTIONS": {"timeout": 5}}})
    assert dbs["a"]["ENGINE"] == dbs["b"]["ENGINE"] == "synnefo.webproject.sqlite3"
    assert dbs["a"]["OPTIONS"]["timeout"] == SQLITE_BUSY_TIMEOUT
    assert dbs["b"]["OPTIONS"]["timeout"] == 5  # the administrator's value stays


def test_the_test_settings_use_it_too():
    if "sqlite" in settings.DATABASES["default"]["ENGINE"]:
        assert settings.DATABASES["default"]["ENGINE"] == "synnefo.webproject.sqlite3"


def test_concurrent_read_then_write_transactions_wait_and_lose_nothing(tmp_path):
    path = str(tmp_path / "db.sqlite3")
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE counter (n INTEGER)")
        db.execute("INSERT INTO counter VALUES (0)")
    processes, rounds = 6, 40
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, path, str(rounds),
                               "synnefo.webproject.sqlite3"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(processes)]
    results = [(p.communicate(timeout=300), p.returncode) for p in procs]
    for (out, err), code in results:
        assert code == 0, err[-2000:]
        assert out.strip() == "wal"
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT n FROM counter").fetchone()[0] == processes * rounds


class _LockedFor:
    """A connection whose journal switch finds the file locked the first `times` tries."""

    def __init__(self, times, message="database is locked"):
        self.times, self.message, self.tries = times, message, 0

    def execute(self, sql):
        self.tries += 1
        if self.tries <= self.times:
            raise sqlite3.OperationalError(self.message)


def test_the_wal_switch_waits_out_a_lock_sqlite_does_not_wait_for():
    # Seen in CI: six processes opening one fresh file, one failed at its first
    # "PRAGMA journal_mode = WAL" although the busy timeout was 60 s.
    conn = _LockedFor(3)
    _switch_to_wal(conn, timeout=5)
    assert conn.tries == 4


def test_the_wal_switch_gives_up_at_the_timeout_and_on_other_errors():
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        _switch_to_wal(_LockedFor(10**6), timeout=0.05)
    other = _LockedFor(1, "disk I/O error")
    with pytest.raises(sqlite3.OperationalError, match="disk"):
        _switch_to_wal(other, timeout=5)
    assert other.tries == 1
