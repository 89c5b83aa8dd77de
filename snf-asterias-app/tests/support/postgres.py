"""The test PostgreSQL server's administration: statements on its maintenance database,
and dropping a test database reliably."""

import psycopg2

from support.cluster import env


def pg(sql, params=None, dbname="postgres"):
    """Run one statement as the test role (autocommit); the first column of its rows."""
    conn = psycopg2.connect(host=env("SNF_TEST_PG_HOST"), port=env("SNF_TEST_PG_PORT"),
                            user=env("SNF_TEST_PG_USER"), password=env("SNF_TEST_PG_PASSWORD"),
                            dbname=dbname)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return [row[0] for row in cur.fetchall()] if cur.description else []
    finally:
        conn.close()


def drop_database(name):
    """Drop ``name`` if it exists, ending the test role's own sessions on it first.

    Not ``WITH (FORCE)``: that needs the right to signal every session of the database,
    and an autovacuum worker belongs to no role, so it failed whenever autovacuum was
    busy on a database a test had just filled. A plain DROP stops autovacuum itself."""
    pg("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
       " WHERE datname = %s AND usename = current_user AND pid <> pg_backend_pid()", [name])
    pg('DROP DATABASE IF EXISTS "%s"' % name)
