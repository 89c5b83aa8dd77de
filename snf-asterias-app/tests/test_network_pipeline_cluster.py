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

import pytest
from django.core.management import call_command
from django.db import connection
from support.cluster import (
    cluster_backend,
    env,
    remove_ganeti_network,
    remove_instances,
    run_prefix,
)
from support.ganeti_race import DisconnectRace, pawn_spec
from support.live import delete_queues, pipeline_on_test_db, wait_for

from synnefo.backend import networks as gnet
from synnefo.backend.client import client_for
from synnefo.db import models as m
from synnefo.logic import network_admin, networks, servers

# The dispatcher runs as a separate process and needs a database server.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.database("postgresql")]

PREFIX = run_prefix("snfnp")
SUBNET = "10.251.106.0/24"  # used by no other test
HOOK_NAME = "90-%shook" % PREFIX


def cleanup_cluster(client):
    remove_instances(client, PREFIX)
    for net in client.request("GET", "/2/networks", {"bulk": 1}):
        if net["name"].startswith(PREFIX):
            remove_ganeti_network(client, net)


@pytest.fixture(scope="module")
def daemons(tmp_path_factory, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        db_name = connection.settings_dict["NAME"]
    p = pipeline_on_test_db(str(tmp_path_factory.mktemp("netpipe")), PREFIX, HOOK_NAME,
                            db_name)
    p.install_hook()
    try:
        p.start_eventd()
        p.start_dispatcher(workers=1)
        yield p
    finally:
        p.stop_all()
        p.remove_hook()
        delete_queues(PREFIX, env("SNF_TEST_AMQP_URL"))


@pytest.fixture
def world(daemons, settings):
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    settings.GANETI_CLUSTER_INFO = ()
    settings.DEFAULT_FIREWALL_PROFILE = "DISABLED"
    backend = cluster_backend(disk_templates="diskless")
    client = client_for(backend)
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

    errors = networks.delete_network(network_admin.admin_user(), net.id)
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
    networks.delete_network(network_admin.admin_user(), net.id)
    wait_for("the network to be DELETED",
             lambda: m.Network.objects.get(pk=net.pk).state == "DELETED", logs=daemons.logs)


def test_removal_meeting_a_transient_failure_is_retried_by_the_dispatcher(world, daemons):
    """Ganeti fails a disconnect ("... changed since locks were acquired; retry the
    operation") when an instance of the group comes, goes or is renamed meanwhile; the
    dispatcher resubmits it and the network ends DELETED, never ERROR. The failure is
    forced every time (tests/support/ganeti_race.py says how)."""
    backend, client = world
    call_command("network-create", "race", "--public", "--subnet", "10.251.124.0/24",
                 "--link", "gnt-br0", "--no-wait", stdout=open(os.devnull, "w"))
    net = m.Network.objects.get(name="race", deleted=False)
    wait_for("network %d ACTIVE" % net.pk, lambda: m.Network.objects.get(
        pk=net.pk).state in ("ACTIVE", "ERROR"), timeout=180, logs=daemons.logs)
    assert m.Network.objects.get(pk=net.pk).state == "ACTIVE"
    with DisconnectRace(client, PREFIX, pawn_spec(backend)) as race:
        assert networks.delete_network(network_admin.admin_user(), net.id) == []
        race.force(net.backend_id)  # Ganeti's transient failure, checked there
        wait_for("network %d removed" % net.pk, lambda: m.BackendNetwork.objects.get(
            network=net).operstate in ("DELETED", "ERROR"), timeout=300, logs=daemons.logs)
    bn = m.BackendNetwork.objects.get(network=net)
    assert bn.operstate == "DELETED", (bn.backendlogmsg, daemons.logs())
    assert m.Network.objects.get(pk=net.pk).state == "DELETED"
    assert gnet.get_network(net, backend) is None
    assert bn.retries >= 1, "the dispatcher did not resubmit the failed disconnect"
    out = open(os.path.join(daemons.workdir, "dispatcher.out")).read()
    assert "failed transiently" in out
