"""Reconciliation: find (and fix) where the DB and Ganeti disagree about servers.

Ganeti is read first and the DB after it, so a server created in between looks like
"in the DB, not yet in Ganeti" (left alone while building) rather than an orphan. A
backend that is offline or does not answer is skipped with a warning: an unreachable
cluster is never taken to mean "all its servers are gone".

Kinds of findings (each can be fixed separately):
  stale        in the DB, not in Ganeti          -> simulated successful REMOVE
  orphan       in Ganeti, not (or deleted) in DB -> the instance is removed over RAPI
  unsynced     running in Ganeti but not STARTED in the DB, or the other way round
               -> simulated successful STARTUP/CREATE or SHUTDOWN
  build_error  BUILD in the DB and the create job failed, or is unknown to Ganeti,
               or never reached Ganeti at all (no job id after a grace period)
               -> simulated failed CREATE (ERROR, with the reason)
  nics         the DB's NIC MACs/IPs differ from Ganeti's -> DB rows rewritten
"""

import datetime
import logging

from django.conf import settings
from django.utils import timezone

from synnefo.backend.instances import client_for
from synnefo.backend.rapi import RapiError
from synnefo.db.models import Backend, NetworkInterface, VirtualMachine, id_from_instance_name
from synnefo.logic import callbacks

log = logging.getLogger(__name__)

KINDS = ("stale", "orphan", "unsynced", "build_error", "nics")


class Finding:
    def __init__(self, kind, backend, name, vm=None, detail="", fix=None):
        self.kind, self.backend, self.name, self.vm = kind, backend, name, vm
        self.detail, self._fix = detail, fix
        self.fixed = False

    def fix(self):
        self._fix()
        self.fixed = True

    def __str__(self):
        return "%s: %s on %s: %s%s" % (self.kind, self.name, self.backend.clustername,
                                       self.detail, " (fixed)" if self.fixed else "")


def _grace():
    return datetime.timedelta(seconds=getattr(settings, "RECONCILE_BUILD_GRACE", 60))


def reconcile_backend(backend, warnings):
    """Findings of one backend; unreachable or offline backends add a warning only."""
    if backend.offline:
        warnings.append("backend %s is offline: skipped" % backend.clustername)
        return []
    client = client_for(backend)
    try:
        ganeti = client.get_instances(bulk=True)
    except RapiError as exc:
        warnings.append("backend %s skipped, its servers were not checked: %s"
                        % (backend.clustername, exc))
        return []
    prefix = settings.BACKEND_PREFIX_ID
    in_ganeti, seen = {}, set()
    for inst in ganeti:
        vm_id = id_from_instance_name(inst.get("name"), prefix)
        if vm_id is None:
            continue  # not ours (another deployment, or not Synnefo at all)
        if vm_id in seen:
            warnings.append("instance %s appears twice on %s: skipped"
                            % (inst["name"], backend.clustername))
            in_ganeti.pop(vm_id, None)
            continue
        seen.add(vm_id)
        in_ganeti[vm_id] = inst
    # The DB after Ganeti: see the module docstring.
    vms = {vm.id: vm for vm in VirtualMachine.objects.filter(backend=backend, deleted=False)}
    findings = []
    now = timezone.now()
    for vm_id, vm in sorted(vms.items()):
        inst = in_ganeti.get(vm_id)
        if inst is None:
            if vm.operstate == "BUILD":
                findings += _build_finding(client, backend, vm, now)
            elif vm.operstate not in ("ERROR", "DESTROYED"):
                findings.append(Finding(
                    "stale", backend, vm.backend_vm_id, vm, "in the DB (%s), not in Ganeti"
                    % vm.operstate, lambda vm=vm: callbacks.simulate_op(vm, "OP_INSTANCE_REMOVE")))
            # ERROR without an instance is normal (a failed build): the user sees the
            # fault and deletes the server.
            continue
        findings += _state_findings(client, backend, vm, inst, now)
        findings += _nic_findings(backend, vm, inst)
    deleted_or_unknown = set(in_ganeti) - set(vms)
    for vm_id in sorted(deleted_or_unknown):
        name = in_ganeti[vm_id]["name"]
        row = VirtualMachine.objects.filter(pk=vm_id).first()
        if row is not None and not row.deleted and row.backend_id != backend.id:
            continue  # ours, but the DB places it on another backend: leave to an admin
        findings.append(Finding("orphan", backend, name, row,
                                "in Ganeti, %s in the DB" % ("deleted" if row else "not"),
                                lambda name=name: client.delete_instance(name)))
    return findings


