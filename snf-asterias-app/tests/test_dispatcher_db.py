"""snf-dispatcher: one persistent DB connection per worker, still recovering from a lost
database; the pid file comes from the settings.

The connection tests run the worker's real on_message (broker replaced by a recording
channel) against the test database. Recovery needs a server whose connection can be
killed, so it runs on PostgreSQL only (pg_terminate_backend, as a restart does).
"""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection
from support.amqp import FakeMessage as Message
from support.live import copy_test_settings

from synnefo.db import models as m
from synnefo.dispatcher import consumer
from synnefo.dispatcher.consumer import Worker, use_persistent_db_connections

pytestmark = pytest.mark.django_db(transaction=True)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def max_age():
    """Set the dispatcher's CONN_MAX_AGE; the test settings' value comes back after."""
    before = connection.settings_dict.get("CONN_MAX_AGE", 0)
    yield use_persistent_db_connections
    use_persistent_db_connections(before)


def make_vm():
    user = m.User.objects.create(name="alice")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="file")
    return m.VirtualMachine.objects.create(owner=user, flavor=flavor, name="vm")


def op(vm, job, t, status="success", opcode="OP_INSTANCE_STARTUP"):
    return {"type": "ganeti-op-status", "instance": vm.backend_vm_id, "operation": opcode,
            "status": status, "jobId": job, "logmsg": "", "event_time": [t, 0]}


def backend_identity():
    """Which server-side connection this is (PostgreSQL: the backend's pid)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            return cur.fetchone()[0]
    connection.ensure_connection()
    return id(connection.connection)


def test_default_comes_from_settings(settings, max_age):
    settings.DISPATCHER_CONN_MAX_AGE = 123
    assert max_age() == 123
    assert connection.settings_dict["CONN_MAX_AGE"] == 123
    settings.DISPATCHER_CONN_MAX_AGE = None  # None: no age limit (Django's meaning)
    assert max_age() is None and connection.settings_dict["CONN_MAX_AGE"] is None


def test_shipped_default_is_persistent():
    from synnefo.asterias import defaults
    assert defaults.DISPATCHER_CONN_MAX_AGE is None or defaults.DISPATCHER_CONN_MAX_AGE >= 60


def test_the_worker_keeps_one_connection_across_messages(max_age):
    max_age(300)
    vm = make_vm()
    worker = Worker(hosts=["amqp://unused"])
    seen = set()
    for i in range(5):
        msg = Message(op(vm, 10 + i, 100 + i), tag=i)
        worker.on_message(msg)
        worker.flush_acks()
        assert msg.channel.acked == [i]
        seen.add(backend_identity())
    assert len(seen) == 1
    assert m.VirtualMachine.objects.get(pk=vm.pk).backendjobid == 14


@pytest.mark.database("postgresql")  # SQLite's in-memory test database is never reconnected
def test_with_max_age_0_every_message_reconnects(max_age):
    max_age(0)
    vm = make_vm()
    worker = Worker(hosts=["amqp://unused"])
    seen = []
    for i in range(3):
        worker.on_message(Message(op(vm, 10 + i, 100 + i), tag=i))
        seen.append(backend_identity())
        consumer.close_old_connections()  # the end of the "request", as the next message
    assert len(set(seen)) == 3


@pytest.mark.database("postgresql")  # a server whose connection can be killed
def test_a_killed_connection_is_replaced_and_no_message_is_lost(max_age):
    import psycopg2
    max_age(None)
    vm = make_vm()
    worker = Worker(hosts=["amqp://unused"])
    worker.on_message(Message(op(vm, 10, 100, opcode="OP_INSTANCE_SHUTDOWN")))
    pid = backend_identity()
    opts = connection.settings_dict
    admin = psycopg2.connect(dbname=opts["NAME"], user=opts["USER"],
                             password=opts["PASSWORD"], host=opts["HOST"], port=opts["PORT"])
    admin.autocommit = True
    with admin.cursor() as cur:  # what a PostgreSQL restart does to the connection
        cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
    admin.close()
    time.sleep(0.2)
    msg = Message(op(vm, 11, 101), tag=7)
    worker.on_message(msg)
    assert msg.channel.rejected == [(7, True)] and not msg.channel.acked  # requeued
    assert worker.counts["requeued"] == 1
    msg = Message(op(vm, 11, 101), tag=8)  # the redelivery
    worker.on_message(msg)
    worker.flush_acks()
    assert msg.channel.acked == [8]
    assert backend_identity() != pid
    vm = m.VirtualMachine.objects.get(pk=vm.pk)
    assert vm.operstate == "STARTED" and vm.backendjobid == 11


# -- the pid file: DISPATCHER_PID_FILE from the settings, never /run/synnefo's ------------

def _wait_for(path, proc, seconds=30):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path) and open(path).read().strip():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.1)
    return False


@pytest.mark.integration
def test_dispatcher_pid_file_defaults_to_the_settings(tmp_path):
    """`snf-dispatcher -d` without -p locks DISPATCHER_PID_FILE of its settings."""
    pid_file = str(tmp_path / "run" / "dispatcher.pid")
    system = "/run/synnefo/snf-dispatcher.pid"
    before = open(system).read() if os.path.exists(system) else None
    conf = copy_test_settings(tmp_path, "DISPATCHER_PID_FILE = %r\nLOG_DIR = %r\n"
                         % (pid_file, str(tmp_path / "log")))
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=conf, PYTHONPATH=os.path.join(REPO, "ci"),
               SNF_TEST_PREFIX="snfdpid%d-" % os.getpid(), SNF_TEST_DB="sqlite")
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "snf-dispatcher"),
                             "-d", "-w", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        assert _wait_for(pid_file, proc), proc.stderr.read().decode()[-2000:] \
            if proc.poll() is not None else "no pid file %s" % pid_file
        assert int(open(pid_file).read()) == proc.pid
        after = open(system).read() if os.path.exists(system) else None
        assert after == before  # the installed service's pid file is untouched
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert not os.path.exists(pid_file)  # released on a clean stop


@pytest.mark.integration
def test_eventd_pid_file_defaults_to_the_settings(tmp_path):
    """`snf-ganeti-eventd -d` without -p locks EVENTD_PID_FILE of its settings."""
    pid_file = str(tmp_path / "run" / "eventd.pid")
    system = "/run/synnefo/snf-ganeti-eventd.pid"
    before = open(system).read() if os.path.exists(system) else None
    queue = tmp_path / "queue"
    queue.mkdir()
    conf = tmp_path / "conf"
    conf.mkdir()
    (conf / "10-eventd.conf").write_text(
        "BACKEND_PREFIX_ID = 'snfepid%d-'\nAMQP_HOSTS = [%r]\nGANETI_QUEUE_DIR = %r\n"
        "GANETI_EVENTS_SPOOL_DIR = %r\nEVENTD_PID_FILE = %r\nLOG_DIR = %r\n"
        % (os.getpid(), os.environ.get("SNF_TEST_AMQP_URL", "amqp://127.0.0.1:1/"),
           str(queue), str(tmp_path / "spool"), pid_file, str(tmp_path / "log")))
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf))
    proc = subprocess.Popen([os.path.join(os.path.dirname(sys.executable),
                                          "snf-ganeti-eventd"), "-d", "--no-master-check"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        assert _wait_for(pid_file, proc), proc.stderr.read().decode()[-2000:] \
            if proc.poll() is not None else "no pid file %s" % pid_file
        assert int(open(pid_file).read()) == proc.pid
        after = open(system).read() if os.path.exists(system) else None
        assert after == before
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
