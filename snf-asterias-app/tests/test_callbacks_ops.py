"""synnefo.logic.callbacks: Ganeti's notifications applied to the DB, order-safe."""

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from synnefo.db import models as m
from synnefo.logic import callbacks
from synnefo.logic.callbacks import MessageError, handle

pytestmark = pytest.mark.django_db


def make_vm(**kw):
    user, _ = m.User.objects.get_or_create(name="alice")
    flavor, _ = m.Flavor.objects.get_or_create(cpu=1, ram=128, disk=1, disk_template="file")
    return m.VirtualMachine.objects.create(owner=user, flavor=flavor, name="vm", **kw)


def op(vm, opcode, status, job, t, logmsg=None, **kw):
    d = {"type": "ganeti-op-status", "instance": vm.backend_vm_id, "operation": opcode,
         "status": status, "jobId": job, "logmsg": logmsg, "event_time": [t, 0],
         "cluster": "c"}
    d.update(kw)
    return d


def reload(vm):
    return m.VirtualMachine.objects.get(pk=vm.pk)


def test_create_success_starts_the_vm():
    vm = make_vm()
    handle(op(vm, "OP_INSTANCE_CREATE", "running", 5, 100))
    vm = reload(vm)
    assert vm.operstate == "BUILD" and vm.backendjobstatus == "running"
    handle(op(vm, "OP_INSTANCE_CREATE", "success", 5, 101))
    vm = reload(vm)
    assert vm.operstate == "STARTED" and vm.buildpercentage == 100
    assert vm.backendjobid == 5 and vm.backendjobstatus == "success"
    assert vm.backendtime.timestamp() == 101


def test_create_error_is_error_with_ganetis_reason():
    vm = make_vm()
    handle(op(vm, "OP_INSTANCE_CREATE", "error", 5, 101, logmsg="OpPrereqError: no memory"))
    vm = reload(vm)
    assert vm.operstate == "ERROR" and vm.fault_message == "OpPrereqError: no memory"


def test_stale_success_does_not_move_state_back():
    vm = make_vm()
    handle(op(vm, "OP_INSTANCE_SHUTDOWN", "success", 6, 200))
    handle(op(vm, "OP_INSTANCE_CREATE", "success", 5, 100))  # older, arrives later
    vm = reload(vm)
    assert vm.operstate == "STOPPED"
    assert vm.backendjobid == 6  # job fields show the newest job


def test_remove_success_destroys_and_later_errors_change_nothing():
    vm = make_vm(operstate="STARTED")
    net = m.Network.objects.create(name="n")
    m.NetworkInterface.objects.create(machine=vm, network=net, index=0)
    handle(op(vm, "OP_INSTANCE_REMOVE", "success", 9, 300))
    handle(op(vm, "OP_INSTANCE_STARTUP", "error", 8, 250))
    vm = reload(vm)
    assert vm.operstate == "DESTROYED" and vm.deleted
    assert not m.NetworkInterface.objects.filter(machine=vm).exists()


def test_failed_remove_of_an_error_vm_deletes_it():
    vm = make_vm(operstate="ERROR")
    handle(op(vm, "OP_INSTANCE_REMOVE", "error", 9, 300, logmsg="Instance 'x' not known"))
    assert reload(vm).deleted


def test_failed_remove_of_a_running_vm_keeps_it():
    vm = make_vm(operstate="STARTED")
    handle(op(vm, "OP_INSTANCE_REMOVE", "error", 9, 300, logmsg="OpExecError: busy"))
    vm = reload(vm)
    assert not vm.deleted and vm.operstate == "STARTED"


def test_unknown_opcode_updates_job_fields_only():
    vm = make_vm(operstate="STARTED")
    handle(op(vm, "OP_INSTANCE_FROBNICATE", "success", 11, 400))
    vm = reload(vm)
    assert vm.operstate == "STARTED" and vm.backendopcode == "OP_INSTANCE_FROBNICATE"
    assert vm.backendtime is None


def test_resize_success_moves_the_flavor():
    vm = make_vm(operstate="STOPPED")
    big = m.Flavor.objects.create(cpu=2, ram=256, disk=1, disk_template="file")
    handle(op(vm, "OP_INSTANCE_SET_PARAMS", "success", 12, 400,
              beparams={"vcpus": 2, "maxmem": 256, "minmem": 256}))
    assert reload(vm).flavor == big


def test_finished_task_clears_the_action():
    vm = make_vm(operstate="STARTED", action="REBOOT", task_job_id=13)
    handle(op(vm, "OP_INSTANCE_REBOOT", "running", 13, 500))
    assert reload(vm).action == "REBOOT"
    handle(op(vm, "OP_INSTANCE_REBOOT", "success", 13, 501))
    vm = reload(vm)
    assert vm.action == "" and vm.task_job_id is None


