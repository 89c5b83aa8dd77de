"""Where servers, the pipeline and networks meet (unit level; the real cluster is in
test_network_pipeline_cluster.py):

* create_server takes its NIC rows from networks.nics_for_new_server;
* create requests carry the firewall tags, the firewallProfile action records the
  wanted profile at submission and the tag job's op-status confirms it;
* the hook's net report is matched to NIC rows by name, then by index;
* the dispatcher routes ganeti-network-status messages to network_callbacks;
* backend-add creates the existing networks on the new backend.
"""

import io

import pytest
from django.core.management import call_command
from support.amqp import FakeMessage
from support.api import create_server
from support.fakerapi import PASSWORD, USER, FakeRapi

from synnefo.backend import instances
from synnefo.db import models as m
from synnefo.dispatcher.consumer import Worker
from synnefo.logic import callbacks, servers

pytestmark = pytest.mark.django_db


def public_network(**kw):
    args = dict(name="public", public=True, type="PUBLIC_ROUTED", link="br0",
                state="ACTIVE", subnet="10.251.9.0/24", gateway="10.251.9.1")
    args.update(kw)
    return m.Network.objects.create(**args)


# -- create_server -------------------------------------------------------------------

def test_create_gets_nics_of_active_public_networks_with_the_default_profile(
        world, fake_backend, settings):
    settings.DEFAULT_FIREWALL_PROFILE = "PROTECTED"
    pending = public_network(name="pending", state="PENDING")
    r = create_server(world.a, world)
    assert r.status_code == 202, r.content
    vm = m.VirtualMachine.objects.get(pk=int(r.json()["server"]["id"]))
    nics = list(vm.nics.order_by("index"))
    assert [(n.network_id, n.index, n.firewall_profile, n.state) for n in nics] == [
        (world.net.id, 0, "PROTECTED", "BUILD")]
    assert pending.id not in [n.network_id for n in nics]


def test_create_without_any_public_network_makes_a_server_without_nics(world, fake_backend):
    """Today's behaviour kept: "auto" with no public network -> no NIC (Ganeti creates
    an instance without NICs)."""
    m.Network.objects.filter(public=True).update(deleted=True)
    r = create_server(world.a, world)
    assert r.status_code == 202, r.content
    assert not m.NetworkInterface.objects.filter(machine_id=int(r.json()["server"]["id"]))


def test_create_refuses_more_than_eight_networks_before_inserting(world, fake_backend):
    for i in range(8):
        public_network(name="p%d" % i)
    r = create_server(world.a, world)  # 9 public networks with "auto"
    assert r.status_code == 400 and "at most 8" in r.content.decode()
    assert not m.VirtualMachine.objects.exists()


def test_create_on_a_private_network_needs_it_active(world, fake_backend):
    lan = m.Network.objects.create(name="lan", owner=world.alice, state="PENDING",
                                   subnet="192.168.1.0/24", link="prv0")
    r = create_server(world.a, world, networks=[{"uuid": str(lan.id)}])
    assert r.status_code == 400 and "wait until it is ACTIVE" in r.content.decode()
    m.Network.objects.filter(pk=lan.pk).update(state="ACTIVE")
    r = create_server(world.a, world, networks=[{"uuid": str(lan.id)}])
    assert r.status_code == 202
    nic = m.NetworkInterface.objects.get(machine_id=int(r.json()["server"]["id"]))
    assert nic.network_id == lan.id and nic.firewall_profile == ""


# -- firewall profiles -------------------------------------------------------------

def rapi_vm(nic_profiles):
    user, _ = m.User.objects.get_or_create(name="alice")
    flavor, _ = m.Flavor.objects.get_or_create(cpu=1, ram=128, disk=1, disk_template="file")
    backend, _ = m.Backend.objects.get_or_create(
        clustername="fake.example.org", defaults=dict(username=USER, password=PASSWORD))
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, backend=backend,
                                         name="vm", operstate="STARTED")
    net = public_network()
    for i, profile in enumerate(nic_profiles):
        m.NetworkInterface.objects.create(machine=vm, network=net, index=i,
                                          firewall_profile=profile)
    return vm


