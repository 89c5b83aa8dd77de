"""The whole pipeline on the real Ganeti cluster and the real RabbitMQ.

synnefo.backend submits jobs over RAPI -> Ganeti runs them (fake hypervisor) -> the real
snf-ganeti-eventd (inside the cluster's UTS namespace, so it sees itself as master)
reads the real job queue -> the real snf-ganeti-hook, installed in the cluster's hook
directories, reports NICs -> RabbitMQ -> the real snf-dispatcher process -> PostgreSQL.

The dispatcher is a separate process, so it needs a database server: under SQLite
(in memory, per process) these tests skip; ci/test.sh runs them in its PostgreSQL pass.
This module uses its own prefix per run (snfpipe<pid>-) so that its queues and instances
never mix with other tests' nor with another run on the same machine; its queues are
deleted at the end.
"""

import json
import os
import signal
import subprocess
import time

import pytest
from django.db import connection
from support.cluster import cluster_backend, env, remove_instances, run_prefix
from support.live import VENV_BIN, WAIT, delete_queues, pipeline_on_test_db, wait_for
from support.live import purge_queues as _purge_queues

from synnefo.backend import instances
from synnefo.backend.client import client_for
from synnefo.common.amqp_client import AMQPClient, Topology
from synnefo.db import models as m

# The dispatcher runs as a separate process and needs a database server.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.database("postgresql")]

PREFIX = run_prefix("snfpipe")  # per run: runs on one machine never mix
HOOK_NAME = "90-%shook" % PREFIX
RABBIT_INIT = "/etc/init.d/rabbitmq-server"


def purge_queues():
    _purge_queues(PREFIX, env("SNF_TEST_AMQP_URL"))


def rabbitmq(action, timeout=120):
    """The init script; on a timeout its whole process group goes (a `rabbitmqctl stop`
    left waiting would stop the broker whenever it next appears)."""
    proc = subprocess.Popen([RABBIT_INIT, action], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # (rabbitmqctl's escript ignores SIGTERM)
        proc.wait()
        raise AssertionError("%s %s took more than %d s" % (RABBIT_INIT, action, timeout))
    assert proc.returncode == 0, "%s %s failed:\n%s" % (RABBIT_INIT, action, out.decode())


def rabbitmq_up():
    try:
        AMQPClient([env("SNF_TEST_AMQP_URL")], connect_timeout=1).connect().close()
        return True
    except Exception:
        return False


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, django_db_setup, django_db_blocker):
    workdir = str(tmp_path_factory.mktemp("pipeline"))
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    p = pipeline_on_test_db(workdir, PREFIX, HOOK_NAME, db_name)
    if not rabbitmq_up():
        rabbitmq("start")
    purge_queues()
    p.install_hook()
    try:
        p.start_eventd()
        p.start_dispatcher()
        yield p
    finally:
        p.stop_all()
        p.remove_hook()
        if not rabbitmq_up():
            rabbitmq("start")
        delete_queues(PREFIX, env("SNF_TEST_AMQP_URL"))


@pytest.fixture
def world(pipeline, settings):
    """A backend (real cluster, pinned certificate), a user, flavors, image, network."""
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    backend = cluster_backend()
    client = client_for(backend)
    remove_instances(client, PREFIX)
    w = {"backend": backend, "client": client,
         "user": m.User.objects.create(name="pipeline"),
         "flavor": m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless"),
         "image": m.Image.objects.create(name="noop", backend_id="noop-img", public=True),
         "net": m.Network.objects.create(name="lan", link="gnt-br0", state="ACTIVE")}
    yield w
    remove_instances(client, PREFIX)


def new_vm(w, name="vm"):
    vm = m.VirtualMachine.objects.create(owner=w["user"], flavor=w["flavor"],
                                         image=w["image"], backend=w["backend"], name=name)
    m.NetworkInterface.objects.create(machine=vm, network=w["net"], index=0)
    return vm


def db_vm(vm):
    return m.VirtualMachine.objects.get(pk=vm.pk)


def wait_state(pipeline, vm, state, timeout=WAIT, **fields):
    def check():
        v = db_vm(vm)
        return v.operstate == state and all(getattr(v, k) == val for k, val in fields.items())
    try:
        wait_for("server %s to be %s %s" % (vm.pk, state, fields), check, timeout)
    except AssertionError as exc:
        v = db_vm(vm)
        raise AssertionError("%s; now %s job %s %s %s\n%s" % (
            exc, v.operstate, v.backendjobid, v.backendopcode, v.backendjobstatus,
            pipeline.logs())) from None
    return db_vm(vm)


