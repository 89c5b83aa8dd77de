"""The live deployment the admin integration tests (test_admin_live.py: snf-admin,
test_admin_chromium.py: the web admin) stand on: the web project under gunicorn on a
file SQLite database, users root (admin) and alice, RabbitMQ under a prefix of its own
with its event queues declared, an image store holding one unregistered file."""

import contextlib
import uuid

from support.cluster import env
from support.live import Gunicorn, delete_queues, live_settings, snf_manage
from synnefo.common.amqp_client import AMQPClient, Topology

ROOT_PASSWORD = "root-pass-" + "1"
ALICE_PASSWORD = "alice-pass-" + "1"


class Site:
    def manage(self, *args, stdin=None):
        return snf_manage(self.environ, *args, stdin=stdin)


@contextlib.contextmanager
def admin_site(tmp, store_file, app="synnefo.webproject.wsgi:application", pythonpath=None,
               setup=(), **settings):
    """-> Site (base, manage, amqp, topology, root_token, alice_token, tmp); ``setup``:
    snf-manage command lines run before gunicorn starts; ``settings`` added."""
    s = Site()
    s.tmp, s.amqp = tmp, env("SNF_TEST_AMQP_URL")
    prefix = "snfadm%s-" % uuid.uuid4().hex[:6]
    (tmp / "images").mkdir()
    (tmp / "images" / store_file).write_bytes(b"\0" * 4096)
    s.environ = live_settings(tmp, BACKEND_PREFIX_ID=prefix, AMQP_HOSTS=[s.amqp],
                              IMAGE_STORE_DIR=str(tmp / "images"), **settings)
    s.manage("migrate", "-v0")
    s.manage("user-create", "root", "--admin", "--password-stdin", stdin=ROOT_PASSWORD + "\n")
    s.manage("user-create", "alice", "--password-stdin", stdin=ALICE_PASSWORD + "\n")
    for args in setup:
        s.manage(*args)
    s.root_token = s.manage("token-create", "root").strip()
    s.alice_token = s.manage("token-create", "alice").strip()
    s.topology = Topology(prefix)
    with AMQPClient([s.amqp]) as client:
        client.declare_topology(s.topology, "quorum")
    try:
        s.gunicorn = Gunicorn(app, s.environ, str(tmp / "gunicorn.log"), pythonpath=pythonpath)
        s.base = s.gunicorn.base
        yield s
        s.gunicorn.stop()
    finally:
        delete_queues(prefix, s.amqp)
