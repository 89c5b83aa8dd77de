"""Apply Ganeti's notifications to the database (the dispatcher's handlers).

Messages arrive duplicated and out of order (eventd publishes on every job-file write;
several dispatchers run; op, net and progress travel on separate queues). So applying
one locks the VM row and follows these rules:

* The stored state (operstate) moves only on a job's *final* status, and only forward
  in Ganeti's time order: ``backendtime`` is the Ganeti time of the newest applied
  finished job; a finished op at or before it is stale and changes nothing.
* The job fields (backendjobid/opcode/jobstatus/logmsg) show the newest job: a message
  of an older job, or an earlier status of the same job, does not overwrite them.
* Progress only rises, and only while the VM is in BUILD.
* NIC reports (the hook's ganeti-net-status) have watermarks of their own: ``nictime``
  (the newest applied report; an older one changes nothing) and ``firewalltime`` (the
  newest applied firewall information, from a tag job or a report). They are not
  compared with ``backendtime``: the hook runs before its op ends, so its report is
  always "older" than the op-status of the same job, and the two travel on different
  queues; whichever comes first, the NICs end up as the newest report says.
* Unknown opcodes update the job fields only.

Every handler takes the decoded message body; ``MessageError`` means "malformed or not
ours: acknowledge and log" — anything else raised is unexpected (dead-letter).
"""

import datetime
import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from synnefo.common.protocol import (
    FINAL_JOB_STATUSES,
    FIREWALL_PROFILES,
    JOB_STATUS_RANK,
    MSG_CREATE_PROGRESS,
    MSG_NET_STATUS,
    MSG_OP_STATUS,
    firewall_profiles,
    os_fault,
)
from synnefo.db.models import Flavor, NetworkInterface, VirtualMachine, id_from_instance_name
from synnefo.db.row_statements import RowStatements

log = logging.getLogger(__name__)

# The locked read of VM rows and the updates of VM and NIC rows, their SQL built once:
# the ORM's query building cost more than the transaction (docs/performance.md).
VM_ROWS = RowStatements(VirtualMachine)
NIC_ROWS = RowStatements(NetworkInterface)

# Successful opcode -> the state it leaves the VM in.
SUCCESS_STATE = {"OP_INSTANCE_CREATE": "STARTED", "OP_INSTANCE_STARTUP": "STARTED",
                 "OP_INSTANCE_REBOOT": "STARTED", "OP_INSTANCE_SHUTDOWN": "STOPPED",
                 "OP_INSTANCE_REMOVE": "DESTROYED"}


class MessageError(Exception):
    """The message is malformed, foreign or about nothing we know: ack and log it."""


def _event_time(body):
    ts = body.get("event_time")
    if (not isinstance(ts, (list, tuple)) or len(ts) != 2
            or not all(isinstance(x, int) for x in ts)):
        raise MessageError("bad or missing event_time %r" % (ts,))
    return datetime.datetime.fromtimestamp(ts[0] + ts[1] / 1e6, tz=datetime.timezone.utc)


def _locked_vm(body):
    """The VM the message is about, locked (select_for_update) in the open transaction."""
    name = body.get("instance")
    vm_id = id_from_instance_name(name)
    if vm_id is None:
        raise MessageError("instance %r is not of this deployment" % (name,))
    vm = VM_ROWS.lock(vm_id)
    if vm is None:
        raise MessageError("no server with id %d (instance %s)" % (vm_id, name))
    return vm


def is_newer_job_news(row, job_id, status):
    """Whether a job status is news for a row that mirrors its last Ganeti job
    (``backendjobid``/``backendjobstatus``): a later job, or a later status of the same one."""
    if row.backendjobid is None:
        return True
    if job_id != row.backendjobid:
        return job_id > row.backendjobid
    return JOB_STATUS_RANK.get(status, -1) >= JOB_STATUS_RANK.get(row.backendjobstatus, -1)


def _instance_gone(logmsg):
    text = (logmsg or "").lower()
    return "not known" in text or "unknown instance" in text or "does not exist" in text


