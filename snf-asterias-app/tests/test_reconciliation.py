"""synnefo.logic.reconciliation against Ganeti's own RAPI handlers (FakeRapi): every kind
of finding, what its fix does, and that an unreachable cluster is never taken for an
empty one. test_reconciliation*_cluster.py check the same against the real cluster."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone
from support.fakerapi import PASSWORD, USER

from synnefo.db import models as m
from synnefo.logic.reconciliation import reconcile

pytestmark = pytest.mark.django_db

HOUR = datetime.timedelta(hours=1)


@pytest.fixture
def w(fake):
    """A backend answered by ``fake`` (conftest), a user, a flavor and a network."""
    class W:
        pass
    w = W()
    w.fake = fake
    w.backend = m.Backend.objects.create(clustername="fake.example.org", username=USER,
                                         password=PASSWORD)
    w.user = m.User.objects.create(name="rec")
    w.flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="file")
    w.net = m.Network.objects.create(name="lan", link="br-lan", state="ACTIVE")
    return w


def server(w, operstate="STARTED", **fields):
    return m.VirtualMachine.objects.create(owner=w.user, flavor=w.flavor, backend=w.backend,
                                           name="s", operstate=operstate, **fields)


def in_ganeti(w, name, running=True, **fields):
    w.fake.instances[name] = dict(oper_state=running, **fields)


def findings_of(w, kind=None):
    findings, warnings = reconcile([w.backend])
    assert warnings == []
    return [f for f in findings if kind is None or f.kind == kind]


def fix_all(w):
    for finding in findings_of(w):
        finding.fix()
        assert finding.fixed


def reloaded(vm):
    return m.VirtualMachine.objects.get(pk=vm.pk)


def test_agreement_finds_nothing(w):
    vm = server(w)
    in_ganeti(w, vm.backend_vm_id)
    stopped = server(w, "STOPPED")
    in_ganeti(w, stopped.backend_vm_id, running=False)
    assert findings_of(w) == []


def test_a_server_ganeti_lost_is_stale_and_its_fix_destroys_it(w):
    vm = server(w)
    m.NetworkInterface.objects.create(machine=vm, network=w.net, index=0)
    (finding,) = findings_of(w)
    assert (finding.kind, finding.name, finding.vm.pk) == ("stale", vm.backend_vm_id, vm.pk)
    assert "in the DB (STARTED), not in Ganeti" in str(finding)
    finding.fix()
    vm = reloaded(vm)
    assert vm.operstate == "DESTROYED" and vm.deleted
    assert not m.NetworkInterface.objects.filter(machine=vm).exists()
    assert w.fake.jobs == []  # a simulated op: nothing is sent to Ganeti


def test_errors_and_destroyed_servers_without_an_instance_are_normal(w):
    server(w, "ERROR")
    server(w, "DESTROYED")
    assert findings_of(w) == []


def test_instances_of_ours_without_a_live_row_are_orphans_removed_over_rapi(w):
    unknown = settings.BACKEND_PREFIX_ID + "999999"
    deleted = server(w, "DESTROYED", deleted=True)
    for name in (unknown, deleted.backend_vm_id, "other-deployment-7", "snf"):
        in_ganeti(w, name)
    orphans = findings_of(w)
    assert [(f.kind, f.name) for f in orphans] == [
        ("orphan", deleted.backend_vm_id), ("orphan", unknown)]
    assert "in Ganeti, deleted in the DB" in str(orphans[0])
    assert "in Ganeti, not in the DB" in str(orphans[1])
    fix_all(w)
    assert [(ops[0]["OP_ID"], ops[0]["instance_name"]) for _, ops in w.fake.jobs] == [
        ("OP_INSTANCE_REMOVE", deleted.backend_vm_id), ("OP_INSTANCE_REMOVE", unknown)]


def test_an_instance_the_db_places_on_another_backend_is_left_to_an_admin(w):
    elsewhere = m.Backend.objects.create(clustername="other.example.org")
    vm = m.VirtualMachine.objects.create(owner=w.user, flavor=w.flavor, backend=elsewhere,
                                         name="moved", operstate="STARTED")
    in_ganeti(w, vm.backend_vm_id)
    assert findings_of(w) == []


def test_states_follow_what_ganeti_runs(w):
    stopped_in_db = server(w, "STOPPED")
    in_ganeti(w, stopped_in_db.backend_vm_id, running=True)
    started_in_db = server(w, "STARTED")
    in_ganeti(w, started_in_db.backend_vm_id, running=False)
    building = server(w, "BUILD", backendjobid=40)
    in_ganeti(w, building.backend_vm_id, running=True)
    found = findings_of(w, "unsynced")
    assert [(f.vm.pk, f.detail) for f in found] == [
        (stopped_in_db.pk, "running in Ganeti, STOPPED in the DB"),
        (started_in_db.pk, "stopped in Ganeti, STARTED in the DB"),
        (building.pk, "running in Ganeti, BUILD in the DB")]
    fix_all(w)
    assert reloaded(stopped_in_db).operstate == "STARTED"
    assert reloaded(started_in_db).operstate == "STOPPED"
    building = reloaded(building)
    assert building.operstate == "STARTED" and building.buildpercentage == 100
    assert findings_of(w) == []  # fixed for good


def test_a_failed_create_job_is_a_build_error_with_ganetis_reason(w):
    vm = server(w, "BUILD", backendjobid=55)
    w.fake.job_status[55] = {"id": 55, "status": "error", "opresult": [
        ["OpPrereqError", ["Not enough memory on node n1", "insufficient_resources"]]]}
    (finding,) = findings_of(w)
    assert finding.kind == "build_error"
    assert finding.detail == "OpPrereqError: Not enough memory on node n1"
    finding.fix()
    vm = reloaded(vm)
    assert vm.operstate == "ERROR"
    assert "OpPrereqError: Not enough memory on node n1" in vm.fault_message


def test_a_create_job_ganeti_does_not_know_is_a_build_error(w):
    vm = server(w, "BUILD", backendjobid=56)
    (finding,) = findings_of(w)
    assert (finding.kind, finding.vm.pk) == ("build_error", vm.pk)
    assert "the create job 56 is unknown to Ganeti" in finding.detail


def test_a_create_still_running_is_left_alone(w):
    server(w, "BUILD", backendjobid=57)
    w.fake.job_status[57] = {"id": 57, "status": "running"}
    assert findings_of(w) == []


def test_a_create_that_never_reached_ganeti_counts_after_the_grace_period(w, settings):
    settings.RECONCILE_BUILD_GRACE = 600
    old = server(w, "BUILD")
    m.VirtualMachine.objects.filter(pk=old.pk).update(created=timezone.now() - HOUR)
    server(w, "BUILD")  # the API may be submitting it right now
    (finding,) = findings_of(w)
    assert (finding.kind, finding.vm.pk) == ("build_error", old.pk)
    assert finding.detail == "the create request never reached Ganeti"


def test_offline_and_unreachable_backends_are_warnings_never_stale_servers(w):
    server(w)  # on w.backend, whose instances could not be listed
    w.backend.password = "wrong"
    w.backend.save()
    offline = m.Backend.objects.create(clustername="off.example.org", offline=True)
    findings, warnings = reconcile([w.backend, offline])
    assert findings == []
    assert len(warnings) == 2
    assert warnings[0].startswith("backend fake.example.org skipped, its servers were not "
                                  "checked: ")
    assert warnings[1] == "backend off.example.org is offline: skipped"


# -- NICs ------------------------------------------------------------------------------

def nic_name(row):
    return "%snic-%d" % (settings.BACKEND_PREFIX_ID, row.id)


def test_a_nic_row_that_differs_from_ganeti_is_rewritten_from_it(w):
    vm = server(w)
    row = m.NetworkInterface.objects.create(machine=vm, network=w.net, index=1,
                                            mac="aa:00:00:00:00:01", ipv4="10.0.0.9")
    in_ganeti(w, vm.backend_vm_id, **{"nic.macs": ["aa:00:00:00:00:02"],
                                      "nic.ips": ["10.0.0.2"], "nic.names": [nic_name(row)],
                                      "nic.links": ["br-lan"]})
    (finding,) = findings_of(w)
    assert (finding.kind, finding.detail) == ("nics", "NIC(s) 1 differ from Ganeti")
    finding.fix()
    row.refresh_from_db()
    assert (row.index, row.mac, row.ipv4, row.state) == (0, "aa:00:00:00:00:02", "10.0.0.2",
                                                         "ACTIVE")
    assert reloaded(vm).nictime is not None  # older hook reports cannot undo the fix
    assert findings_of(w) == []


def test_a_ganeti_nic_of_a_removed_port_is_removed_from_the_instance(w):
    vm = server(w)
    kept = m.NetworkInterface.objects.create(machine=vm, network=w.net, index=1,
                                             mac="aa:00:00:00:00:02", state="ACTIVE")
    removed = m.NetworkInterface.objects.create(machine=vm, network=w.net, index=0)
    removed_name = nic_name(removed)
    removed.delete()
    in_ganeti(w, vm.backend_vm_id, **{
        "nic.macs": ["aa:00:00:00:00:01", "aa:00:00:00:00:02"], "nic.ips": [None, None],
        "nic.names": [removed_name, nic_name(kept)], "nic.uuids": ["uuid-0", "uuid-1"],
        "nic.links": ["br-lan", "br-lan"]})
    (finding,) = findings_of(w, "nics")
    assert "NIC 0 (aa:00:00:00:00:01) in Ganeti, not in the DB" in finding.detail
    finding.fix()
    (op,) = w.fake.jobs[-1][1]
    assert op["OP_ID"] == "OP_INSTANCE_SET_PARAMS"
    assert op["instance_name"] == vm.backend_vm_id
    assert [list(n[:2]) for n in op["nics"]] == [["remove", "uuid-0"]]
    kept.refresh_from_db()
    assert kept.index == 0  # moved down as Ganeti moves it


def test_a_ganeti_nic_on_a_known_link_gets_a_row_and_an_unknown_one_is_reported(w):
    vm = server(w)
    in_ganeti(w, vm.backend_vm_id, **{
        "nic.macs": ["aa:00:00:00:00:05", "aa:00:00:00:00:06"], "nic.ips": ["10.0.0.5", None],
        "nic.names": [None, None], "nic.links": ["br-lan", "br-nobody"]})
    found = findings_of(w, "nics")
    assert [f.detail for f in found] == [
        "NIC 0 (aa:00:00:00:00:05) in Ganeti, not in the DB: a port on network %d is recorded"
        % w.net.pk,
        "NIC 1 (aa:00:00:00:00:06) in Ganeti, not in the DB on no network of ours (br-nobody):"
        " not fixed, remove it in Ganeti or attach it by hand"]
    for finding in found:
        finding.fix()
    assert [f.fixed for f in found] == [True, False]
    row = m.NetworkInterface.objects.get(machine=vm)
    assert (row.network_id, row.index, row.mac, row.ipv4, row.state) == (
        w.net.pk, 0, "aa:00:00:00:00:05", "10.0.0.5", "ACTIVE")


def test_a_row_ganeti_does_not_have_is_deleted_only_after_the_grace_period(w, settings):
    settings.RECONCILE_BUILD_GRACE = 600
    vm = server(w)
    old = m.NetworkInterface.objects.create(machine=vm, network=w.net, index=0)
    m.NetworkInterface.objects.filter(pk=old.pk).update(created=timezone.now() - HOUR)
    m.NetworkInterface.objects.create(machine=vm, network=w.net, index=1)  # on its way
    in_ganeti(w, vm.backend_vm_id)
    (finding,) = findings_of(w)
    assert finding.detail == ("NIC row %d (index 0, network %d) not in Ganeti: the row is "
                              "deleted" % (old.pk, w.net.pk))
    finding.fix()
    assert list(m.NetworkInterface.objects.filter(machine=vm).values_list("index", flat=True)) \
        == [1]


def test_nics_of_a_server_with_an_action_under_way_are_left_alone(w):
    vm = server(w, action="REBOOT", task_job_id=77)
    m.NetworkInterface.objects.create(machine=vm, network=w.net, index=0, mac="aa:00:00:00:00:01")
    in_ganeti(w, vm.backend_vm_id, **{"nic.macs": ["aa:00:00:00:00:09"], "nic.ips": [None],
                                      "nic.names": [None], "nic.links": ["br-lan"]})
    assert findings_of(w) == []
