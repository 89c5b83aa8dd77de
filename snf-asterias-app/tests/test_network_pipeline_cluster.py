"""Networks and firewall profiles through the whole pipeline, on the real Ganeti
cluster, the real RabbitMQ and PostgreSQL.

* `snf-manage network-create --no-wait` submits the Ganeti network jobs and returns with
  the network PENDING; the real snf-ganeti-eventd publishes their ganeti-network-status
  on ganeti.<p>.event.network and the real snf-dispatcher applies them: ACTIVE.
  Removing the network the same way ends DELETED.
* A server created by logic (create_server, the API's path) on that network gets
  Ganeti's pool address and the firewall tag of its default profile at create; the
  firewallProfile action records the wanted profile in the DB when Ganeti accepts the
  tag job, sets the instance tag, and the hook's next report (after a reboot) agrees.

The dispatcher is a separate process and needs a database server: under SQLite these
tests skip (they run in the PostgreSQL pass). The prefix is this module's and this
run's own, so its instances, Ganeti networks and queues never meet another run's.
"""

import os
import signal
import subprocess
import time

import pytest
from django.core.management import call_command
from django.db import connection

from cluster_fixtures import (cluster_backend, env, remove_ganeti_network, remove_instances,
                              run_prefix)
from synnefo.backend import instances
from synnefo.backend import networks as gnet
from synnefo.common.amqp_client import AMQPClient, Topology
from synnefo.db import models as m
from synnefo.logic import networks, servers

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PREFIX = run_prefix("snfnp")
SUBNET = "10.251.106.0/24"  # used by no other test
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(REPO, ".venv", "bin")
UTS = "/run/ganeti-test/uts"
HOOK_DIRS = ["instance-add", "instance-modify", "instance-reboot", "instance-start",
             "instance-stop", "instance-remove"]
HOOK_NAME = "90-%shook" % PREFIX


def wait_for(what, check, timeout=60, interval=0.2, logs=None):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %d s waiting for %s\n%s"
                                 % (timeout, what, logs() if logs else ""))
        time.sleep(interval)


class Daemons:
    """eventd (in the cluster's UTS namespace: it must see itself as master), the hook
    and the dispatcher of this module's deployment."""

    def __init__(self, workdir, db_name):
        self.workdir = workdir
        self.conf = os.path.join(workdir, "conf")
        os.makedirs(self.conf)
        with open(os.path.join(self.conf, "10-netpipe.conf"), "w") as f:
            f.write("BACKEND_PREFIX_ID = %r\nAMQP_HOSTS = [%r]\nGANETI_EVENTS_SPOOL_DIR = %r\n"
                    "LOG_DIR = %r\nEVENTD_PID_FILE = %r\n"
                    % (PREFIX, env("SNF_TEST_AMQP_URL"), os.path.join(workdir, "spool"),
                       workdir, os.path.join(workdir, "eventd.pid")))
        self.db_name = db_name
        self.procs = []

    def _start(self, name, argv, environ, ready, **kw):
        log = open(os.path.join(self.workdir, name + ".out"), "ab")
        proc = subprocess.Popen(argv, env=environ, stdout=log, stderr=subprocess.STDOUT, **kw)
        self.procs.append(proc)
        wait_for(name, lambda: ready(open(log.name, "rb").read()) or proc.poll() is not None,
                 timeout=30)
        assert proc.poll() is None, self.logs()
        return proc

    def start(self):
        script = ("#!/bin/sh\nSYNNEFO_SETTINGS_DIR=%s exec %s -m synnefo.ganeti.hook\n"
                  % (self.conf, os.path.join(VENV_BIN, "python")))
        for d in HOOK_DIRS:
            path = "/etc/ganeti/hooks/%s-post.d/%s" % (d, HOOK_NAME)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(script)
            os.chmod(path, 0o755)
        tools_env = dict(os.environ, SYNNEFO_SETTINGS_DIR=self.conf)
        self._start("eventd", ["nsenter", "--uts=" + UTS,
                               os.path.join(VENV_BIN, "snf-ganeti-eventd"), "--debug"],
                    tools_env, lambda out: b"watching" in out)
        disp_env = dict(os.environ, SNF_TEST_DB="postgresql", SNF_TEST_PG_NAME=self.db_name,
                        SNF_TEST_PREFIX=PREFIX, DJANGO_SETTINGS_MODULE="test_django_settings",
                        PYTHONPATH=os.path.join(REPO, "ci"))
        disp_env.pop("SYNNEFO_SETTINGS_DIR", None)
        self._start("dispatcher", [os.path.join(VENV_BIN, "snf-dispatcher"), "--debug", "-w",
                                   "1", "-p", os.path.join(self.workdir, "dispatcher.pid")],
                    disp_env, lambda out: b"consuming" in out, start_new_session=True)

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                if proc.args[0].endswith("snf-dispatcher"):
                    os.killpg(proc.pid, signal.SIGTERM)
                else:
                    proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        for d in HOOK_DIRS:
            try:
                os.unlink("/etc/ganeti/hooks/%s-post.d/%s" % (d, HOOK_NAME))
            except FileNotFoundError:
                pass

    def logs(self):
        out = []
        for name in ("eventd", "dispatcher"):
            path = os.path.join(self.workdir, name + ".out")
            if os.path.exists(path):
                out.append("--- %s (tail)\n%s" % (name, open(path).read()[-3000:]))
        return "\n".join(out)


