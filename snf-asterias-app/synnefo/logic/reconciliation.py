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
  nics         NICs of a server that Ganeti and the DB see differently (servers with
               an action in progress are left alone):
               * a row's MAC/IPv4/index differs from Ganeti's NIC (matched by the name
                 <prefix>nic-<row id>, else by index), or the row has no index
                 -> the row rewritten from Ganeti;
               * a NIC Ganeti has and the DB lacks: named after a row that is gone (a
                 detach whose Ganeti job failed) -> removed from the instance over RAPI;
                 otherwise, on a network the DB knows -> a row created for it;
                 on no known network -> reported only;
               * a row Ganeti does not have (older than RECONCILE_BUILD_GRACE: an
                 attach that never reached Ganeti) -> the row deleted.
"""

import datetime
import logging

from django.conf import settings
from django.db import models
from django.utils import timezone

from synnefo.backend import cluster, jobs
from synnefo.backend.rapi import RapiError
from synnefo.common.protocol import FAILED_JOB_STATUSES
from synnefo.db.models import (
    Backend,
    Network,
    NetworkInterface,
    VirtualMachine,
    id_from_instance_name,
)
from synnefo.logic import callbacks
from synnefo.logic.ids import parse_id
from synnefo.logic.network_callbacks import network_id_from_name

log = logging.getLogger(__name__)

KINDS = ("stale", "orphan", "unsynced", "build_error", "nics")


class Finding:
    def __init__(self, kind, backend, name, vm=None, detail="", fix=None):
        self.kind, self.backend, self.name, self.vm = kind, backend, name, vm
        self.detail, self._fix = detail, fix
        self.fixed = False

    def fix(self):
        if self._fix is None:
            return  # reported only: a person has to decide
        self._fix()
        self.fixed = True

    def __str__(self):
        return "%s: %s on %s: %s%s" % (self.kind, self.name, self.backend.clustername,
                                       self.detail, " (fixed)" if self.fixed else "")


def _grace():
    return datetime.timedelta(seconds=settings.RECONCILE_BUILD_GRACE)


def reconcile_backend(backend, warnings):
    """Findings of one backend; unreachable or offline backends add a warning only."""
    if backend.offline:
        warnings.append("backend %s is offline: skipped" % backend.clustername)
        return []
    read_at = timezone.now()
    try:
        ganeti = cluster.list_instances(backend)
    except RapiError as exc:
        warnings.append("backend %s skipped, its servers were not checked: %s"
                        % (backend.clustername, exc))
        return []
    prefix = settings.BACKEND_PREFIX_ID
    in_ganeti, seen = {}, set()
    for inst in ganeti:
        vm_id = id_from_instance_name(inst.name, prefix)
        if vm_id is None:
            continue  # not ours (another deployment, or not Synnefo at all)
        if vm_id in seen:
            warnings.append("instance %s appears twice on %s: skipped"
                            % (inst.name, backend.clustername))
            in_ganeti.pop(vm_id, None)
            continue
        seen.add(vm_id)
        in_ganeti[vm_id] = inst
    # The DB after Ganeti: see the module docstring.
    vms = {vm.id: vm for vm in VirtualMachine.objects.filter(backend=backend, deleted=False)}
    # Every NIC of those servers in one query (one per server made 10,000 queries of a
    # 10,000-server backend; bench/bench_scale.py)
    nics = {}
    for row in (NetworkInterface.objects.filter(machine__backend=backend, machine__deleted=False)
                .select_related("network").order_by("id")):
        nics.setdefault(row.machine_id, []).append(row)
    findings = []
    now = timezone.now()
    for vm_id, vm in sorted(vms.items()):
        inst = in_ganeti.get(vm_id)
        if inst is None:
            if vm.operstate == "BUILD":
                findings += _build_finding(backend, vm, now)
            elif vm.operstate not in ("ERROR", "DESTROYED"):
                findings.append(Finding(
                    "stale", backend, vm.backend_vm_id, vm, "in the DB (%s), not in Ganeti"
                    % vm.operstate, lambda vm=vm: callbacks.simulate_op(vm, "OP_INSTANCE_REMOVE")))
            # ERROR without an instance is normal (a failed build): the user sees the
            # fault and deletes the server.
            continue
        findings += _state_findings(backend, vm, inst, now)
        findings += _nic_findings(backend, vm, inst, read_at, now, nics.get(vm_id, []))
    deleted_or_unknown = set(in_ganeti) - set(vms)
    for vm_id in sorted(deleted_or_unknown):
        name = in_ganeti[vm_id].name
        row = VirtualMachine.objects.filter(pk=vm_id).first()
        if row is not None and not row.deleted and row.backend_id != backend.id:
            continue  # ours, but the DB places it on another backend: leave to an admin
        findings.append(Finding("orphan", backend, name, row,
                                "in Ganeti, %s in the DB" % ("deleted" if row else "not"),
                                lambda name=name: cluster.remove_instance(backend, name)))
    return findings


def _job_verdict(backend, vm):
    """(failed?, reason) of the VM's create job as Ganeti knows it."""
    job = jobs.job_status(backend, vm.backendjobid)
    if job is None:
        return True, "the create job %s is unknown to Ganeti" % vm.backendjobid
    if job.status in FAILED_JOB_STATUSES:
        return True, job.reason or "the create job %s %s" % (vm.backendjobid, job.status)
    return False, job.status


