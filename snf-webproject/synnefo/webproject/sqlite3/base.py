"""Django's SQLite backend, fit for several writing processes.

SQLite is the embedded default (`make demo`): gunicorn workers and the dispatcher
then write to one file at once. Django's backend lets that fail with "database is
locked"; this one makes writers wait their turn:

* WAL journal: readers and the one writer no longer block each other.
* A busy timeout (OPTIONS["timeout"], seconds; settings.py sets a default): a writer
  waits for the lock instead of failing at once.
* Every transaction (atomic()) starts with BEGIN IMMEDIATE, i.e. takes the write lock
  at its start. Django's plain BEGIN is DEFERRED: the transaction reads under a shared
  lock and must upgrade at its first write; when another connection wrote meanwhile
  SQLite refuses the upgrade at once, without waiting the busy timeout (waiting could
  deadlock). select_for_update() is a no-op on SQLite, so a read-then-write atomic block
  (the quota checks, the dispatcher's callbacks) hit exactly that.

Django 5.2 could do part of this with OPTIONS "transaction_mode" and "init_command";
Django 3.2 (Debian bookworm) has neither and hands every option to sqlite3.connect(),
so this subclass does it the same way on both. settings.py selects it for every
"django.db.backends.sqlite3" database.
"""

import sqlite3
import time

from django.db.backends.sqlite3 import base


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        conn = super().get_new_connection(conn_params)
        # Persistent in the file, but cheap to assert on every connection; an in-memory
        # database answers "memory" and stays as it is.
        _switch_to_wal(conn, conn_params.get("timeout", 5))
        return conn

    def _start_transaction_under_autocommit(self):
        # Django's atomic() on SQLite begins its transactions here (both 3.2 and 5.2).
        self.cursor().execute("BEGIN IMMEDIATE")


def _switch_to_wal(conn, timeout):
    """Set the WAL journal, waiting up to the busy timeout for the lock it needs.

    Leaving the rollback journal takes an exclusive lock, and SQLite answers "database
    is locked" at once, without its busy handler, when another process holds or is
    changing the journal at that moment: several gunicorn workers (or the dispatcher)
    opening a fresh database together hit exactly that. So retry here, briefly.
    """
    deadline = time.monotonic() + timeout
    pause = 0.005
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.2)
