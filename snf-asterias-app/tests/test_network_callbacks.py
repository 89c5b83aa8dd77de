"""ganeti-network-status handling: idempotent, order-safe, foreign messages refused."""

import pytest

from synnefo.backend.jobs import job_from_rapi
from synnefo.db.models import Backend, BackendNetwork, Network
from synnefo.logic import network_callbacks as nc

pytestmark = pytest.mark.django_db


@pytest.fixture
def bn(db):
    backend = Backend.objects.create(clustername="10.251.0.10")
    net = Network.objects.create(name="lan", subnet="192.168.1.0/24", state="PENDING")
    return BackendNetwork.objects.create(network=net, backend=backend, backendjobid=11)


def msg(bn, op, job, status="success", t=100, **kw):
    body = {"type": "ganeti-network-status", "operation": op, "jobId": job, "status": status,
            "network": bn.network.backend_id, "event_time": [t, 0],
            "cluster": "cluster.ganeti.test", "logmsg": ""}
    body.update(kw)
    return body


def state(bn):
    row = BackendNetwork.objects.get(pk=bn.pk)
    return row.operstate, Network.objects.get(pk=bn.network_id).state


def test_add_then_connect_makes_it_active_and_duplicates_change_nothing(bn):
    nc.handle(msg(bn, "OP_NETWORK_ADD", 10, "running", t=99))
    nc.handle(msg(bn, "OP_NETWORK_ADD", 10, t=100))
    assert state(bn) == ("PENDING", "PENDING")
    for _ in range(2):
        nc.handle(msg(bn, "OP_NETWORK_CONNECT", 11, t=101))
        assert state(bn) == ("ACTIVE", "ACTIVE")
    row = BackendNetwork.objects.get(pk=bn.pk)
    assert (row.backendjobid, row.backendopcode, row.backendjobstatus) == \
        (11, "OP_NETWORK_CONNECT", "success")
    # an earlier status of the same job, arriving late, does not rewind the job fields
    nc.handle(msg(bn, "OP_NETWORK_CONNECT", 11, "running", t=100))
    assert BackendNetwork.objects.get(pk=bn.pk).backendjobstatus == "success"


def test_out_of_order_connect_after_remove_is_stale(bn):
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", 13, t=200))
    assert state(bn)[0] == "DELETED"
    nc.handle(msg(bn, "OP_NETWORK_CONNECT", 11, t=101))  # older news
    assert state(bn)[0] == "DELETED"
    assert BackendNetwork.objects.get(pk=bn.pk).backendjobid == 13


def test_failures_mark_errors(bn):
    nc.handle(msg(bn, "OP_NETWORK_ADD", 10, "error", t=100, logmsg="gateway outside"))
    nc.handle(msg(bn, "OP_NETWORK_CONNECT", 11, "canceled", t=101))
    assert state(bn) == ("ERROR", "ERROR")
    # a modify job only updates the job fields
    nc.handle(msg(bn, "OP_NETWORK_SET_PARAMS", 12, t=102))
    assert state(bn) == ("ERROR", "ERROR")


def test_deleted_network_becomes_deleted_when_every_backend_removed_it(bn):
    Network.objects.filter(pk=bn.network_id).update(deleted=True, state="ACTIVE")
    nc.handle(msg(bn, "OP_NETWORK_DISCONNECT", 12, t=150))
    assert state(bn) == ("PENDING", "ACTIVE")
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", 13, t=151))
    assert state(bn) == ("DELETED", "DELETED")


@pytest.mark.parametrize("change", [
    {"network": "other-net-1"}, {"network": "snftest-net-x"}, {"jobId": "1"},
    {"status": "weird"}, {"event_time": None}, {"operation": None}, {"type": "nope"},
    {"network": "snftest-net-999999"}])
def test_malformed_or_foreign_messages_are_refused(bn, change):
    body = msg(bn, "OP_NETWORK_ADD", 10)
    body.update(change)
    with pytest.raises(nc.MessageError):
        nc.handle(body)


def test_name_parsing(settings):
    assert nc.network_id_from_name("snftest-net-7") == 7
    assert nc.network_id_from_name("snftest-net-07") is None
    assert nc.network_id_from_name("snftest-7") is None
    assert nc.network_id_from_name(None) is None


def test_apply_job_from_rapi(bn):
    job = {"id": 11, "status": "success", "ops": [{"OP_ID": "OP_NETWORK_CONNECT"}],
           "end_ts": [105, 7], "opresult": [None]}
    nc.apply_job(BackendNetwork.objects.select_related("network", "backend").get(pk=bn.pk),
                 job_from_rapi(job))
    assert state(bn) == ("ACTIVE", "ACTIVE")


# -- transient Ganeti failures are resubmitted ----------------------------------------

LOCKS = ("OpPrereqError: Instances in node group 'default' changed since locks were "
         "acquired, wanted 'a, b', have 'a'; retry the operation")