def delete_queues():
    """This run's queues go with it (the prefix carries the pid)."""
    topo = Topology(PREFIX)
    with AMQPClient([env("SNF_TEST_AMQP_URL")]) as client:
        for q in list(topo.queues) + topo.dead_letter_queues():
            client.channel.queue_delete(q)


def cleanup_cluster(client):
    remove_instances(client, PREFIX)
    for net in client.request("GET", "/2/networks", {"bulk": 1}):
        if net["name"].startswith(PREFIX):
            remove_ganeti_network(client, net)


@pytest.fixture(scope="module")
def daemons(tmp_path_factory, django_db_setup, django_db_blocker):
    if connection.vendor != "postgresql":
        pytest.skip("the dispatcher runs as a separate process and needs a database server: "
                    "runs in the PostgreSQL pass (SNF_TEST_DB=postgresql)")
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    d = Daemons(str(tmp_path_factory.mktemp("netpipe")), db_name)
    try:
        d.start()
        yield d
    finally:
        d.stop()
        delete_queues()


@pytest.fixture
def world(daemons, settings):
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    settings.GANETI_CLUSTER_INFO = ()
    settings.DEFAULT_FIREWALL_PROFILE = "DISABLED"
    backend = cluster_backend(disk_templates="diskless")
    client = instances.client_for(backend)
    try:
        yield backend, client
    finally:
        cleanup_cluster(client)


def test_network_jobs_reach_the_db_through_eventd_and_the_dispatcher(world, daemons):
    backend, client = world
    call_command("network-create", "public", "--public", "--subnet", SUBNET,
                 "--link", "gnt-br0", "--no-wait", stdout=open(os.devnull, "w"))
    net = m.Network.objects.get(public=True)
    bn = m.BackendNetwork.objects.get(network=net)
    # nothing waited: only the pipeline can make it ACTIVE
    assert net.state == "PENDING" and bn.operstate == "PENDING", (net.state, bn.operstate)
    wait_for("the network to become ACTIVE",
             lambda: m.Network.objects.get(pk=net.pk).state == "ACTIVE", logs=daemons.logs)
    bn.refresh_from_db()
    assert bn.operstate == "ACTIVE" and bn.backendopcode == "OP_NETWORK_CONNECT"
    assert bn.backendjobstatus == "success" and bn.backendtime is not None
    assert gnet.get_network(net, backend)["group_list"]

    errors = networks.delete_network(networks.admin_user(), net.id)
    assert errors == []
    wait_for("the network to be DELETED",
             lambda: m.Network.objects.get(pk=net.pk).state == "DELETED", logs=daemons.logs)
    assert gnet.get_network(net, backend) is None
    assert m.BackendNetwork.objects.get(pk=bn.pk).backendopcode == "OP_NETWORK_REMOVE"


def tags(client, vm):
    return sorted(t for t in client.get_instance(vm.backend_vm_id)["tags"]
                  if t.startswith("synnefo:network:"))


