"""Apply Ganeti's network job notifications (``ganeti-network-status``) to the DB.

The message (eventd, for jobs whose ops are OP_NETWORK_*)::

    {"type": "ganeti-network-status", "operation": "OP_NETWORK_CONNECT",
     "network": "<prefix>net-<id>", "jobId": 12, "status": "success",
     "logmsg": "...", "event_time": [s, us], "cluster": "<ganeti cluster name>",
     "group_name": ..., "subnet": ..., "gateway": ...}

Like the server handlers, this is idempotent and order-safe: the Network row and the
BackendNetwork row are locked (in that order), job fields only move to a newer job
(or a later status of the same job), and the state moves only on a finished op newer
than the last one applied (``backendtime``). Unknown opcodes update the job fields.

Transient failures are retried here: a connect or disconnect that Ganeti refused only
because instances of the node group were created or removed meanwhile ("... changed
since locks were acquired; retry the operation") is resubmitted (the disconnects and the
removal again, or the connects still missing), at most NETWORK_JOB_RETRIES times, and the
network stays PENDING. The new submission's first job id goes to ``batchjobid``; a
failure of an earlier job (a duplicate, or the removal that depended on the failed
disconnect) is superseded and changes no state.

``MessageError`` (from synnefo.logic.callbacks) means "malformed or not ours: ack and
log"; anything else raised is unexpected (dead-letter).
"""

import datetime
import logging
import re

from django.conf import settings
from django.db import transaction

from synnefo.backend import networks as gnet
from synnefo.backend.rapi import RapiError
from synnefo.common.protocol import (
    FAILED_JOB_STATUSES,
    FINAL_JOB_STATUSES,
    JOB_STATUS_RANK,
    MSG_NETWORK_STATUS,
)
from synnefo.db.models import BackendNetwork, Network
from synnefo.logic.callbacks import MessageError, dispatch, is_newer_job_news

log = logging.getLogger(__name__)

# Finished op -> the BackendNetwork operstate it leaves (None: unchanged).
ON_SUCCESS = {"OP_NETWORK_ADD": None, "OP_NETWORK_CONNECT": "ACTIVE",
              "OP_NETWORK_DISCONNECT": None, "OP_NETWORK_REMOVE": "DELETED",
              "OP_NETWORK_SET_PARAMS": None}
# A failed or canceled add/connect/remove leaves the network broken on that backend.
ON_FAILURE = {"OP_NETWORK_ADD": "ERROR", "OP_NETWORK_CONNECT": "ERROR",
              "OP_NETWORK_REMOVE": "ERROR"}




def network_id_from_name(name, prefix=None):
    """The Network id in a Ganeti network name (``<prefix>net-<id>``), or None."""
    prefix = settings.BACKEND_PREFIX_ID if prefix is None else prefix
    if not isinstance(name, str):
        return None
    match = re.fullmatch(re.escape(prefix) + r"net-([1-9][0-9]{0,17})", name)
    return int(match.group(1)) if match else None


def _event_time(body):
    ts = body.get("event_time")
    if (not isinstance(ts, (list, tuple)) or len(ts) != 2
            or not all(isinstance(x, int) and not isinstance(x, bool) for x in ts)):
        raise MessageError("bad or missing event_time %r" % (ts,))
    return datetime.datetime.fromtimestamp(ts[0] + ts[1] / 1e6, tz=datetime.timezone.utc)


def _backend_network(network, body, job_id):
    """The locked BackendNetwork the message is about: the one of the reporting cluster
    (by Backend.clustername), else the one that submitted this job, else the only one."""
    rows = list(BackendNetwork.objects.select_for_update().filter(network=network)
                .select_related("backend").order_by("pk"))
    cluster = body.get("cluster")
    for rule in (lambda bn: cluster and bn.backend.clustername == cluster,
                 lambda bn: bn.backendjobid == job_id):
        matches = [bn for bn in rows if rule(bn)]
        if len(matches) == 1:
            return matches[0]
    if len(rows) == 1:
        return rows[0]
    raise MessageError("network %s has %d backends and none matches cluster %r / job %s"
                       % (network.backend_id, len(rows), cluster, job_id))


RETRYABLE = ("OP_NETWORK_CONNECT", "OP_NETWORK_DISCONNECT", "OP_NETWORK_REMOVE")


def _resubmit(network, bn, opcode, logmsg):
    """Submit again what a transient failure of ``opcode`` undid; the new job ids, or
    None when it is not to be retried (not transient, too many retries, RAPI error)."""
    if opcode not in RETRYABLE or not gnet.is_transient_failure(logmsg):
        return None
    limit = settings.NETWORK_JOB_RETRIES
    if bn.retries >= limit:
        log.error("network %s on %s: %s failed transiently again after %d retries; "
                  "giving up: %s", network.backend_id, bn.backend.clustername, opcode,
                  bn.retries, logmsg)
        return None
    try:
        if opcode == "OP_NETWORK_CONNECT" and not network.deleted:
            jobs = gnet.connect_missing_groups(network, bn.backend)
        elif opcode != "OP_NETWORK_CONNECT" and network.deleted:
            jobs = gnet.delete_network(network, bn.backend)
        else:
            return None  # the user changed their mind meanwhile: nothing to redo
    except RapiError as exc:
        log.error("network %s on %s: could not resubmit %s: %s", network.backend_id,
                  bn.backend.clustername, opcode, exc)
        return None
    log.warning("network %s on %s: %s failed transiently (%s); resubmitted as jobs %s "
                "(retry %d of %d)", network.backend_id, bn.backend.clustername, opcode,
                logmsg[:200], jobs, bn.retries + 1, limit)
    return jobs


