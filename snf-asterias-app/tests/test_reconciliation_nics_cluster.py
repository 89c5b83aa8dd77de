"""reconcile-servers --detect-nics / --fix-nics against the real Ganeti cluster.

Instances carry this module's and run's own prefix (snfrecnic<pid>-) so that other tests
and concurrent runs sharing the cluster never see them. NIC rows whose MAC or IPv4 differ
from what Ganeti holds are reported (detect changes nothing), rewritten from Ganeti (fix),
and then no longer reported.
"""

import io

import pytest
from django.core.management import call_command
from support.cluster import cluster_world, run_prefix, started_server

from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = run_prefix("snfrecnic")


@pytest.fixture
def world(settings):
    with cluster_world(settings, PREFIX, "recnic", with_lan=True) as w:
        yield w


def reconcile(*flags):
    out, err = io.StringIO(), io.StringIO()
    call_command("reconcile-servers", *flags, stdout=out, stderr=err)
    return out.getvalue()


def nics_of(vm):
    return [(n.index, n.mac, n.ipv4, n.state)
            for n in m.NetworkInterface.objects.filter(machine=vm).order_by("index")]


def test_unsynced_nics_are_found_and_rewritten_from_ganeti(world):
    w = world
    one, one_inst = started_server(w, ["10.251.77.10"])
    two, two_inst = started_server(w, ["10.251.77.20", "10.251.77.21"])
    synced, _ = started_server(w, ["10.251.77.30"])
    assert "nothing found" in reconcile("--detect-nics")

    # Drift: a wrong MAC and address on one, a wrong address on the second NIC of two
    # (e.g. a lost net-status message, or an admin's change in Ganeti).
    m.NetworkInterface.objects.filter(machine=one, index=0).update(
        mac="aa:00:00:de:ad:01", ipv4="10.251.77.99", state="BUILD")
    m.NetworkInterface.objects.filter(machine=two, index=1).update(ipv4="10.251.77.98")
    before = {vm.pk: nics_of(vm) for vm in (one, two, synced)}

    out = reconcile("--detect-nics")
    lines = [line for line in out.splitlines() if line.startswith("nics:")]
    assert len(lines) == 2, out
    assert any(one.backend_vm_id in line and "NIC(s) 0 differ" in line for line in lines)
    assert any(two.backend_vm_id in line and "NIC(s) 1 differ" in line for line in lines)
    assert synced.backend_vm_id not in out
    assert {vm.pk: nics_of(vm) for vm in (one, two, synced)} == before  # detect only
    assert "nics:" not in reconcile("--detect-stale", "--detect-orphan", "--detect-unsynced")

    out = reconcile("--fix-nics")
    assert out.count("(fixed)") == 2, out
    assert nics_of(one) == [(0, one_inst["nic.macs"][0], "10.251.77.10", "ACTIVE")]
    assert nics_of(two) == [(0, two_inst["nic.macs"][0], "10.251.77.20", "ACTIVE"),
                            (1, two_inst["nic.macs"][1], "10.251.77.21", "ACTIVE")]
    assert nics_of(synced) == before[synced.pk]
    assert "nothing found" in reconcile("--detect-nics")
    # the servers themselves were left alone
    for vm in (one, two, synced):
        vm = m.VirtualMachine.objects.get(pk=vm.pk)
        assert vm.operstate == "STARTED" and not vm.deleted
