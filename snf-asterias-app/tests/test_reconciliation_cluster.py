"""reconcile-servers against the real Ganeti cluster (ci/ganeti.sh)."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.utils import timezone
from support.cluster import cluster_world, env, run_prefix
from support.live import wait_for

from synnefo.backend import instances
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = run_prefix("snfrec")


@pytest.fixture
def world(settings):
    with cluster_world(settings, PREFIX, "rec") as w:
        yield w


def vm_on(w, backend=None, **kw):
    return m.VirtualMachine.objects.create(owner=w["user"], flavor=w["flavor"],
                                           backend=backend or w["backend"], name="r", **kw)


def created(w, vm, start=True):
    spec = instances.build_create_spec(vm, "pw")
    spec["start"] = start
    spec["pnode"] = env("SNF_TEST_GANETI_NODE")
    job = w["client"].create_instance(spec)
    assert w["client"].wait_for_job(job)["status"] == "success"
    return job


def reconcile(*flags):
    out, err = io.StringIO(), io.StringIO()
    call_command("reconcile-servers", *flags, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_drift_is_found_and_fixed(world):
    w = world
    gone = vm_on(w, operstate="STARTED")        # removed behind our back
    created(w, gone)
    w["client"].wait_for_job(w["client"].delete_instance(gone.backend_vm_id))
    stopped_in_db = vm_on(w, operstate="STOPPED")  # actually running
    created(w, stopped_in_db)
    orphan_name = "%s%d" % (PREFIX, 999999)
    orphan = m.VirtualMachine(id=999999, owner=w["user"], flavor=w["flavor"],
                              backend=w["backend"])
    created(w, orphan)
    never = vm_on(w)  # BUILD, the API died before the RAPI call
    m.VirtualMachine.objects.filter(pk=never.pk).update(
        created=timezone.now() - datetime.timedelta(hours=1))
    lost_job = vm_on(w, backendjobid=987654321)  # BUILD, job unknown to Ganeti
    young = vm_on(w)  # BUILD, just inserted: left alone

    out, _ = reconcile("--detect-all")
    assert "stale: %s" % gone.backend_vm_id in out
    assert "unsynced: %s" % stopped_in_db.backend_vm_id in out
    assert "orphan: %s" % orphan_name in out
    assert "build_error: %s" % never.backend_vm_id in out and "never reached Ganeti" in out
    assert "build_error: %s" % lost_job.backend_vm_id in out
    # (followed by " on": its name may begin the orphan's, e.g. <prefix>9 and <prefix>999999)
    assert young.backend_vm_id + " on " not in out
    assert m.VirtualMachine.objects.get(pk=gone.pk).operstate == "STARTED"  # detect only

    out, _ = reconcile("--fix-all")
    assert out.count("(fixed)") == 5, out
    get = lambda vm: m.VirtualMachine.objects.get(pk=vm.pk)  # noqa: E731
    assert get(gone).deleted and get(gone).operstate == "DESTROYED"
    assert get(stopped_in_db).operstate == "STARTED"
    assert get(never).operstate == "ERROR" and "never reached" in get(never).fault_message
    assert get(lost_job).operstate == "ERROR"
    assert get(young).operstate == "BUILD"
    # (the fix submits the orphan's removal; Ganeti runs it in its own time)
    wait_for("Ganeti to remove the orphan %s" % orphan_name,
             lambda: orphan_name not in [i["name"] for i in w["client"].get_instances()])
    out, _ = reconcile("--detect-all")
    assert "nothing found" in out


def test_unreachable_or_offline_backend_is_never_all_vms_gone(world):
    w = world
    dead = m.Backend.objects.create(clustername="127.0.0.1", port=1, hypervisor="fake")
    offline = m.Backend.objects.create(clustername="offline.example.org", offline=True)
    a, b = vm_on(w, dead, operstate="STARTED"), vm_on(w, offline, operstate="STARTED")
    with pytest.raises(Exception) as exc:
        reconcile("--fix-all", "--backend", str(dead.pk))
    assert "could not be checked" in str(exc.value)
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(Exception):
        call_command("reconcile-servers", "--fix-all", stdout=out, stderr=err)
    err = err.getvalue()
    assert "127.0.0.1" in err and "skipped" in err and "offline" in err
    for vm in (a, b):
        vm = m.VirtualMachine.objects.get(pk=vm.pk)
        assert vm.operstate == "STARTED" and not vm.deleted