def test_progress_rises_only_while_building():
    vm = make_vm()
    p = {"type": "ganeti-create-progress", "instance": vm.backend_vm_id, "progress": 40,
         "event_time": [1, 0]}
    handle(p)
    handle(dict(p, progress=20))
    assert reload(vm).buildpercentage == 40
    handle(op(vm, "OP_INSTANCE_CREATE", "success", 5, 101))
    handle(dict(p, progress=60))  # late progress after the create finished
    vm = reload(vm)
    assert vm.buildpercentage == 100 and vm.operstate == "STARTED"


def test_net_status_updates_known_nics():
    vm = make_vm(operstate="STARTED")
    net = m.Network.objects.create(name="n")
    nic = m.NetworkInterface.objects.create(machine=vm, network=net, index=0)
    handle({"type": "ganeti-net-status", "instance": vm.backend_vm_id, "event_time": [5, 0],
            "nics": [{"index": 0, "mac": "aa:00:00:00:00:01", "ip": "10.0.0.2",
                      "firewall": "PROTECTED", "ipv6": "2001:db8::1"},
                     {"index": 1, "mac": "aa:00:00:00:00:02"}]})
    nic.refresh_from_db()
    assert (nic.mac, nic.ipv4, nic.ipv6, nic.firewall_profile, nic.state) == (
        "aa:00:00:00:00:01", "10.0.0.2", "2001:db8::1", "PROTECTED", "ACTIVE")


@pytest.mark.parametrize("body", [
    None, [], {"type": "nonsense"}, {"type": "ganeti-op-status"},
    {"type": "ganeti-op-status", "instance": "foreign-1", "operation": "OP_X",
     "status": "success", "jobId": 1, "event_time": [1, 0]},
    {"type": "ganeti-op-status", "instance": "snftest-999999", "operation": "OP_X",
     "status": "success", "jobId": 1, "event_time": [1, 0]},
    {"type": "ganeti-op-status", "instance": "snftest-1", "operation": "OP_X",
     "status": "success", "jobId": 1, "event_time": "yesterday"},
    {"type": "ganeti-create-progress", "instance": "snftest-1", "progress": "lots"},
    {"type": "ganeti-net-status", "instance": "snftest-1", "nics": "none"},
])
def test_malformed_or_foreign_messages_are_message_errors(body):
    with pytest.raises(MessageError):
        handle(body)


# -- property: any duplication and reordering gives the in-order result -------------

def lifecycle(vm):
    """A realistic message stream: create (with progress), stop, start, reboot, remove."""
    msgs, t = [], 1000
    jobs = [("OP_INSTANCE_CREATE", ["queued", "running", "success"]),
            ("OP_INSTANCE_SHUTDOWN", ["queued", "running", "success"]),
            ("OP_INSTANCE_STARTUP", ["queued", "running", "error"]),
            ("OP_INSTANCE_STARTUP", ["queued", "running", "success"]),
            ("OP_INSTANCE_REBOOT", ["queued", "waiting", "running", "success"]),
            ("OP_INSTANCE_SET_PARAMS", ["queued", "success"])]
    for job_id, (opcode, statuses) in enumerate(jobs, start=10):
        for status in statuses:
            t += 1
            msgs.append(op(vm, opcode, status, job_id, t))
            if opcode == "OP_INSTANCE_CREATE" and status == "running":
                for p in (10, 50, 90):
                    msgs.append({"type": "ganeti-create-progress", "instance": vm.backend_vm_id,
                                 "progress": p, "event_time": [t, p]})
    return msgs


FIELDS = ("operstate", "deleted", "backendjobid", "backendopcode", "backendjobstatus",
          "backendtime", "buildpercentage", "fault_message")


def final_state(stream):
    vm = make_vm()
    for msg in stream(vm):
        handle(msg)
    vm = reload(vm)
    return tuple(getattr(vm, f) for f in FIELDS)


@hsettings(max_examples=60, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_duplicates_and_reordering_give_the_in_order_result(data):
    expected = final_state(lifecycle)
    assert expected[0] == "STARTED" and expected[2] == 15

    def shuffled(vm):
        msgs = lifecycle(vm)
        dup = data.draw(st.lists(st.sampled_from(range(len(msgs))), max_size=15))
        msgs = msgs + [msgs[i] for i in dup]
        return data.draw(st.permutations(msgs))

    assert final_state(shuffled) == expected