def test_lifecycle_through_eventd_hook_and_dispatcher(pipeline, world):
    vm = new_vm(world)
    job = instances.create_instance(vm, "secret")
    v = wait_state(pipeline, vm, "STARTED", backendjobid=job, buildpercentage=100)
    assert v.backendopcode == "OP_INSTANCE_CREATE" and v.backendjobstatus == "success"
    # the hook reported the NIC Ganeti generated
    nic = wait_for("the hook's NIC report",
                   lambda: m.NetworkInterface.objects.filter(machine=vm, state="ACTIVE")
                   .exclude(mac="").first())
    assert nic.mac.startswith("aa:00:00")

    job = instances.shutdown_instance(vm)
    wait_state(pipeline, vm, "STOPPED", backendjobid=job)
    bigger = m.Flavor.objects.create(cpu=2, ram=256, disk=1, disk_template="diskless")
    job = instances.resize_instance(vm, bigger)
    wait_for("resize", lambda: db_vm(vm).flavor_id == bigger.pk)
    job = instances.startup_instance(vm)
    wait_state(pipeline, vm, "STARTED", backendjobid=job)
    m.VirtualMachine.objects.filter(pk=vm.pk).update(action="REBOOT")
    job = instances.reboot_instance(vm, "hard")
    m.VirtualMachine.objects.filter(pk=vm.pk).update(task_job_id=job)
    v = wait_state(pipeline, vm, "STARTED", backendjobid=job, backendjobstatus="success")
    assert v.backendopcode == "OP_INSTANCE_REBOOT"
    wait_for("the reboot action to clear", lambda: db_vm(vm).action == "")
    job = instances.delete_instance(vm)
    v = wait_state(pipeline, vm, "DESTROYED", backendjobid=job)
    assert v.deleted and not m.NetworkInterface.objects.filter(machine=vm).exists()


def test_failed_create_is_error_with_ganetis_reason(pipeline, world, settings):
    settings.GANETI_OS = "nonexistent+default"
    vm = new_vm(world)
    job = instances.create_instance(vm, "pw")
    v = wait_state(pipeline, vm, "ERROR", backendjobid=job)
    assert "nonexistent" in v.fault_message, v.fault_message


def test_build_progress_from_the_progress_monitor(pipeline, world):
    vm = new_vm(world)  # stays in BUILD: no Ganeti job
    lines = "".join(json.dumps({"type": "image-copy-progress", "progress": p}) + "\n"
                    for p in (10, 45, 30))
    proc = subprocess.run([os.path.join(VENV_BIN, "snf-progress-monitor"), vm.backend_vm_id],
                          input=lines + "not json\n", text=True, capture_output=True,
                          env=pipeline.tools_env(), timeout=30)
    assert proc.returncode == 0, proc.stderr
    wait_for("progress 45", lambda: db_vm(vm).buildpercentage == 45)


def test_rabbitmq_outage_loses_nothing(pipeline, world):
    a, b = new_vm(world, "a"), new_vm(world, "b")
    client = world["client"]
    job_a = instances.create_instance(a, "pw")
    wait_state(pipeline, a, "STARTED", backendjobid=job_a)
    rabbitmq("stop")
    try:
        assert not rabbitmq_up()
        job_b = instances.create_instance(b, "pw")
        assert client.wait_for_job(job_b)["status"] == "success"
        job_a = instances.shutdown_instance(a)
        assert client.wait_for_job(job_a)["status"] == "success"
        # eventd could not publish: the messages wait in its spool
        wait_for("eventd to spool", lambda: any(n.endswith(".msg")
                                                for n in os.listdir(pipeline.spool)))
        assert db_vm(b).operstate == "BUILD" and db_vm(a).operstate == "STARTED"
    finally:
        rabbitmq("start")
    wait_state(pipeline, b, "STARTED", backendjobid=job_b)
    wait_state(pipeline, a, "STOPPED", backendjobid=job_a)
    assert pipeline.eventd.poll() is None and pipeline.dispatcher.poll() is None
    wait_for("the spool to empty", lambda: not any(n.endswith(".msg")
                                                   for n in os.listdir(pipeline.spool)))


