"""synnefo.ganeti.jobs: job files -> op-status messages."""

import json

from support.jobs import job, op

from synnefo.ganeti.jobs import network_messages, op_event_time, op_messages, read_job


def test_one_message_per_op_not_just_the_first():
    msgs = op_messages(job(op("OP_INSTANCE_SHUTDOWN", "success"),
                           op("OP_INSTANCE_STARTUP", "running")), "snf-", "c1")
    assert [(m["operation"], m["status"]) for m in msgs] == [
        ("OP_INSTANCE_SHUTDOWN", "success"), ("OP_INSTANCE_STARTUP", "running")]
    assert msgs[0] == {"type": "ganeti-op-status", "instance": "snf-1",
                       "operation": "OP_INSTANCE_SHUTDOWN", "jobId": 7, "status": "success",
                       "logmsg": None, "event_time": [103, 4], "cluster": "c1"}
    assert msgs[1]["event_time"] == [102, 3]


def test_only_single_instance_ops_of_our_prefix():
    other = op("OP_INSTANCE_STARTUP", "success", name="other-1")
    multi = {"input": {"OP_ID": "OP_INSTANCE_MULTI_ALLOC", "instances": ["snf-1", "snf-2"]},
             "status": "success"}
    cluster = {"input": {"OP_ID": "OP_CLUSTER_VERIFY"}, "status": "success"}
    dashed = op("OP_INSTANCE_STARTUP", "success", name="snfx-1")
    assert op_messages(job(other, multi, cluster, dashed), "snf-", "c") == []


def test_event_time_follows_status_and_survives_missing_stamps():
    o = op("OP_INSTANCE_CREATE", "queued")
    assert op_event_time(o, job(), "queued") == [100, 1]
    assert op_event_time(o, job(), "waiting") == [101, 2]
    broken = op("OP_INSTANCE_CREATE", "error", end_timestamp=None)
    assert op_event_time(broken, job(), "error") == [110, 0]  # the job's end
    bare = {"input": {}, "status": "error"}
    assert op_event_time(bare, {"id": 1}, "error")[0] > 1_600_000_000  # wall clock


def test_error_reason_is_the_logmsg():
    failed = op("OP_INSTANCE_CREATE", "error",
                result=["OpPrereqError", ["Not enough memory", "insufficient_resources"]])
    (msg,) = op_messages(job(failed), "snf-", "c")
    assert msg["logmsg"] == "OpPrereqError: Not enough memory"
    logged = op("OP_INSTANCE_CREATE", "running", log=[[1, [100, 0], "message", "* step 2"]])
    assert op_messages(job(logged), "snf-", "c")[0]["logmsg"] == "* step 2"


def test_tags_ops_on_an_instance_count_and_resize_carries_beparams():
    tag = {"input": {"OP_ID": "OP_TAGS_SET", "kind": "instance", "name": "snf-3",
                     "tags": ["x"]}, "status": "success", "end_timestamp": [5, 0]}
    setp = op("OP_INSTANCE_SET_PARAMS", "success")
    setp["input"]["beparams"] = {"vcpus": 2, "maxmem": 256}
    msgs = op_messages(job(tag, setp), "snf-", "c")
    assert msgs[0]["instance"] == "snf-3"
    assert msgs[0]["tags"] == ["x"]  # firewall tags confirm the profile (callbacks)
    assert msgs[1]["beparams"] == {"vcpus": 2, "maxmem": 256}
    assert "tags" not in msgs[1]


def netop(op_id, status, name="snf-net-4", **kw):
    d = op(op_id, status, **kw)
    d["input"] = {"OP_ID": op_id, "network_name": name, "group_name": "default"}
    return d


def test_network_ops_of_our_networks_are_network_status_messages():
    msgs = network_messages(job(netop("OP_NETWORK_CONNECT", "success"),
                                netop("OP_NETWORK_ADD", "error", result=[
                                    "OpPrereqError", ["network exists", "wrong_input"]])),
                            "snf-", "c1")
    assert msgs[0] == {"type": "ganeti-network-status", "operation": "OP_NETWORK_CONNECT",
                       "network": "snf-net-4", "jobId": 7, "status": "success",
                       "logmsg": None, "event_time": [103, 4], "cluster": "c1"}
    assert msgs[1]["logmsg"] == "OpPrereqError: network exists"
    # they are not instance messages
    assert op_messages(job(netop("OP_NETWORK_CONNECT", "success")), "snf-", "c1") == []


def test_network_ops_of_other_networks_and_other_ops_are_ignored():
    for name in ("other-net-4", "snf-net-x", "snf-net-", "snfx-net-4", "snf-4", None):
        assert network_messages(job(netop("OP_NETWORK_ADD", "success", name=name)),
                                "snf-", "c") == []
    assert network_messages(job(op("OP_INSTANCE_STARTUP", "success")), "snf-", "c") == []
    # a longer prefix of another deployment that starts like ours
    assert network_messages(job(netop("OP_NETWORK_ADD", "queued", name="snf-x-net-4")),
                            "snf-", "c") == []


def test_read_job_tolerates_vanished_and_partial_files(tmp_path):
    assert read_job(str(tmp_path / "job-1")) is None
    (tmp_path / "job-2").write_text('{"id": 2, "ops"')
    assert read_job(str(tmp_path / "job-2")) is None
    (tmp_path / "job-3").write_text(json.dumps(job()))
    assert read_job(str(tmp_path / "job-3"))["id"] == 7
