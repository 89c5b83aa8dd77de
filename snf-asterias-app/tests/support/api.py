"""What the API/logic unit tests stand on (conftest.py makes fixtures of it): users
with tokens and a JSON client, flavors, images, a public network, and a fake Ganeti
backend (unit tests only; the integration tests use the real WSGI stack and cluster).

The fake records every backend call and, when told to, reports the job's end through
the dispatcher's own callbacks, so the API tests see the state machine production runs.
"""

import itertools
import json

from django.test import Client

from support import ganeti_jobs
from synnefo.backend import instances
from synnefo.backend.rapi import RapiError
from synnefo.db.models import Backend, Flavor, Image, Network
from synnefo.logic import backend_allocator, identity, users


class FakeBackend:
    """Records the backend calls logic makes and gives each a job id; ``finish`` reports
    a job's end to the dispatcher's callbacks, as eventd would (support.ganeti_jobs)."""

    def __init__(self):
        self.calls = []
        self.jobs = {}  # job id -> (kind, VM id, what eventd copies from the op)
        self.fail = None  # a RapiError to raise on the next call
        self._ids = itertools.count(100)
        self._clock = ganeti_jobs.Clock()
        self.backend = Backend.objects.create(clustername="fake.ganeti.test")

    def _job(self, kind, vm, *args):
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        job = next(self._ids)
        op_input = ganeti_jobs.job_input(kind, *args)
        if kind == "resize":
            args = (args[0].id,)
        self.calls.append((kind, vm.id) + args)
        self.jobs[job] = (kind, vm.id, op_input)
        return job

    def finish(self, job_id, status="success"):
        """Job ``job_id`` ended with ``status``, reported in the order of the calls."""
        kind, vm_id, op_input = self.jobs[job_id]
        ganeti_jobs.report_job(self._clock, vm_id, kind, job_id, status, **op_input)

    def finish_all(self):
        for job in sorted(self.jobs):
            self.finish(job)
        self.jobs.clear()

    def last_job(self):
        return max(self.jobs)

    def install(self, monkeypatch):
        """Put this fake in place of the Ganeti backend calls logic makes."""
        monkeypatch.setattr(backend_allocator, "allocate_backend", lambda flavor: self.backend)
        monkeypatch.setattr(instances, "create_instance",
                            lambda vm, password, personality=None, public_key=None, **_kw:
                            self._job("create", vm, password, personality, public_key))
        monkeypatch.setattr(instances, "startup_instance", lambda vm: self._job("start", vm))
        monkeypatch.setattr(instances, "shutdown_instance", lambda vm: self._job("stop", vm))
        monkeypatch.setattr(instances, "reboot_instance",
                            lambda vm, kind: self._job("reboot", vm, kind))
        monkeypatch.setattr(instances, "delete_instance",
                            lambda vm, after_job=None: self._job("delete", vm, after_job))
        monkeypatch.setattr(instances, "resize_instance",
                            lambda vm, flavor: self._job("resize", vm, flavor))
        monkeypatch.setattr(instances, "set_firewall_profile",
                            lambda vm, index, profile: self._job("firewall", vm, index, profile))
        return self


# Django test client extra: ask for Synnefo's SNF: fields (docs/api.md).
EXTENSIONS = {"HTTP_X_SYNNEFO_EXTENSIONS": "true"}


class ApiClient:
    """Django's test client with a token and JSON bodies."""

    def __init__(self, token=None):
        self.client = Client()
        self.token = token

    def _headers(self, extra):
        headers = {}
        if self.token:
            headers["HTTP_X_AUTH_TOKEN"] = self.token
        headers.update(extra)
        return headers

    def get(self, path, **extra):
        return self.client.get(path, **self._headers(extra))

    def head(self, path, **extra):
        return self.client.head(path, **self._headers(extra))

    def delete(self, path, **extra):
        return self.client.delete(path, **self._headers(extra))

    def post(self, path, data=None, raw=None, content_type="application/json", **extra):
        body = raw if raw is not None else json.dumps(data)
        return self.client.post(path, body, content_type=content_type, **self._headers(extra))

    def put(self, path, data=None, raw=None, **extra):
        body = raw if raw is not None else json.dumps(data)
        return self.client.put(path, body, content_type="application/json",
                               **self._headers(extra))


def make_user(name, admin=False, password="secret-" + "pw"):
    user = users.create_user(name, email="%s@example.org" % name, password=password,
                             is_admin=admin)
    token, _ = identity.issue_token(user)
    return user, ApiClient(token)


def make_world():
    """Two users and an admin with clients; flavors; a public and a private image; a
    public network."""
    class W:
        pass
    w = W()
    w.alice, w.a = make_user("alice")
    w.bob, w.b = make_user("bob")
    w.root, w.r = make_user("root", admin=True)
    w.anon = ApiClient()
    w.small = Flavor.objects.create(cpu=1, ram=512, disk=5, disk_template="file")
    w.big = Flavor.objects.create(cpu=2, ram=1024, disk=5, disk_template="file")
    w.huge = Flavor.objects.create(cpu=4, ram=4096, disk=20, disk_template="file")
    w.image = Image.objects.create(name="debian", backend_id="debian-12", public=True)
    w.private = Image.objects.create(name="alice-own", backend_id="a1", owner=w.alice)
    w.net = Network.objects.create(name="public", public=True, state="ACTIVE",
                                   type="PUBLIC_ROUTED", link="br0")
    return w


def create_server(client, world, name="vm1", **extra):
    body = {"server": dict({"name": name, "imageRef": str(world.image.id),
                            "flavorRef": str(world.small.id)}, **extra)}
    return client.post("/compute/v2.1/servers", body)


def rapi_error(message="connection refused"):
    return RapiError("fake.ganeti.test", "create", message)
