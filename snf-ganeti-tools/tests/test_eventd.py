"""snf-ganeti-eventd (synnefo.ganeti.eventd): job files in the queue -> messages in the
spool, in order, with the broker refusing (conftest's ``config``), so every message
eventd produced is still there to read."""

import os
import socket
import threading
import time

import pytest
from support.jobs import job, op, write_job

from synnefo.ganeti.common import master_problem
from synnefo.ganeti.eventd import EventDaemon

OP_KEY, NETWORK_KEY = "ganeti.snf.event.op", "ganeti.snf.event.network"


def test_every_op_of_our_instances_is_spooled_in_order(config, spooled):
    eventd = EventDaemon(config, cluster="c1")
    eventd.job_changed(write_job(config.queue_dir, job(
        op("OP_INSTANCE_SHUTDOWN", "success"), op("OP_INSTANCE_STARTUP", "running"),
        op("OP_INSTANCE_STARTUP", "success", name="other-1"), id=12)))
    messages = spooled()
    assert [(key, b["operation"], b["status"], b["jobId"], b["cluster"])
            for key, b in messages] == [
        (OP_KEY, "OP_INSTANCE_SHUTDOWN", "success", 12, "c1"),
        (OP_KEY, "OP_INSTANCE_STARTUP", "running", 12, "c1")]
    assert eventd.published == 2


def test_network_ops_go_with_the_network_key(config, spooled):
    network_op = {"input": {"OP_ID": "OP_NETWORK_ADD", "network_name": "snf-net-4"},
                  "status": "success", "result": None, "log": [], "end_timestamp": [5, 6]}
    EventDaemon(config, cluster="c1").job_changed(
        write_job(config.queue_dir, job(network_op, id=3)))
    (key, body), = spooled()
    assert key == NETWORK_KEY
    assert body["type"] == "ganeti-network-status" and body["network"] == "snf-net-4"
    assert body["event_time"] == [5, 6]


def test_vanished_and_partial_job_files_publish_nothing(config, spooled):
    eventd = EventDaemon(config, cluster="c1")
    eventd.job_changed(os.path.join(config.queue_dir, "job-404"))
    partial = os.path.join(config.queue_dir, "job-5")
    with open(partial, "w") as f:
        f.write('{"id": 5, "ops": [')
    eventd.job_changed(partial)
    assert spooled() == [] and eventd.published == 0


def test_catching_up_reads_the_queue_in_job_order_and_only_job_files(config, spooled):
    for job_id in (10, 9, 2):  # "job-10" sorts before "job-2" as a name
        write_job(config.queue_dir, job(op("OP_INSTANCE_REBOOT", "success"), id=job_id))
    for name in ("job-3.tmp", "archive", "lock"):
        with open(os.path.join(config.queue_dir, name), "w") as f:
            f.write("{}")
    assert EventDaemon(config, cluster="c1").scan_queue() == 3  # job files read
    assert [body["jobId"] for _, body in spooled()] == [2, 9, 10]


def test_an_unreadable_queue_is_logged_not_raised(config, spooled, caplog):
    os.rmdir(config.queue_dir)
    assert EventDaemon(config, cluster="c1").scan_queue() == 0
    assert spooled() == []
    assert "cannot read the job queue %s" % config.queue_dir in caplog.text


def test_the_cluster_name_comes_from_ssconf(config, spooled):
    with open(os.path.join(config.ssconf_dir, "ssconf_cluster_name"), "w") as f:
        f.write("cluster.example.org\n")
    eventd = EventDaemon(config)
    eventd.job_changed(write_job(config.queue_dir, job(op("OP_INSTANCE_REBOOT", "success"))))
    assert [body["cluster"] for _, body in spooled()] == ["cluster.example.org"]


def wait_until(predicate, what, seconds=60):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "still waiting for " + what
        time.sleep(0.05)


@pytest.fixture
def running(config):
    """EventDaemon(config).run() in a thread (no master check); stopped at the end."""
    eventd = EventDaemon(config, cluster="c1")
    result = []
    thread = threading.Thread(target=lambda: result.append(eventd.run(check_master=False)))
    thread.start()
    yield eventd
    eventd.stop()
    thread.join(60)
    assert not thread.is_alive() and result == [0]


def test_the_watch_publishes_the_queue_at_start_and_every_renamed_job(config, spooled,
                                                                     running):
    # (job-1 was there before the start in real life; here it may race the watch, and
    # either way it must be published exactly as the others.)
    write_job(config.queue_dir, job(op("OP_INSTANCE_CREATE", "running"), id=1))
    wait_until(lambda: len(spooled()) >= 1, "the first job")
    write_job(config.queue_dir, job(op("OP_INSTANCE_CREATE", "success"), id=1))
    write_job(config.queue_dir, job(op("OP_INSTANCE_SHUTDOWN", "success"), id=2))
    wait_until(lambda: [b["jobId"] for _, b in spooled()][-2:] == [1, 2], "jobs 1 and 2")
    statuses = [(b["jobId"], b["status"]) for _, b in spooled()]
    assert statuses[-2:] == [(1, "success"), (2, "success")]
    assert statuses[0] == (1, "running")


def test_eventd_stops_when_this_node_is_no_longer_the_master(config):
    with open(os.path.join(config.ssconf_dir, "ssconf_master_node"), "w") as f:
        f.write("elsewhere.example.org\n")
    assert EventDaemon(config, cluster="c1").run(check_master=True) == 1


def test_master_problem_names_this_node_and_the_master(config):
    path = os.path.join(config.ssconf_dir, "ssconf_master_node")
    assert "cannot read %s/ssconf_master_node" % config.ssconf_dir in master_problem(config)
    with open(path, "w") as f:
        f.write("elsewhere.example.org\n")
    problem = master_problem(config)
    assert "not the Ganeti master (elsewhere.example.org)" in problem
    assert socket.gethostname() in problem
    with open(path, "w") as f:
        f.write(socket.gethostname() + "\n")
    assert master_problem(config) is None