def _build_finding(backend, vm, now):
    if vm.backendjobid is None:
        if now - vm.created < _grace():
            return []  # the API may be submitting it right now
        reason = "the create request never reached Ganeti"
    else:
        if vm.backendtime and now - vm.backendtime < datetime.timedelta(seconds=5):
            return []
        try:
            failed, reason = _job_verdict(backend, vm)
        except RapiError:
            return []
        if not failed:
            return []
    return [Finding("build_error", backend, vm.backend_vm_id, vm, reason,
                    lambda: callbacks.simulate_op(vm, "OP_INSTANCE_CREATE", "error",
                                                  "Reconciliation: " + reason))]


def _state_findings(backend, vm, inst, now):
    up = inst.running
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
            failed, reason = _job_verdict(backend, vm)
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


def _row_id_from_nic_name(name):
    prefix = settings.BACKEND_PREFIX_ID + "nic-"
    if isinstance(name, str) and name.startswith(prefix):
        return parse_id(name[len(prefix):])
    return None


def _network_of(gnic):
    """The live Network a Ganeti NIC is on, or None when that cannot be told."""
    net_id = network_id_from_name(gnic.network)
    if net_id is not None:
        return Network.objects.filter(pk=net_id, deleted=False).first()
    if gnic.network or not gnic.link:
        return None  # a Ganeti network that is not ours, or no link to go by
    candidates = list(Network.objects.filter(deleted=False, subnet="", link=gnic.link)[:2])
    return candidates[0] if len(candidates) == 1 else None


def _nic_findings(backend, vm, inst, read_at, now, rows):
    """Findings about the NICs of ``vm``: ``rows`` are its NetworkInterface rows (with
    their networks), Ganeti's are ``inst.nics``."""
    if vm.action or vm.task_job_id is not None:
        return []  # a NIC change may be under way: its op-status will settle it
    gnics = inst.nics
    by_id = {row.id: row for row in rows}
    pairs, used = [], set()
    # By name first (indexes shift when a NIC before it is removed), then by index.
    for g in gnics:
        row = by_id.get(_row_id_from_nic_name(g.name))
        if row is not None:
            pairs.append((g, row))
            used.add(row.id)
    unmatched = []
    for g in gnics:
        if any(g is pg for pg, _ in pairs):
            continue
        if _row_id_from_nic_name(g.name) is None:
            row = next((r for r in rows if r.id not in used and r.index == g.index), None)
            if row is not None:
                pairs.append((g, row))
                used.add(row.id)
                continue
        unmatched.append(g)
    findings = []

    wrong = [(g, row) for g, row in pairs
             if row.index != g.index or row.mac != g.mac
             or (g.ip and row.ipv4 != g.ip)]
    if wrong:
        def fix_rows(wrong=wrong):
            for g, row in wrong:
                row.index, row.mac, row.state = g.index, g.mac, "ACTIVE"
                if g.ip:
                    row.ipv4 = g.ip
                row.save(update_fields=["index", "mac", "ipv4", "state", "updated"])
            _outdate_reports(vm, read_at)
        findings.append(Finding(
            "nics", backend, vm.backend_vm_id, vm, "NIC(s) %s differ from Ganeti" % ", ".join(
                str(row.index) if row.index is not None else "row %d without an index" % row.id
                for _, row in wrong), fix_rows))

    gone = [g for g in unmatched if _row_id_from_nic_name(g.name) is not None and g.uuid]
    if gone:
        # Removing a NIC moves the later ones down one index: one removal per run, the
        # rows moved as Ganeti will move them, the rest of this server next time.
        g = gone[0]

        def remove(g=g):
            cluster.remove_nic_by_uuid(backend, vm.backend_vm_id, g.uuid)
            for row in NetworkInterface.objects.filter(machine=vm, index__gt=g.index):
                row.index -= 1
                row.save(update_fields=["index", "updated"])
        return [Finding("nics", backend, vm.backend_vm_id, vm,
                        "NIC %d (%s) in Ganeti, not in the DB: its port (row %d) was removed; "
                        "removing it from the instance"
                        % (g.index, g.mac, _row_id_from_nic_name(g.name)), remove)]

    for g in unmatched:
        what = "NIC %d (%s) in Ganeti, not in the DB" % (g.index, g.mac)
        network = _network_of(g)
        if network is None:
            findings.append(Finding(
                "nics", backend, vm.backend_vm_id, vm,
                what + " on no network of ours (%s): not fixed, remove it in Ganeti or "
                "attach it by hand" % (g.network or g.link or "no link"), None))
            continue

        def add_row(g=g, network=network):
            NetworkInterface.objects.create(machine=vm, network=network, index=g.index,
                                            mac=g.mac or "", ipv4=g.ip or "",
                                            state="ACTIVE")
            _outdate_reports(vm, read_at)
        findings.append(Finding("nics", backend, vm.backend_vm_id, vm,
                                what + ": a port on network %d is recorded" % network.id,
                                add_row))

    for row in rows:
        if row.id in used or any(r is row for _, r in pairs):
            continue
        if now - row.created < _grace():
            continue  # an attach may be on its way to Ganeti
        findings.append(Finding(
            "nics", backend, vm.backend_vm_id, vm,
            "NIC row %d (index %s, network %d) not in Ganeti: the row is deleted"
            % (row.id, row.index, row.network_id),
            lambda row=row: NetworkInterface.objects.filter(pk=row.pk).delete()))
    return findings


def _outdate_reports(vm, read_at):
    """Hook reports from before Ganeti was read must not undo a fix made from it."""
    VirtualMachine.objects.filter(pk=vm.pk).filter(
        models.Q(nictime__isnull=True) | models.Q(nictime__lt=read_at)).update(nictime=read_at)


def reconcile(backends=None):
    """(findings, warnings) over ``backends`` (default: all)."""
    warnings, findings = [], []
    for backend in (backends if backends is not None else Backend.objects.all()):
        findings += reconcile_backend(backend, warnings)
    return findings, warnings
