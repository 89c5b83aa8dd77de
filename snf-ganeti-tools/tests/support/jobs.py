"""Ganeti job files as the job queue holds them (test_jobs.py, test_eventd.py)."""

import json
import os


def op(op_id, status, name="snf-1", **kw):
    """One op of a job on instance ``name``, with the timestamps of ``status``."""
    d = {"input": {"OP_ID": op_id, "instance_name": name}, "status": status, "result": None,
         "log": [], "received_timestamp": [100, 1], "start_timestamp": [101, 2],
         "exec_timestamp": [102, 3], "end_timestamp": [103, 4] if status in (
             "success", "error", "canceled") else None}
    d.update(kw)
    return d


def job(*ops, **kw):
    d = {"id": 7, "ops": list(ops), "received_timestamp": [99, 0],
         "start_timestamp": [100, 0], "end_timestamp": [110, 0]}
    d.update(kw)
    return d


def write_job(queue_dir, job):
    """Write ``job`` as ``job-<id>`` the way Ganeti does: a temporary file renamed."""
    path = os.path.join(queue_dir, "job-%d" % job["id"])
    with open(path + ".tmp", "w") as f:
        json.dump(job, f)
    os.rename(path + ".tmp", path)
    return path