def network_state(network, backend_networks):
    """The Network.state its BackendNetwork rows add up to."""
    states = {bn.operstate for bn in backend_networks}
    if network.deleted:
        return "DELETED" if states <= {"DELETED"} else network.state
    if not network.subnet:
        return "ACTIVE" if not states - {"DELETED"} else network.state
    live = states - {"DELETED"}
    if "ERROR" in live:
        return "ERROR"
    if live == {"ACTIVE"}:
        return "ACTIVE"
    return "PENDING"


def update_network(body):
    """ganeti-network-status: a Ganeti network op changed status."""
    opcode, status, job_id = body.get("operation"), body.get("status"), body.get("jobId")
    if not isinstance(opcode, str) or status not in JOB_STATUS_RANK \
            or not isinstance(job_id, int) or isinstance(job_id, bool):
        raise MessageError("network-status without a valid operation/status/jobId")
    net_id = network_id_from_name(body.get("network"))
    if net_id is None:
        raise MessageError("network %r is not of this deployment" % (body.get("network"),))
    when = _event_time(body)
    logmsg = body.get("logmsg") or ""
    with transaction.atomic():
        try:
            network = Network.objects.select_for_update().get(pk=net_id)
        except Network.DoesNotExist:
            raise MessageError("no network with id %d" % net_id) from None
        bn = _backend_network(network, body, job_id)
        # A job of an earlier submission than the latest one: its news is history.
        superseded = bn.batchjobid is not None and job_id < bn.batchjobid
        changed = []
        if status in FAILED_JOB_STATUSES and not superseded:
            jobs = _resubmit(network, bn, opcode, logmsg)
            if jobs is not None:
                _record_resubmission(network, bn, jobs, opcode, logmsg)
                return bn
        if is_newer_job_news(bn, job_id, status):
            bn.backendjobid, bn.backendopcode = job_id, opcode
            bn.backendjobstatus, bn.backendlogmsg = status, logmsg
            changed += ["backendjobid", "backendopcode", "backendjobstatus", "backendlogmsg"]
        if (status in FINAL_JOB_STATUSES and not superseded
                and (bn.backendtime is None or when > bn.backendtime)):
            state = ON_SUCCESS.get(opcode) if status == "success" else ON_FAILURE.get(opcode)
            # DELETED is recorded only once Ganeti removed the network or answered that it
            # has none; a failed job arriving afterwards (a removal that depended on the
            # transiently failed disconnect) cannot bring it back.
            if status != "success" and bn.operstate == "DELETED":
                state = None
            if state is not None and state != bn.operstate:
                bn.operstate = state
                changed.append("operstate")
            bn.backendtime = when
            changed.append("backendtime")
        if changed:
            bn.save(update_fields=sorted(set(changed)) + ["updated"])
        rows = BackendNetwork.objects.filter(network=network)
        state = network_state(network, rows)
        if state != network.state:
            network.state = state
            network.save(update_fields=["state", "updated"])
    return bn


def _record_resubmission(network, bn, jobs, opcode, logmsg):
    if jobs:
        bn.operstate, bn.batchjobid, bn.backendjobid = "PENDING", jobs[0], jobs[-1]
        bn.backendopcode = ("OP_NETWORK_CONNECT" if opcode == "OP_NETWORK_CONNECT"
                            else "OP_NETWORK_REMOVE")
        bn.backendjobstatus = "queued"
        bn.backendlogmsg = "resubmitted after a transient failure: %s" % logmsg[:400]
    else:  # nothing left to do in Ganeti: connected everywhere / already removed
        bn.operstate = "ACTIVE" if opcode == "OP_NETWORK_CONNECT" else "DELETED"
    bn.retries += 1
    bn.save(update_fields=["operstate", "batchjobid", "backendjobid", "backendopcode",
                           "backendjobstatus", "backendlogmsg", "retries", "updated"])
    state = network_state(network, BackendNetwork.objects.filter(network=network))
    if state != network.state:
        network.state = state
        network.save(update_fields=["state", "updated"])


HANDLERS = {MSG_NETWORK_STATUS: update_network}


def handle(body):
    """Apply one decoded network message; MessageError when it cannot be applied."""
    return dispatch(HANDLERS, body)


def apply_job(backend_network, job):
    """Apply a finished ``synnefo.backend.jobs.Job`` as if eventd had reported it: the
    admin tools wait for their jobs and record them this way."""
    return update_network({
        "type": MSG_NETWORK_STATUS, "operation": job.opcode, "jobId": job.id,
        "status": job.status, "network": backend_network.network.backend_id,
        "cluster": backend_network.backend.clustername, "logmsg": job.logmsg,
        "event_time": list(job.event_time)})
