"""reconcile-servers --detect-nics / --fix-nics against the real Ganeti cluster.

Instances carry their own prefix (snfrecnic-) so that other tests sharing the cluster
never see them. NIC rows whose MAC or IPv4 differ from what Ganeti holds are reported
(detect changes nothing), rewritten from Ganeti (fix), and then no longer reported.
"""

import io
import os

import pytest
from django.core.management import call_command

from synnefo.backend import instances
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = "snfrecnic-"


def env(name):
    value = os.environ.get(name)
    assert value, "%s is not set: run through `make test` (ci/test-env.sh)" % name
    return value


def remove_ours(client):
    for inst in client.get_instances():
        if inst["name"].startswith(PREFIX):
            client.wait_for_job(client.delete_instance(inst["name"]))


@pytest.fixture
def world(settings):
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    with open("/var/lib/ganeti/rapi.pem") as f:
        cert = instances.certificates_only(f.read())
    backend = m.Backend.objects.create(
        clustername=env("SNF_TEST_RAPI_HOST"), port=int(env("SNF_TEST_RAPI_PORT")),
        username=env("SNF_TEST_RAPI_USER"), password=env("SNF_TEST_RAPI_PASSWORD"),
        certificate=cert, hypervisor="fake")
    client = instances.client_for(backend)
    remove_ours(client)
    w = {"backend": backend, "client": client, "user": m.User.objects.create(name="recnic"),
         "flavor": m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless"),
         # no subnet: plain bridged NICs with the address the row gives
         "net": m.Network.objects.create(name="lan", link="gnt-br0", state="ACTIVE")}
    yield w
    remove_ours(client)


def server_in_ganeti(w, ips):
    """A STARTED server whose NIC rows match Ganeti exactly (as the hook would leave them)."""
    vm = m.VirtualMachine.objects.create(owner=w["user"], flavor=w["flavor"],
                                         backend=w["backend"], name="n", operstate="STARTED")
    for index, ip in enumerate(ips):
        m.NetworkInterface.objects.create(machine=vm, network=w["net"], index=index, ipv4=ip,
                                          state="ACTIVE")
    spec = instances.build_create_spec(vm, "pw")
    spec["start"], spec["pnode"] = True, env("SNF_TEST_GANETI_NODE")
    assert w["client"].wait_for_job(w["client"].create_instance(spec))["status"] == "success"
    inst = w["client"].get_instance(vm.backend_vm_id)
    assert inst["nic.ips"] == ips
    for index, mac in enumerate(inst["nic.macs"]):
        m.NetworkInterface.objects.filter(machine=vm, index=index).update(mac=mac)
    return vm, inst


def reconcile(*flags):
    out, err = io.StringIO(), io.StringIO()
    call_command("reconcile-servers", *flags, stdout=out, stderr=err)
    return out.getvalue()


def nics_of(vm):
    return [(n.index, n.mac, n.ipv4, n.state)
            for n in m.NetworkInterface.objects.filter(machine=vm).order_by("index")]


def test_unsynced_nics_are_found_and_rewritten_from_ganeti(world):
    w = world
    one, one_inst = server_in_ganeti(w, ["10.251.77.10"])
    two, two_inst = server_in_ganeti(w, ["10.251.77.20", "10.251.77.21"])
    synced, _ = server_in_ganeti(w, ["10.251.77.30"])
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