def test_create_request_carries_the_firewall_tags(fake, settings):
    settings.GANETI_CREATEINSTANCE_KWARGS = {"tags": ["site:a"]}
    vm = rapi_vm(["DISABLED", "", "PROTECTED"])
    instances.create_instance(vm, "pw")
    assert fake.last_op()["tags"] == ["site:a", "synnefo:network:0:unprotected",
                                      "synnefo:network:2:limited"]
    assert settings.GANETI_CREATEINSTANCE_KWARGS == {"tags": ["site:a"]}


def test_firewall_action_records_the_profile_when_ganeti_accepts_the_job(fake):
    vm = rapi_vm(["DISABLED"])
    owner = vm.owner
    job = servers.set_firewall_profile(owner, vm.id, "ENABLED")
    _, (add,) = fake.jobs[-1]
    assert job == fake.jobs[-1][0]
    assert add["OP_ID"] == "OP_TAGS_SET" and add["tags"] == ["synnefo:network:0:protected"]
    assert vm.nics.get().firewall_profile == "ENABLED"


def test_firewall_action_changes_nothing_when_ganeti_refuses(fake):
    vm = rapi_vm(["DISABLED"])
    m.Backend.objects.filter(pk=vm.backend_id).update(password="wrong")
    with pytest.raises(servers.BackendUnavailable):
        servers.set_firewall_profile(vm.owner, vm.id, "ENABLED")
    assert vm.nics.get().firewall_profile == "DISABLED"


def op(vm, opcode, status, job, t, **kw):
    d = {"type": "ganeti-op-status", "instance": vm.backend_vm_id, "operation": opcode,
         "status": status, "jobId": job, "logmsg": None, "event_time": [t, 0],
         "cluster": "c"}
    d.update(kw)
    return d


def net(vm, t, nics):
    return {"type": "ganeti-net-status", "instance": vm.backend_vm_id, "nics": nics,
            "event_time": [t, 0]}


def test_the_tag_jobs_op_status_confirms_the_profile_and_outdates_older_reports():
    vm = rapi_vm(["DISABLED"])
    callbacks.handle(op(vm, "OP_INSTANCE_CREATE", "success", 5, 100))
    callbacks.handle(op(vm, "OP_TAGS_SET", "success", 9, 200,
                        tags=["synnefo:network:0:limited", "other:tag"]))
    assert vm.nics.get().firewall_profile == "PROTECTED"
    vm.refresh_from_db()
    assert vm.backendtime.timestamp() == 200 and vm.operstate == "STARTED"
    # a hook report from before the tag job (old tags) arrives late: ignored
    callbacks.handle(net(vm, 150, [{"index": 0, "mac": "aa:00:00:00:00:01",
                                    "firewall": "DISABLED"}]))
    assert vm.nics.get().firewall_profile == "PROTECTED"
    # a later one agrees with the DB
    callbacks.handle(net(vm, 300, [{"index": 0, "mac": "aa:00:00:00:00:01",
                                    "firewall": "PROTECTED"}]))
    nic = vm.nics.get()
    assert nic.firewall_profile == "PROTECTED" and nic.mac == "aa:00:00:00:00:01"


def test_failed_tag_job_changes_no_profile():
    vm = rapi_vm(["DISABLED"])
    callbacks.handle(op(vm, "OP_TAGS_SET", "error", 9, 200,
                        tags=["synnefo:network:0:protected"]))
    assert vm.nics.get().firewall_profile == "DISABLED"


# -- net reports: NICs by name, then by index ----------------------------------------

def test_net_report_matches_nics_by_name_then_by_index(settings):
    vm = rapi_vm(["", "", ""])
    a, b, c = vm.nics.order_by("index")
    p = settings.BACKEND_PREFIX_ID
    # Ganeti's view after NIC a was removed and before logic moved the indexes down:
    # b and c now sit at 0 and 1; a NIC without our name at 2 (matched by index: c's
    # row has index 2 but a named match wins, so nothing matches it).
    callbacks.handle(net(vm, 100, [
        {"index": 0, "mac": "aa:00:00:00:00:0b", "name": "%snic-%d" % (p, b.id)},
        {"index": 1, "mac": "aa:00:00:00:00:0c", "name": "%snic-%d" % (p, c.id)},
        {"index": 2, "mac": "aa:00:00:00:00:99", "name": None}]))
    macs = {n.pk: n.mac for n in vm.nics.all()}
    assert macs[b.pk] == "aa:00:00:00:00:0b" and macs[c.pk] == "aa:00:00:00:00:0c"
    assert macs[a.pk] == ""  # index 0 belongs to b by name, not to a
    # a NIC named after a row that is gone does not take another row's index
    callbacks.handle(net(vm, 200, [{"index": 0, "mac": "aa:00:00:00:00:aa",
                                    "name": "%snic-%d" % (p, 999999)}]))
    assert vm.nics.get(pk=a.pk).mac == ""
    # reports without names (older hooks) still match by index
    callbacks.handle(net(vm, 300, [{"index": 0, "mac": "aa:00:00:00:00:0a"}]))
    assert vm.nics.get(pk=a.pk).mac == "aa:00:00:00:00:0a"


