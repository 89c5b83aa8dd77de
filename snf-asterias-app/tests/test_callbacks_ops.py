"""synnefo.logic.callbacks: Ganeti's notifications applied to the DB, order-safe."""

import pytest
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from synnefo.db import models as m
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
    assert vm.fault_code == 500


def test_create_error_of_the_os_provider_is_its_fault_line():
    """snf-image's last line (in Ganeti's error with the OS log's last lines) is the fault."""
    vm = make_vm()
    ganeti = ("OpExecError: Could not add os for instance snf-1 on node node1: Error while "
              "executing backend function: OS create script failed (exited with exit code 1), "
              "last lines in the log file:\nsnf-image INFO: deploying diskdump image x\n"
              "snf-image error: [400] image checksum mismatch: sha256 is 00, expected 11")
    handle(op(vm, "OP_INSTANCE_CREATE", "error", 5, 101, logmsg=ganeti))
    vm = reload(vm)
    assert vm.operstate == "ERROR" and vm.fault_code == 400
    assert vm.fault_message == "image checksum mismatch: sha256 is 00, expected 11"
    assert vm.fault_details == ganeti


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


def test_net_report_after_the_op_status_of_its_own_job_still_applies():
    """The hook runs before its op ends: its report is stamped earlier than the op's
    success, which may be applied first (separate queues)."""
    vm = make_vm()
    net = m.Network.objects.create(name="n")
    nic = m.NetworkInterface.objects.create(machine=vm, network=net, index=0)
    handle(op(vm, "OP_INSTANCE_CREATE", "success", 5, 101))
    handle({"type": "ganeti-net-status", "instance": vm.backend_vm_id,
            "event_time": [100, 500000],
            "nics": [{"index": 0, "mac": "aa:00:00:00:00:01", "ip": "10.0.0.2"}]})
    nic.refresh_from_db()
    assert (nic.mac, nic.ipv4, nic.state) == ("aa:00:00:00:00:01", "10.0.0.2", "ACTIVE")
    assert reload(vm).operstate == "STARTED"


def test_an_older_net_report_never_overwrites_a_newer_one():
    vm = make_vm(operstate="STARTED")
    net = m.Network.objects.create(name="n")
    nic = m.NetworkInterface.objects.create(machine=vm, network=net, index=0)
    new = {"type": "ganeti-net-status", "instance": vm.backend_vm_id, "event_time": [200, 0],
           "nics": [{"index": 0, "mac": "aa:00:00:00:00:01", "ip": "10.0.0.9",
                     "firewall": "ENABLED"}]}
    old = dict(new, event_time=[150, 0], nics=[{"index": 0, "mac": "aa:00:00:00:00:01",
                                                "ip": "10.0.0.2", "firewall": "DISABLED"}])
    handle(new)
    handle(old)
    nic.refresh_from_db()
    assert (nic.ipv4, nic.firewall_profile) == ("10.0.0.9", "ENABLED")
    assert reload(vm).nictime.timestamp() == 200


def test_report_older_than_the_tag_job_sets_addresses_but_not_the_old_profile():
    vm = make_vm(operstate="STARTED")
    net = m.Network.objects.create(name="n")
    nic = m.NetworkInterface.objects.create(machine=vm, network=net, index=0,
                                            firewall_profile="DISABLED")
    handle(op(vm, "OP_TAGS_SET", "success", 9, 200, tags=["synnefo:network:0:protected"]))
    handle({"type": "ganeti-net-status", "instance": vm.backend_vm_id, "event_time": [150, 0],
            "nics": [{"index": 0, "mac": "aa:00:00:00:00:01", "ip": "10.0.0.2",
                      "firewall": "DISABLED"}]})
    nic.refresh_from_db()
    assert (nic.mac, nic.ipv4, nic.firewall_profile) == ("aa:00:00:00:00:01", "10.0.0.2",
                                                         "ENABLED")
    # an older tag job arriving late does not undo a newer report's profile
    handle({"type": "ganeti-net-status", "instance": vm.backend_vm_id, "event_time": [300, 0],
            "nics": [{"index": 0, "mac": "aa:00:00:00:00:01", "firewall": "PROTECTED"}]})
    handle(op(vm, "OP_TAGS_SET", "success", 8, 250, tags=["synnefo:network:0:unprotected"]))
    nic.refresh_from_db()
    assert nic.firewall_profile == "PROTECTED"


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