def test_server_on_the_network_and_its_firewall_profile(world, daemons):
    backend, client = world
    call_command("network-create", "public", "--public", "--subnet", SUBNET,
                 "--link", "gnt-br0", "--no-wait", stdout=open(os.devnull, "w"))
    net = m.Network.objects.get(public=True)
    wait_for("the network to become ACTIVE",
             lambda: m.Network.objects.get(pk=net.pk).state == "ACTIVE", logs=daemons.logs)
    user = m.User.objects.create(name="netpipe")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    image = m.Image.objects.create(name="noop", backend_id="noop-img", public=True)

    vm, _ = servers.create_server(user, "fw", image.id, flavor.id)
    nic = vm.nics.get()
    assert nic.network_id == net.id and nic.firewall_profile == "DISABLED"
    wait_for("the server to start", lambda: m.VirtualMachine.objects.get(
        pk=vm.pk).operstate == "STARTED", logs=daemons.logs)
    # the hook's report: Ganeti's pool address, matched to the row by the NIC's name
    nic = wait_for("the hook's NIC report", lambda: m.NetworkInterface.objects.filter(
        pk=nic.pk).exclude(ipv4="").first(), logs=daemons.logs)
    assert nic.ipv4.startswith("10.251.106.") and nic.firewall_profile == "DISABLED"
    info = client.get_instance(vm.backend_vm_id)
    assert info["nic.names"] == ["%snic-%d" % (PREFIX, nic.pk)]
    assert info["nic.ips"] == [nic.ipv4]
    assert tags(client, vm) == ["synnefo:network:0:unprotected"]  # set at create

    for profile, tag in (("ENABLED", "protected"), ("PROTECTED", "limited")):
        job = servers.set_firewall_profile(user, vm.id, profile)
        # recorded when Ganeti accepted the job, before anything ran
        assert m.NetworkInterface.objects.get(pk=nic.pk).firewall_profile == profile
        assert client.wait_for_job(job)["status"] == "success"
        assert tags(client, vm) == ["synnefo:network:0:%s" % tag]
        wait_for("the tag job's op-status", lambda: m.VirtualMachine.objects.get(
            pk=vm.pk).backendjobid == job, logs=daemons.logs)
        assert m.NetworkInterface.objects.get(pk=nic.pk).firewall_profile == profile

    # The hook's next report (a reboot) carries the profile from the tags: clear the
    # row's profile so that only that report can bring it back.
    m.NetworkInterface.objects.filter(pk=nic.pk).update(firewall_profile="")
    job = servers.reboot_server(user, vm.id, "HARD")
    assert client.wait_for_job(job)["status"] == "success"
    wait_for("the hook to report the profile",
             lambda: m.NetworkInterface.objects.get(pk=nic.pk).firewall_profile == "PROTECTED",
             logs=daemons.logs)

    servers.delete_server(user, vm.id)
    wait_for("the server to be deleted", lambda: m.VirtualMachine.objects.get(
        pk=vm.pk).deleted, logs=daemons.logs)
    networks.delete_network(networks.admin_user(), net.id)
    wait_for("the network to be DELETED",
             lambda: m.Network.objects.get(pk=net.pk).state == "DELETED", logs=daemons.logs)


def test_removal_racing_instance_churn_is_retried_by_the_dispatcher(world, daemons):
    """Ganeti fails a disconnect ("... changed since locks were acquired; retry the
    operation") whenever an instance comes or goes meanwhile; the dispatcher resubmits
    it and the network ends DELETED, never ERROR."""
    from test_network_retry_cluster import Churn
    backend, client = world
    user = m.User.objects.create(name="churner")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, backend=backend,
                                         name="churn")
    spec = instances.build_create_spec(vm, "pw")
    spec["pnode"], spec["nics"] = env("SNF_TEST_GANETI_NODE"), []
    churn, retried = Churn(backend, spec), 0
    try:
        with churn:
            wait_for("the churn to create an instance", lambda: churn.created >= 1,
                     timeout=120)
            for cycle in range(3):
                call_command("network-create", "race%d" % cycle, "--public", "--subnet",
                             "10.251.%d.0/24" % (124 + cycle), "--link", "gnt-br0",
                             "--no-wait", stdout=open(os.devnull, "w"))
                net = m.Network.objects.get(name="race%d" % cycle, deleted=False)
                wait_for("network %d ACTIVE" % net.pk, lambda: m.Network.objects.get(
                    pk=net.pk).state in ("ACTIVE", "ERROR"), timeout=180, logs=daemons.logs)
                assert m.Network.objects.get(pk=net.pk).state == "ACTIVE"
                assert networks.delete_network(networks.admin_user(), net.id) == []
                wait_for("network %d removed" % net.pk, lambda: m.BackendNetwork.objects.get(
                    network=net).operstate in ("DELETED", "ERROR"), timeout=300,
                    logs=daemons.logs)
                bn = m.BackendNetwork.objects.get(network=net)
                assert bn.operstate == "DELETED", (bn.backendlogmsg, daemons.logs())
                assert m.Network.objects.get(pk=net.pk).state == "DELETED"
                assert gnet.get_network(net, backend) is None
                retried += bn.retries
    finally:
        present = {i["name"] for i in client.get_instances(bulk=True)}
        for name in sorted(churn.names & present):
            client.wait_for_job(client.delete_instance(name))
    assert retried >= 1, "no transient failure met: the race was not exercised"
    out = open(os.path.join(daemons.workdir, "dispatcher.out")).read()
    assert "failed transiently" in out
