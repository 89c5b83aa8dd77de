"""Our SQLite backend under several writing processes (gunicorn workers, the dispatcher).

Each process runs read-then-write transactions (the shape of the quota checks and of
the dispatcher's callbacks: select_for_update() is a no-op on SQLite) against one file
database. With Django's own backend they fail "database is locked" as soon as two
overlap; with ours every one waits its turn and no increment is lost.
"""

import sqlite3
import subprocess
import sys

from django.conf import settings

from synnefo.webproject.settings import SQLITE_BUSY_TIMEOUT, _database_options

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
