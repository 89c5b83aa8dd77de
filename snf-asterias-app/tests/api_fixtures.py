"""Fixtures of the API/logic unit tests: users with tokens, flavors, images, a
public network, and a fake Ganeti backend (unit tests only; the integration tests
use the real WSGI stack).

The fake records every backend call and, when told to, applies a job's result to
the VM row the way the dispatcher callbacks do (job fields, then operstate).
"""

import itertools
import json

import pytest
from django.test import Client

from synnefo.backend import instances
from synnefo.backend.rapi import RapiError
from synnefo.db.models import Backend, Flavor, Image, Network, VirtualMachine
from synnefo.logic import backend_allocator, identity, users

OPCODES = {"create": ("OP_INSTANCE_CREATE", "STARTED"),
           "start": ("OP_INSTANCE_STARTUP", "STARTED"),
           "stop": ("OP_INSTANCE_SHUTDOWN", "STOPPED"),
           "reboot": ("OP_INSTANCE_REBOOT", "STARTED"),
           "delete": ("OP_INSTANCE_REMOVE", "DESTROYED"),
           "resize": ("OP_INSTANCE_SET_PARAMS", None),
           "firewall": ("OP_TAGS_SET", None)}


class FakeBackend:
    def __init__(self):
        self.calls = []
        self.jobs = {}
        self.resized = {}
        self.fail = None  # a RapiError to raise on the next call
        self._ids = itertools.count(100)
        self.backend = Backend.objects.create(clustername="fake.ganeti.test")

    def _job(self, kind, vm, *args):
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        job = next(self._ids)
        self.calls.append((kind, vm.id) + args)
        if kind == "resize":
            self.resized[job] = args[0]
        self.jobs[job] = (kind, vm.id)
        return job

    def finish(self, job_id, status="success"):
        """Apply job ``job_id``'s result to its VM, as the dispatcher would."""
        kind, vm_id = self.jobs[job_id]
        opcode, new_state = OPCODES[kind]
        fields = {"backendjobid": job_id, "backendopcode": opcode, "backendjobstatus": status}
        if status == "success" and new_state:
            fields["operstate"] = new_state
            if new_state == "DESTROYED":
                fields["deleted"] = True
        elif status == "error" and kind == "create":
            fields["operstate"] = "ERROR"
        if status == "success" and kind == "resize":
            fields["flavor_id"] = self.resized[job_id]
        VirtualMachine.objects.filter(pk=vm_id).update(**fields)

    def finish_all(self):
        for job in sorted(self.jobs):
            self.finish(job)
        self.jobs.clear()

    def last_job(self):
        return max(self.jobs)


@pytest.fixture
def fake_backend(monkeypatch, db):
    fake = FakeBackend()
    monkeypatch.setattr(backend_allocator, "allocate_backend", lambda flavor: fake.backend)
    monkeypatch.setattr(instances, "create_instance",
                        lambda vm, password, personality=None, public_key=None:
                        fake._job("create", vm, password, personality, public_key))
    monkeypatch.setattr(instances, "startup_instance", lambda vm: fake._job("start", vm))
    monkeypatch.setattr(instances, "shutdown_instance", lambda vm: fake._job("stop", vm))
    monkeypatch.setattr(instances, "reboot_instance",
                        lambda vm, kind: fake._job("reboot", vm, kind))
    monkeypatch.setattr(instances, "delete_instance",
                        lambda vm, after_job=None: fake._job("delete", vm, after_job))
    monkeypatch.setattr(instances, "resize_instance",
                        lambda vm, flavor: fake._job("resize", vm, flavor.id))
    monkeypatch.setattr(instances, "set_firewall_profile",
                        lambda vm, index, profile: fake._job("firewall", vm, index, profile))
    return fake


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


@pytest.fixture
def world(db):
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