# Hook reports per job: what Ganeti's post-hook saw (hook time: after "running",
# before the op's end). None: the job runs no reporting hook.
NIC_REPORTS = {
    "OP_INSTANCE_CREATE": ("aa:00:00:00:00:01", "10.0.0.2", "DISABLED"),
    "OP_INSTANCE_STARTUP": ("aa:00:00:00:00:01", "10.0.0.2", "DISABLED"),
    "OP_INSTANCE_REBOOT": ("aa:00:00:00:00:01", "10.0.0.2", "ENABLED"),  # after the tags
    "OP_INSTANCE_SET_PARAMS": ("aa:00:00:00:00:01", "10.0.0.9", "ENABLED"),  # new address
}


def net_report(vm, t, mac, ip, firewall, nic_id=None):
    nic = {"index": 0, "mac": mac, "ip": ip, "firewall": firewall}
    if nic_id is not None:
        nic["name"] = "%snic-%d" % (django_settings.BACKEND_PREFIX_ID, nic_id)
    return {"type": "ganeti-net-status", "instance": vm.backend_vm_id, "nics": [nic],
            "event_time": [t, 500000]}


def lifecycle(vm):
    """A realistic message stream: create (with progress and the hook's NIC report),
    stop, start, a firewall tag job, reboot, a NIC change, each with its NIC report."""
    msgs, t = [], 1000
    jobs = [("OP_INSTANCE_CREATE", ["queued", "running", "success"]),
            ("OP_INSTANCE_SHUTDOWN", ["queued", "running", "success"]),
            ("OP_INSTANCE_STARTUP", ["queued", "running", "error"]),
            ("OP_INSTANCE_STARTUP", ["queued", "running", "success"]),
            ("OP_TAGS_SET", ["queued", "running", "success"]),
            ("OP_INSTANCE_REBOOT", ["queued", "waiting", "running", "success"]),
            ("OP_INSTANCE_SET_PARAMS", ["queued", "running", "success"])]
    nic = vm.nics.first()
    for job_id, (opcode, statuses) in enumerate(jobs, start=10):
        for status in statuses:
            t += 1
            extra = {"tags": ["synnefo:network:0:protected"]} if opcode == "OP_TAGS_SET" \
                else {}
            msgs.append(op(vm, opcode, status, job_id, t, **extra))
            if opcode == "OP_INSTANCE_CREATE" and status == "running":
                for p in (10, 50, 90):
                    msgs.append({"type": "ganeti-create-progress", "instance": vm.backend_vm_id,
                                 "progress": p, "event_time": [t, p]})
            if status == "running" and opcode in NIC_REPORTS and nic is not None \
                    and job_id != 12:  # (job 12, the failed start, runs no post-hook)
                msgs.append(net_report(vm, t, *NIC_REPORTS[opcode],
                                       nic_id=nic.pk if job_id % 2 else None))
    return msgs


FIELDS = ("operstate", "deleted", "backendjobid", "backendopcode", "backendjobstatus",
          "backendtime", "buildpercentage", "fault_message")


NIC_FIELDS = ("mac", "ipv4", "firewall_profile", "state")


def final_state(stream):
    vm = make_vm()
    m.NetworkInterface.objects.create(machine=vm, network=m.Network.objects.create(name="n"),
                                      index=0)
    for msg in stream(vm):
        handle(msg)
    vm = reload(vm)
    nic = vm.nics.get()
    return (tuple(getattr(vm, f) for f in FIELDS)
            + tuple(getattr(nic, f) for f in NIC_FIELDS))


@hsettings(max_examples=60, deadline=None,  # no timing checks: a loaded machine is slow
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_duplicates_and_reordering_give_the_in_order_result(data):
    expected = final_state(lifecycle)
    assert expected[0] == "STARTED" and expected[2] == 16
    assert expected[len(FIELDS):] == ("aa:00:00:00:00:01", "10.0.0.9", "ENABLED", "ACTIVE")

    def shuffled(vm):
        msgs = lifecycle(vm)
        dup = data.draw(st.lists(st.sampled_from(range(len(msgs))), max_size=15))
        msgs = msgs + [msgs[i] for i in dup]
        return data.draw(st.permutations(msgs))

    assert final_state(shuffled) == expected