def update_db(body):
    """ganeti-op-status: a Ganeti op changed status."""
    opcode, status, job_id = body.get("operation"), body.get("status"), body.get("jobId")
    if (not isinstance(opcode, str) or status not in JOB_STATUS_RANK
            or not isinstance(job_id, int)):
        raise MessageError("op-status without a valid operation/status/jobId")
    when = _event_time(body)
    logmsg = body.get("logmsg") or ""
    with transaction.atomic():
        vm = _locked_vm(body)
        changed = []
        if is_newer_job_news(vm, job_id, status):
            vm.backendjobid, vm.backendopcode = job_id, opcode
            vm.backendjobstatus, vm.backendlogmsg = status, logmsg
            changed += ["backendjobid", "backendopcode", "backendjobstatus", "backendlogmsg"]
        if status in FINAL_JOB_STATUSES and (vm.backendtime is None or when > vm.backendtime):
            changed += _apply_final(vm, opcode, status, logmsg, when, body)
        if (opcode == "OP_TAGS_SET" and status == "success"
                and (vm.firewalltime is None or when > vm.firewalltime)
                and _apply_firewall_tags(vm, body.get("tags"))):
            # NIC reports from before this tag job carry the old profiles
            vm.firewalltime = when
            changed.append("firewalltime")
        if opcode == "OP_INSTANCE_CREATE" and status == "success" and vm.buildpercentage != 100:
            # Even when stale for the state (a later job already applied), the build
            # is known to be complete.
            vm.buildpercentage = 100
            changed.append("buildpercentage")
        if status in FINAL_JOB_STATUSES and vm.task_job_id == job_id:
            vm.action, vm.task_job_id = "", None  # the user's action is over
            changed += ["action", "task_job_id"]
        if changed:
            VM_ROWS.update(vm, sorted(set(changed)) + ["updated"])
    return vm


def _apply_final(vm, opcode, status, logmsg, when, body):
    """The state change of a finished op that is newer than everything applied."""
    changed = []
    if status == "success":
        state = SUCCESS_STATE.get(opcode)
        if state is not None:
            vm.operstate = state
            changed.append("operstate")
            if state == "DESTROYED":
                vm.deleted = True
                changed.append("deleted")
                NetworkInterface.objects.filter(machine=vm).delete()
        elif opcode == "OP_INSTANCE_SET_PARAMS" and body.get("beparams"):
            flavor = _flavor_for(vm, body["beparams"])
            if flavor is not None and flavor.pk != vm.flavor_id:
                vm.flavor = flavor
                changed.append("flavor")
        elif opcode == "OP_TAGS_SET" and _firewall_profiles(body.get("tags")):
            # a newer finished job (its profiles are applied by update_db under the
            # firewall watermark): older op-statuses are stale
            changed.append("firewall")
    elif opcode == "OP_INSTANCE_CREATE":  # error or canceled
        vm.operstate = "ERROR"
        fault = os_fault(logmsg)  # the OS provider's own words for what went wrong
        if fault is not None:
            vm.fault_code, vm.fault_message = fault
            vm.fault_details = logmsg
        else:
            vm.fault_code = 500
            vm.fault_message = logmsg or "Ganeti could not create the server (job %s %s)" % (
                body.get("jobId"), status)
        changed += ["operstate", "fault_code", "fault_message", "fault_details"]
    elif opcode == "OP_INSTANCE_REMOVE" and (vm.operstate in ("ERROR", "BUILD")
                                             or _instance_gone(logmsg)):
        # Nothing to remove: a failed build, or an instance already gone (#799).
        vm.operstate, vm.deleted = "DESTROYED", True
        NetworkInterface.objects.filter(machine=vm).delete()
        changed += ["operstate", "deleted"]
    if changed:  # only what moved the state advances the watermark
        vm.backendtime = when
        changed.append("backendtime")
    return [c for c in changed if c != "firewall"]


def _firewall_profiles(tags):
    """{NIC index: profile} named by the firewall tags of a tag job's message."""
    return firewall_profiles(tags) if isinstance(tags, list) else {}


def _apply_firewall_tags(vm, tags):
    """Set NIC firewall profiles from the tags a finished tag job added; True when the
    tags named any profile."""
    profiles = _firewall_profiles(tags)
    for index, profile in profiles.items():
        NetworkInterface.objects.filter(machine=vm, index=index).exclude(
            firewall_profile=profile).update(firewall_profile=profile,
                                             updated=timezone.now())
    return bool(profiles)


def _flavor_for(vm, beparams):
    cpu = beparams.get("vcpus", vm.flavor.cpu)
    ram = beparams.get("maxmem", beparams.get("memory", vm.flavor.ram))
    return Flavor.objects.filter(cpu=cpu, ram=ram, disk=vm.flavor.disk,
                                 disk_template=vm.flavor.disk_template).first()


