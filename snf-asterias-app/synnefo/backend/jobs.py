"""Ganeti jobs as logic needs them: a job's outcome, read once or waited for.

RAPI answers ``GET /2/jobs/<id>`` with Ganeti's whole job (ops, opresult, timestamps);
``Job`` keeps what logic decides on, so nothing above this layer reads RAPI's dicts.
Waiting is for the admin tools only: the service learns outcomes from eventd's messages.
"""

from typing import Any, NamedTuple, Optional

from synnefo.backend.client import client_for
from synnefo.backend.rapi import RapiError


class Job(NamedTuple):
    id: int
    status: str            # queued, waiting, running, success, error, canceled
    opcode: str            # of its first op ("" when Ganeti did not say)
    network_name: str      # the first op's network_name ("" when it has none)
    event_time: tuple      # (seconds, microseconds) of its end, else start, else receipt
    logmsg: str            # Ganeti's results of a job that did not succeed ("" otherwise)
    reason: str            # the failure reason a user can read ("" when none was given)


def job_from_rapi(job: dict) -> Job:
    """The ``Job`` of a RAPI job dict."""
    ops = job.get("ops") or [{}]
    first = ops[0] if isinstance(ops[0], dict) else {}
    ts = job.get("end_ts") or job.get("start_ts") or job.get("received_ts") or [0, 0]
    results = job.get("opresult") or []
    reason = ""
    for result in results:
        if isinstance(result, list) and len(result) == 2:
            reason = "%s: %s" % (result[0], (result[1] or [""])[0])
    return Job(id=int(job["id"]), status=job["status"], opcode=first.get("OP_ID", ""),
               network_name=first.get("network_name") or "",
               event_time=(int(ts[0]), int(ts[1])),
               logmsg=("; ".join(str(r) for r in results if r)[:500]
                       if job["status"] != "success" else ""),
               reason=reason)


def job_status(backend: Any, job_id: int) -> Optional[Job]:
    """The ``Job`` ``job_id`` of ``backend``; None when Ganeti does not know it (404, or
    Ganeti 3.0's 200 with nulls). Other failures raise RapiError."""
    try:
        job = client_for(backend).get_job_status(job_id)
    except RapiError as exc:
        if exc.code == 404:
            return None
        raise
    if not isinstance(job, dict) or job.get("status") is None:
        return None
    return job_from_rapi(job)


def wait_for_job(backend: Any, job_id: int, timeout: float = 120) -> Job:
    """The ``Job`` once it has finished (RapiError after ``timeout`` seconds)."""
    return job_from_rapi(client_for(backend).wait_for_job(job_id, timeout=timeout))
