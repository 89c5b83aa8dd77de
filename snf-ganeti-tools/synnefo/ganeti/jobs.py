"""Ganeti job files -> ganeti-op-status and ganeti-network-status messages (no I/O
besides reading the file).

A job file (``<queue>/job-N``) is JSON with ``id``, ``ops`` and job timestamps; it has
no job status of its own. Every op has ``input`` (with ``OP_ID``), ``status``,
``result``, ``log`` and ``[seconds, microseconds]`` timestamps.
"""

import json
import re
import time

from synnefo.common.protocol import MSG_NETWORK_STATUS, MSG_OP_STATUS

JOB_FILE_RE = re.compile(r"^job-(\d+)$")

# Which op timestamp dates an op in a given status (Ganeti's own time order).
_TIME_FIELD = {"queued": "received_timestamp", "waiting": "start_timestamp",
               "canceling": "start_timestamp", "running": "exec_timestamp",
               "success": "end_timestamp", "error": "end_timestamp",
               "canceled": "end_timestamp"}
_FALLBACKS = ("end_timestamp", "exec_timestamp", "start_timestamp", "received_timestamp")


def read_job(path):
    """The job in ``path``, or None when it vanished or is not (yet) valid JSON."""
    try:
        with open(path, encoding="utf-8") as f:
            job = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(job, dict) or not isinstance(job.get("ops"), list):
        return None
    return job


def _valid_ts(ts):
    return (isinstance(ts, (list, tuple)) and len(ts) == 2
            and all(isinstance(x, int) for x in ts) and ts[0] > 0)


def op_event_time(op, job, status):
    """[s, us] for ``op`` in ``status``; falls back when Ganeti left a stamp out.

    Ops in error may lack their end timestamp (a bug the original hit): use the
    job's, then the op's latest other stamp, then the wall clock.
    """
    field = _TIME_FIELD.get(status)
    candidates = []
    if field:
        candidates += [op.get(field)]
        if field == "end_timestamp":
            candidates += [job.get("end_timestamp")]
        if field == "received_timestamp":
            candidates += [job.get("received_timestamp")]
    candidates += [op.get(f) for f in _FALLBACKS] + [job.get(f) for f in _FALLBACKS]
    for ts in candidates:
        if _valid_ts(ts):
            return [ts[0], ts[1]]
    now = time.time()
    return [int(now), int((now % 1) * 1e6)]


def op_instance(op_input):
    """The single instance an op concerns, else None (no instance or several)."""
    name = op_input.get("instance_name")
    if isinstance(name, str) and name:
        return name
    names = op_input.get("instances")
    if isinstance(names, list) and len(names) == 1 and isinstance(names[0], str):
        return names[0]
    if op_input.get("OP_ID", "").startswith("OP_TAGS_") and op_input.get("kind") == "instance":
        name = op_input.get("name")
        return name if isinstance(name, str) and name else None
    return None


def _error_text(result):
    """Ganeti's reason from an op result such as ["OpPrereqError", [msg, code]]."""
    if isinstance(result, list) and len(result) == 2 and isinstance(result[0], str):
        args = result[1]
        if isinstance(args, list) and args:
            return "%s: %s" % (result[0], args[0])
        return result[0]
    if isinstance(result, str):
        return result
    return None


def op_logmsg(op, status):
    if status == "error":
        reason = _error_text(op.get("result"))
        if reason:
            return reason
    log = op.get("log") or []
    if log and isinstance(log[-1], list) and len(log[-1]) >= 4:
        message = log[-1][3]
        return message if isinstance(message, str) else json.dumps(message)
    return None


def op_messages(job, prefix, cluster):
    """One ganeti-op-status message per op of ``job`` that concerns one of our instances."""
    messages = []
    for op in job.get("ops") or []:
        if not isinstance(op, dict):
            continue
        op_input = op.get("input") or {}
        instance = op_instance(op_input)
        if instance is None or not instance.startswith(prefix):
            continue
        status = op.get("status")
        msg = {"type": MSG_OP_STATUS, "instance": instance,
               "operation": op_input.get("OP_ID"), "jobId": job.get("id"),
               "status": status, "logmsg": op_logmsg(op, status),
               "event_time": op_event_time(op, job, status), "cluster": cluster}
        if op_input.get("OP_ID") == "OP_INSTANCE_SET_PARAMS" and op_input.get("beparams"):
            msg["beparams"] = op_input["beparams"]
        if op_input.get("OP_ID", "").startswith("OP_TAGS_") and \
                isinstance(op_input.get("tags"), list):
            msg["tags"] = [t for t in op_input["tags"] if isinstance(t, str)]
        messages.append(msg)
    return messages


def _our_network(name, prefix):
    """True for Ganeti network names of this deployment: ``<prefix>net-<id>``."""
    return (isinstance(name, str) and name.startswith(prefix + "net-")
            and name[len(prefix) + 4:].isdigit())


def network_messages(job, prefix, cluster):
    """One ganeti-network-status message per OP_NETWORK_* op of ``job`` on one of our
    networks (``<prefix>net-<id>``)."""
    messages = []
    for op in job.get("ops") or []:
        if not isinstance(op, dict):
            continue
        op_input = op.get("input") or {}
        opcode = op_input.get("OP_ID")
        network = op_input.get("network_name")
        if not (isinstance(opcode, str) and opcode.startswith("OP_NETWORK_")
                and _our_network(network, prefix)):
            continue
        status = op.get("status")
        messages.append({"type": MSG_NETWORK_STATUS, "operation": opcode,
                         "network": network, "jobId": job.get("id"), "status": status,
                         "logmsg": op_logmsg(op, status),
                         "event_time": op_event_time(op, job, status), "cluster": cluster})
    return messages