def test_kill9_of_the_dispatcher_mid_burst_loses_nothing(pipeline, world):
    vms = [new_vm(world, "burst%d" % i) for i in range(4)]
    jobs = [instances.create_instance(vm, "pw") for vm in vms]
    time.sleep(0.3)
    pipeline.kill9_dispatcher()
    for vm in vms[:2]:
        instances.shutdown_instance(vm)  # queued behind the creates in Ganeti
    pipeline.start_dispatcher()
    for vm, job in zip(vms[2:], jobs[2:]):
        wait_state(pipeline, vm, "STARTED", backendjobid=job)
    for vm in vms[:2]:
        wait_state(pipeline, vm, "STOPPED")


def test_eventd_refuses_to_run_off_the_master(pipeline):
    proc = subprocess.run([os.path.join(VENV_BIN, "snf-ganeti-eventd"), "--debug"],
                          env=pipeline.tools_env(), capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 1
    assert "is not the Ganeti master (node1.ganeti.test)" in proc.stderr


def test_poison_goes_to_dead_letters_malformed_is_dropped_and_queue_retry(pipeline, world,
                                                                         settings):
    import io

    from django.core.management import call_command
    vm = new_vm(world)
    topo = Topology(PREFIX)
    key = topo.routing_keys["op"]
    # jobId beyond PostgreSQL's bigint: an unexpected DB error -> dead letter
    poison = {"type": "ganeti-op-status", "instance": vm.backend_vm_id,
              "operation": "OP_INSTANCE_STARTUP", "status": "running", "jobId": 2 ** 70,
              "logmsg": None, "event_time": [1000, 0], "cluster": "c"}
    good = dict(poison, jobId=77, status="running")
    with AMQPClient([env("SNF_TEST_AMQP_URL")]) as client:
        client.publish(topo.exchange, key, b"{not json")
        client.publish(topo.exchange, key, {"type": "ganeti-op-status", "instance": "x-1"})
        client.publish(topo.exchange, key, poison)
        client.publish(topo.exchange, key, good)
    wait_for("the good message", lambda: db_vm(vm).backendjobid == 77)

    def dead_count():
        with AMQPClient([env("SNF_TEST_AMQP_URL")]) as c:
            return c.channel.queue_declare(topo.queue_names["op"] + "-dl", passive=True)[1]
    wait_for("the poison message in the dead-letter queue", lambda: dead_count() == 1)

    settings.BACKEND_PREFIX_ID = PREFIX
    settings.AMQP_HOSTS = [env("SNF_TEST_AMQP_URL")]
    out = io.StringIO()
    call_command("queue-retry", stdout=out, stderr=io.StringIO())
    assert "%s: 1 retried" % topo.queue_names["op"] in out.getvalue()
    wait_for("the retried poison to fail again", lambda: dead_count() == 1)
    out, err = io.StringIO(), io.StringIO()
    call_command("queue-retry", stdout=out, stderr=err)
    assert "1 dropped" in out.getvalue() and "failed again" in err.getvalue()
    assert dead_count() == 0
    assert pipeline.dispatcher.poll() is None


def pg_ready():
    return subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0


def test_postgresql_restart_under_the_dispatcher(pipeline, world):
    vm = new_vm(world)
    spec = instances.build_create_spec(vm, "pw")  # (this process needs the DB for it)
    spec["pnode"] = env("SNF_TEST_GANETI_NODE")
    connection.close()  # this process's own connection dies with the server too
    subprocess.run(["/etc/init.d/postgresql", "stop"], check=True, capture_output=True,
                   timeout=60)
    try:
        # Ganeti finishes the job while the DB is down: the dispatcher gets the
        # messages, cannot apply them, and returns them to the queue.
        job = world["client"].create_instance(spec)
        assert world["client"].wait_for_job(job)["status"] == "success"
        time.sleep(2)
    finally:
        subprocess.run(["/etc/init.d/postgresql", "start"], check=True, capture_output=True,
                       timeout=60)
        wait_for("PostgreSQL", pg_ready)
    connection.close()
    wait_state(pipeline, vm, "STARTED", backendjobid=job)
    job = instances.shutdown_instance(vm)  # and it carries on afterwards
    wait_state(pipeline, vm, "STOPPED", backendjobid=job)
    assert pipeline.dispatcher.poll() is None
    assert b"database unavailable" in open(pipeline.dispatcher_log.name, "rb").read()