def update_net(body):
    """ganeti-net-status: the hook reports the instance's NICs."""
    nics = body.get("nics")
    if not isinstance(nics, list):
        raise MessageError("net-status without a nics list")
    when = _event_time(body)
    with transaction.atomic():
        vm = _locked_vm(body)
        if vm.deleted or (vm.nictime is not None and when < vm.nictime):
            return vm  # about a removed VM, or older than the report applied last
        # Firewall profiles from a report older than the newest applied tag job (or
        # report) are the old ones.
        firewall_ok = vm.firewalltime is None or when >= vm.firewalltime
        firewall_seen = False
        all_rows = list(NetworkInterface.objects.filter(machine=vm))
        by_index = {n.index: n for n in all_rows}
        by_name = {_nic_name(n): n for n in all_rows}
        for i, nic in enumerate(nics):
            if not isinstance(nic, dict):
                raise MessageError("nic %d is not an object" % i)
        # By the name logic gave the NIC first (indexes shift when a NIC before it is
        # removed), then by index for NICs without one of our names; a row matched by
        # name is not matched again by index.
        named = {id(nic): by_name[nic.get("name")] for nic in nics
                 if nic.get("name") in by_name}
        taken = {row.pk for row in named.values()}
        for i, nic in enumerate(nics):
            index = nic.get("index", i)
            row = named.get(id(nic))
            if row is None and not _is_our_nic_name(nic.get("name")):
                row = by_index.get(index)
                if row is not None and row.pk in taken:
                    row = None
            if row is None:
                continue  # a NIC logic does not know (yet): reconciliation decides
            fields = {"mac": nic.get("mac") or row.mac, "ipv4": nic.get("ip") or row.ipv4,
                      "ipv6": nic.get("ipv6") or row.ipv6, "state": "ACTIVE"}
            if firewall_ok and nic.get("firewall") in FIREWALL_PROFILES:
                fields["firewall_profile"] = nic["firewall"]
                firewall_seen = True
            dirty = [k for k, v in fields.items() if getattr(row, k) != v]
            if dirty:
                for k in dirty:
                    setattr(row, k, fields[k])
                NIC_ROWS.update(row, dirty + ["updated"])
        vm.nictime = when
        fields = ["nictime", "updated"]
        if firewall_seen:
            vm.firewalltime = when
            fields.append("firewalltime")
        VM_ROWS.update(vm, fields)
    return vm


def _nic_name(row):
    """The Ganeti name logic gives NIC row ``row`` (synnefo.backend.networks.nic_name)."""
    return "%snic-%d" % (settings.BACKEND_PREFIX_ID, row.id)


def _is_our_nic_name(name):
    prefix = settings.BACKEND_PREFIX_ID + "nic-"
    return isinstance(name, str) and name.startswith(prefix) and name[len(prefix):].isdigit()


def update_build_progress(body):
    """ganeti-create-progress: how far the OS provider got copying the image."""
    try:
        progress = int(body.get("progress"))
    except (TypeError, ValueError):
        raise MessageError("progress message without a numeric progress") from None
    progress = max(0, min(100, progress))
    with transaction.atomic():
        vm = _locked_vm(body)
        if vm.operstate != "BUILD" or vm.deleted or progress <= vm.buildpercentage:
            return vm  # a finished VM never moves back; progress only rises
        vm.buildpercentage = progress
        VM_ROWS.update(vm, ["buildpercentage", "updated"])
    return vm


HANDLERS = {MSG_OP_STATUS: update_db, MSG_NET_STATUS: update_net,
            MSG_CREATE_PROGRESS: update_build_progress}


def dispatch(handlers, body):
    """Apply one decoded message with the handler its "type" names in ``handlers``;
    MessageError when it is not a JSON object or of a type not in ``handlers``."""
    if not isinstance(body, dict):
        raise MessageError("message body is not a JSON object")
    handler = handlers.get(body.get("type"))
    if handler is None:
        raise MessageError("unknown message type %r" % (body.get("type"),))
    return handler(body)


def handle(body):
    """Apply one decoded message; MessageError when it cannot be applied."""
    return dispatch(HANDLERS, body)


def simulate_op(vm, opcode, status="success", logmsg="Reconciliation: simulated Ganeti event"):
    """Apply a made-up finished op (reconciliation), newer than anything applied."""
    now = timezone.now()
    if vm.backendtime is not None and now <= vm.backendtime:
        now = vm.backendtime + datetime.timedelta(microseconds=1)
    us = int(now.timestamp() * 1e6)
    return update_db({"type": MSG_OP_STATUS, "instance": vm.backend_vm_id,
                      "operation": opcode, "status": status, "jobId": 0,
                      "logmsg": logmsg, "event_time": [us // 10**6, us % 10**6]})