def _job_verdict(client, vm):
    """(failed?, reason) of the VM's create job as Ganeti knows it."""
    try:
        job = client.get_job_status(vm.backendjobid)
    except RapiError as exc:
        if exc.code == 404:
            return True, "the create job %s is unknown to Ganeti" % vm.backendjobid
        raise
    if job.get("status") is None:  # Ganeti 3.0 answers 200 with nulls for unknown jobs
        return True, "the create job %s is unknown to Ganeti" % vm.backendjobid
    if job.get("status") in ("error", "canceled"):
        reason = ""
        for result in job.get("opresult") or []:
            if isinstance(result, list) and len(result) == 2:
                reason = "%s: %s" % (result[0], (result[1] or [""])[0])
        return True, reason or "the create job %s %s" % (vm.backendjobid, job["status"])
    return False, job.get("status")


def _build_finding(client, backend, vm, now):
    if vm.backendjobid is None:
        if now - vm.created < _grace():
            return []  # the API may be submitting it right now
        reason = "the create request never reached Ganeti"
    else:
        if vm.backendtime and now - vm.backendtime < datetime.timedelta(seconds=5):
            return []
        try:
            failed, reason = _job_verdict(client, vm)
        except RapiError:
            return []
        if not failed:
            return []
    return [Finding("build_error", backend, vm.backend_vm_id, vm, reason,
                    lambda: callbacks.simulate_op(vm, "OP_INSTANCE_CREATE", "error",
                                                  "Reconciliation: " + reason))]


def _state_findings(client, backend, vm, inst, now):
    up = bool(inst.get("oper_state"))
    if up and vm.operstate != "STARTED":
        opcode = "OP_INSTANCE_CREATE" if vm.operstate == "BUILD" else "OP_INSTANCE_STARTUP"
        return [Finding("unsynced", backend, vm.backend_vm_id, vm,
                        "running in Ganeti, %s in the DB" % vm.operstate,
                        lambda: callbacks.simulate_op(vm, opcode))]
    if not up and vm.operstate == "STARTED":
        return [Finding("unsynced", backend, vm.backend_vm_id, vm,
                        "stopped in Ganeti, STARTED in the DB",
                        lambda: callbacks.simulate_op(vm, "OP_INSTANCE_SHUTDOWN"))]
    if not up and vm.operstate == "BUILD" and vm.backendjobid is not None:
        try:
            failed, reason = _job_verdict(client, vm)
        except RapiError:
            return []
        if failed:
            return [Finding("build_error", backend, vm.backend_vm_id, vm, reason,
                            lambda: callbacks.simulate_op(vm, "OP_INSTANCE_CREATE", "error",
                                                          "Reconciliation: " + reason))]
        if reason == "success":
            return [Finding("unsynced", backend, vm.backend_vm_id, vm,
                            "created but stopped in Ganeti, BUILD in the DB",
                            lambda: (callbacks.simulate_op(vm, "OP_INSTANCE_CREATE"),
                                     callbacks.simulate_op(VirtualMachine.objects.get(pk=vm.pk),
                                                           "OP_INSTANCE_SHUTDOWN")))]
    return []


def _nic_findings(backend, vm, inst):
    macs = inst.get("nic.macs") or []
    ips = inst.get("nic.ips") or []
    rows = {n.index: n for n in NetworkInterface.objects.filter(machine=vm)}
    wrong = []
    for index, mac in enumerate(macs):
        row = rows.get(index)
        ip = ips[index] if index < len(ips) else None
        if row is not None and (row.mac != mac or (ip and row.ipv4 != ip)):
            wrong.append((row, mac, ip))
    if not wrong:
        return []

    def fix():
        for row, mac, ip in wrong:
            row.mac = mac
            if ip:
                row.ipv4 = ip
            row.state = "ACTIVE"
            row.save(update_fields=["mac", "ipv4", "state", "updated"])
    return [Finding("nics", backend, vm.backend_vm_id, vm,
                    "NIC(s) %s differ from Ganeti" % ", ".join(str(r.index) for r, _, _ in wrong),
                    fix)]


def reconcile(backends=None):
    """(findings, warnings) over ``backends`` (default: all)."""
    warnings, findings = [], []
    for backend in (backends if backends is not None else Backend.objects.all()):
        findings += reconcile_backend(backend, warnings)
    return findings, warnings