@pytest.fixture
def ganeti(monkeypatch):
    """synnefo.backend.networks' submitting functions, recorded (unit tests only)."""
    from synnefo.backend import networks as gnet
    calls, next_id = [], [100]

    def jobs(kind, n):
        def submit(network, backend):
            ids = list(range(next_id[0], next_id[0] + n))
            next_id[0] += n
            calls.append((kind, network.id, ids))
            return ids
        return submit
    monkeypatch.setattr(gnet, "delete_network", jobs("delete", 2))
    monkeypatch.setattr(gnet, "connect_missing_groups", jobs("connect", 1))
    return calls


def removing(bn):
    Network.objects.filter(pk=bn.network_id).update(deleted=True)
    BackendNetwork.objects.filter(pk=bn.pk).update(
        operstate="PENDING", batchjobid=20, backendjobid=21, backendopcode="OP_NETWORK_REMOVE")


def test_transient_disconnect_failure_resubmits_the_removal(bn, ganeti, caplog):
    removing(bn)
    nc.handle(msg(bn, "OP_NETWORK_DISCONNECT", 20, "error", t=100, logmsg=LOCKS))
    assert ganeti == [("delete", bn.network_id, [100, 101])]
    row = BackendNetwork.objects.get(pk=bn.pk)
    assert (row.operstate, row.batchjobid, row.backendjobid, row.retries) == \
        ("PENDING", 100, 101, 1)
    assert "failed transiently" in caplog.text and "retry 1 of" in caplog.text
    # the removal that depended on it fails later: superseded, no ERROR
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", 21, "error", t=101,
                  logmsg="Dependency job 20 finished with status 'error'"))
    # duplicates of the transient failure resubmit nothing more
    nc.handle(msg(bn, "OP_NETWORK_DISCONNECT", 20, "error", t=100, logmsg=LOCKS))
    assert len(ganeti) == 1 and state(bn) == ("PENDING", "PENDING")
    nc.handle(msg(bn, "OP_NETWORK_DISCONNECT", 100, t=102))
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", 101, t=103))
    assert state(bn) == ("DELETED", "DELETED")


def test_dependent_failure_first_then_the_transient_one_still_ends_deleted(bn, ganeti):
    removing(bn)
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", 21, "error", t=101,
                  logmsg="Dependency job 20 finished with status 'error'"))
    assert state(bn)[0] == "ERROR"  # for now: the reason arrives next
    nc.handle(msg(bn, "OP_NETWORK_DISCONNECT", 20, "error", t=100, logmsg=LOCKS))
    assert state(bn) == ("PENDING", "PENDING") and len(ganeti) == 1
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", 101, t=103))
    assert state(bn) == ("DELETED", "DELETED")


def test_removal_failing_after_the_retry_found_the_network_gone_stays_deleted(
        bn, ganeti, monkeypatch):
    """Two removals raced: the other one removed the network, ours failed transiently."""
    from synnefo.backend import networks as gnet
    monkeypatch.setattr(gnet, "delete_network", lambda network, backend: [])
    removing(bn)
    nc.handle(msg(bn, "OP_NETWORK_DISCONNECT", 20, "error", t=100, logmsg=LOCKS))
    assert state(bn) == ("DELETED", "DELETED")
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", 21, "error", t=101,
                  logmsg="Dependency job 20 finished with status 'error'"))
    assert state(bn) == ("DELETED", "DELETED")


def test_transient_connect_failure_reconnects(bn, ganeti):
    BackendNetwork.objects.filter(pk=bn.pk).update(batchjobid=10, backendjobid=11)
    nc.handle(msg(bn, "OP_NETWORK_ADD", 10, t=100))
    nc.handle(msg(bn, "OP_NETWORK_CONNECT", 11, "error", t=101, logmsg=LOCKS))
    assert ganeti == [("connect", bn.network_id, [100])]
    assert state(bn) == ("PENDING", "PENDING")
    nc.handle(msg(bn, "OP_NETWORK_CONNECT", 100, t=102))
    assert state(bn) == ("ACTIVE", "ACTIVE")


def test_retries_are_bounded_and_other_failures_are_not_retried(bn, ganeti, settings):
    settings.NETWORK_JOB_RETRIES = 2
    removing(bn)
    job = 20
    for _ in range(3):
        nc.handle(msg(bn, "OP_NETWORK_DISCONNECT", job, "error", t=100 + job, logmsg=LOCKS))
        job = BackendNetwork.objects.get(pk=bn.pk).batchjobid
    assert len(ganeti) == 2
    nc.handle(msg(bn, "OP_NETWORK_REMOVE", job + 1, "error", t=500, logmsg="x"))
    assert state(bn)[0] == "ERROR"
    # a failure that is not transient is never retried
    other = BackendNetwork.objects.create(
        network=Network.objects.create(name="b", subnet="192.168.2.0/24", deleted=True),
        backend=bn.backend, batchjobid=30, backendjobid=31)
    nc.handle(msg(other, "OP_NETWORK_DISCONNECT", 30, "error", t=100,
                  logmsg="OpPrereqError: network is in use"))
    assert len(ganeti) == 2
