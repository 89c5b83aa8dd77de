"""reconcile-servers --detect-nics / --fix-nics: NICs that exist on one side only, and
rows without an index, against the real Ganeti cluster.

* a NIC Ganeti has, named after a port row that is gone (a detach whose Ganeti job
  failed) -> removed from the instance;
* a NIC Ganeti has without a name of ours, on a network the DB knows (by link) -> a row;
* a row Ganeti does not have (older than the grace period) -> deleted;
* a row without an index -> its index from Ganeti.
Detect changes nothing; after the fixes nothing is found. Prefix snfrecr<pid>-.
"""

import datetime
import io
import time

import pytest
from django.core.management import call_command
from django.utils import timezone
from support.cluster import cluster_world, run_prefix, started_server

from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = run_prefix("snfrecr")


@pytest.fixture
def world(settings):
    settings.RECONCILE_BUILD_GRACE = 60
    # "lan": the only network on gnt-br0, so a NIC Ganeti has is found by its link
    with cluster_world(settings, PREFIX, "recrow", with_lan=True) as w:
        yield w


def server(w, ips):
    return started_server(w, ips)[0]


def reconcile(*flags):
    out, err = io.StringIO(), io.StringIO()
    call_command("reconcile-servers", *flags, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def rows(vm):
    return sorted((n.index if n.index is not None else -1, n.mac, n.ipv4)
                  for n in m.NetworkInterface.objects.filter(machine=vm))


def test_nics_on_one_side_only_and_rows_without_index(world):
    w, client = world, world["client"]
    # A: its second NIC's port row is gone (detached; the Ganeti job failed)
    a = server(w, ["10.251.78.10", "10.251.78.11"])
    m.NetworkInterface.objects.filter(machine=a, index=1).delete()
    # B: Ganeti got a NIC that logic never made (an admin's gnt-instance modify)
    b = server(w, ["10.251.78.20"])
    job = client.modify_instance(b.backend_vm_id, nics=[["add", -1, {
        "mode": "bridged", "link": "gnt-br0", "ip": "10.251.78.21"}]],
        hotplug_if_possible=True)
    assert client.wait_for_job(job)["status"] == "success"
    b_mac = client.get_instance(b.backend_vm_id)["nic.macs"][1]
    # C: a row without an index, and an old row Ganeti never got
    c = server(w, ["10.251.78.30", "10.251.78.31"])
    m.NetworkInterface.objects.filter(machine=c, index=1).update(index=None)
    extra = m.NetworkInterface.objects.create(machine=c, network=w["net"], index=2,
                                              ipv4="10.251.78.32", state="BUILD")
    m.NetworkInterface.objects.filter(pk=extra.pk).update(
        created=timezone.now() - datetime.timedelta(hours=1))
    fresh = server(w, ["10.251.78.40"])  # in sync, with a brand-new row Ganeti lacks:
    young = m.NetworkInterface.objects.create(machine=fresh, network=w["net"], index=1)
    before = {vm.pk: rows(vm) for vm in (a, b, c, fresh)}

    out = reconcile("--detect-nics")
    lines = [line for line in out.splitlines() if line.startswith("nics:")]
    assert any(a.backend_vm_id in x and "NIC 1" in x and "was removed" in x for x in lines), out
    assert any(b.backend_vm_id in x and "NIC 1 (%s) in Ganeti, not in the DB" % b_mac in x
               for x in lines), out
    assert any(c.backend_vm_id in x and "without an index" in x for x in lines), out
    assert any(c.backend_vm_id in x and "row %d" % extra.pk in x and "not in Ganeti" in x
               for x in lines), out
    assert fresh.backend_vm_id not in out  # an attach may still be on its way
    assert len(lines) == 4, out
    assert {vm.pk: rows(vm) for vm in (a, b, c, fresh)} == before  # detect changes nothing

    out = reconcile("--fix-nics")
    assert out.count("(fixed)") == 4, out
    # A: Ganeti removes the NIC (a job); B: a row for Ganeti's NIC; C: index set, row gone
    deadline = time.monotonic() + 120
    while len(client.get_instance(a.backend_vm_id)["nic.macs"]) != 1:
        assert time.monotonic() < deadline, "NIC 1 of %s was not removed" % a.backend_vm_id
        time.sleep(0.5)
    a_mac = client.get_instance(a.backend_vm_id)["nic.macs"][0]
    assert rows(a) == [(0, a_mac, "10.251.78.10")]
    b_macs = client.get_instance(b.backend_vm_id)["nic.macs"]
    assert rows(b) == [(0, b_macs[0], "10.251.78.20"), (1, b_mac, "10.251.78.21")]
    added = m.NetworkInterface.objects.get(machine=b, index=1)
    assert added.network_id == w["net"].pk and added.state == "ACTIVE"
    c_macs = client.get_instance(c.backend_vm_id)["nic.macs"]
    assert rows(c) == [(0, c_macs[0], "10.251.78.30"), (1, c_macs[1], "10.251.78.31")]
    assert not m.NetworkInterface.objects.filter(pk=extra.pk).exists()
    assert m.NetworkInterface.objects.filter(pk=young.pk).exists()
    assert m.VirtualMachine.objects.get(pk=c.pk).nictime is not None  # older reports stale

    m.NetworkInterface.objects.filter(pk=young.pk).delete()
    assert "nothing found" in reconcile("--detect-nics")