# -- the dispatcher routes network job status ---------------------------------------

def test_dispatcher_routes_network_status_to_network_callbacks(settings, monkeypatch):
    from synnefo.dispatcher import consumer
    # (the test's transaction must survive: no connection recycling between messages)
    monkeypatch.setattr(consumer, "close_old_connections", lambda: None)
    backend = m.Backend.objects.create(clustername="c1")
    network = public_network(state="PENDING")
    m.BackendNetwork.objects.create(network=network, backend=backend, operstate="PENDING")
    worker = Worker(hosts=["amqp://unused"])
    key = worker.topology.routing_keys["network"]
    body = {"type": "ganeti-network-status", "operation": "OP_NETWORK_CONNECT",
            "network": network.backend_id, "jobId": 12, "status": "success", "logmsg": "",
            "event_time": [100, 0], "cluster": "c1"}
    msg = FakeMessage(body, key)
    worker.on_message(msg)
    worker.flush_acks()
    assert msg.channel.acked == [1] and worker.counts["applied"] == 1
    assert m.Network.objects.get(pk=network.pk).state == "ACTIVE"
    # not ours / unknown: acked and logged, never dead-lettered
    for bad in (dict(body, network="other-net-1"), dict(body, network=network.backend_id
                                                        + "9"), {"type": "x"}):
        msg = FakeMessage(bad, key)
        worker.on_message(msg)
        worker.flush_acks()
        assert msg.channel.acked == [1] and not msg.channel.rejected
    assert worker.counts["dropped"] == 3
    # a network message on the op key is not a server message either
    msg = FakeMessage(body, worker.topology.routing_keys["op"])
    worker.on_message(msg)
    worker.flush_acks()
    assert msg.channel.acked == [1] and worker.counts["dropped"] == 4


# -- backend-add ------------------------------------------------------------------------

def test_backend_add_creates_the_existing_networks(settings, tmp_path):
    fake = FakeRapi(cluster_info={"name": "fake.example.org", "default_hypervisor": "fake",
                                  "enabled_disk_templates": ["diskless"]},
                    nodes={"n1": {}})
    settings.GANETI_RAPI_CURL_FACTORY = fake.curl
    settings.GANETI_NETWORK_GROUPS = ["default"]
    public = public_network()
    m.Network.objects.create(name="bare", state="ACTIVE")  # no subnet: no Ganeti object
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    err = io.StringIO()
    call_command("backend-add", "fake.example.org", "--username", USER, "--password-file",
                 str(pw), "--json", stdout=io.StringIO(), stderr=err)
    ops = [ops[0] for _, ops in fake.jobs]
    assert [o["OP_ID"] for o in ops] == ["OP_NETWORK_ADD", "OP_NETWORK_CONNECT"]
    assert ops[0]["network_name"] == public.backend_id
    assert ops[1]["depends"] == [[fake.jobs[0][0], ["success"]]]
    bn = m.BackendNetwork.objects.get(network=public)
    assert bn.operstate == "PENDING" and bn.backendjobid == fake.jobs[-1][0]
    assert public.backend_id in err.getvalue()
    # a refresh submits nothing more for networks already pending there
    call_command("backend-modify", "fake.example.org", "--refresh", stdout=io.StringIO(),
                 stderr=io.StringIO())
    assert len(fake.jobs) == 2


def test_backend_add_without_check_says_how_to_create_the_networks(settings, tmp_path):
    public_network()
    err = io.StringIO()
    call_command("backend-add", "offline.example.org", "--no-check", stdout=io.StringIO(),
                 stderr=err)
    assert "backend-modify offline.example.org --refresh" in err.getvalue()
    assert not m.BackendNetwork.objects.exists()
