"""synnefo.logic.server_state.server_command and its steps, the one path of every action
on an existing server: a job Ganeti refuses leaves the server as it was (the action it
replaced comes back), answers 503 naming what was refused, and an accepted job's id is
stored."""

import pytest
from support.api import create_server, rapi_error

from synnefo.db.models import VirtualMachine

pytestmark = pytest.mark.django_db

ACTIONS = [
    ("stop", lambda w, sid: w.a.post(_act(sid), {"os-stop": None}), "stop of server"),
    ("reboot", lambda w, sid: w.a.post(_act(sid), {"reboot": {"type": "HARD"}}),
     "reboot of server"),
    ("resize", lambda w, sid: w.a.post(_act(sid), {"resize": {"flavorRef": str(w.big.id)}}),
     "resize of server"),
    ("delete", lambda w, sid: w.a.delete("/compute/v2.1/servers/%d" % sid),
     "deletion of server"),
]


def _act(sid):
    return "/compute/v2.1/servers/%d/action" % sid


def _row(sid):
    return VirtualMachine.objects.values_list("action", "task_job_id", "operstate").get(pk=sid)


@pytest.fixture
def server(world, fake_backend):
    """An ACTIVE server whose last action (a start after a stop) has finished."""
    sid = int(create_server(world.a, world).json()["server"]["id"])
    fake_backend.finish_all()
    for body in ({"os-stop": None}, {"os-start": None}):
        assert world.a.post(_act(sid), body).status_code == 202
        fake_backend.finish_all()
    assert _row(sid)[2] == "STARTED"
    return sid


@pytest.mark.parametrize("kind, call, what", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_a_refused_job_leaves_the_server_as_it_was(world, fake_backend, server, kind, call,
                                                   what):
    before = _row(server)
    fake_backend.fail = rapi_error("Ganeti is down")
    r = call(world, server)
    assert r.status_code == 503, r.content
    message = r.json()["serviceUnavailable"]["message"]
    assert ("The compute cluster did not accept the %s %d (Ganeti is down)"
            % (what, server)) in message
    assert _row(server) == before
    assert world.a.get("/compute/v2.1/servers/%d" % server).json()["server"]["status"] \
        == "ACTIVE"


@pytest.mark.parametrize("kind, call, what", ACTIONS, ids=[a[0] for a in ACTIONS])
def test_an_accepted_job_is_recorded_with_its_id(world, fake_backend, server, kind, call,
                                                 what):
    r = call(world, server)
    assert r.status_code in (202, 204), r.content
    action, job, _ = _row(server)
    assert action == {"stop": "STOP", "reboot": "REBOOT", "resize": "RESIZE",
                      "delete": "DESTROY"}[kind]
    assert job == fake_backend.last_job()
    assert fake_backend.calls[-1][:2] == (kind, server)
