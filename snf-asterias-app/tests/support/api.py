"""What the API/logic unit tests stand on (conftest.py makes fixtures of it): users
with tokens and a JSON client, flavors, images, a public network, and a fake Ganeti
backend (unit tests only; the integration tests use the real WSGI stack and cluster).

The fake records every backend call and, when told to, reports the job's end through
the dispatcher's own callbacks, so the API tests see the state machine production runs.
"""

import itertools
import json
import time

from django.test import Client

from synnefo.backend import instances
from synnefo.backend.rapi import RapiError
from synnefo.db.models import Backend, Flavor, Image, Network, VirtualMachine
from synnefo.logic import backend_allocator, callbacks, identity, users

# What each faked backend call submits: the opcode eventd reports for its job.
OPCODES = {"create": "OP_INSTANCE_CREATE", "start": "OP_INSTANCE_STARTUP",
           "stop": "OP_INSTANCE_SHUTDOWN", "reboot": "OP_INSTANCE_REBOOT",
           "delete": "OP_INSTANCE_REMOVE", "resize": "OP_INSTANCE_SET_PARAMS",
           "firewall": "OP_TAGS_SET"}


class FakeBackend:
    """Records the backend calls logic makes and gives each a job id; ``finish`` reports
    a job's end to the dispatcher's callbacks, as eventd would."""

    def __init__(self):
        self.calls = []
        self.jobs = {}  # job id -> (kind, VM id, what eventd adds to the message)
        self.fail = None  # a RapiError to raise on the next call
        self._ids = itertools.count(100)
        self._clock = 0  # the last event time given, in microseconds
        self.backend = Backend.objects.create(clustername="fake.ganeti.test")

    def _job(self, kind, vm, *args):
        if self.fail is not None:
            exc, self.fail = self.fail, None
            raise exc
        job = next(self._ids)
        self.calls.append((kind, vm.id) + args)
        extra = {}
        if kind == "resize":  # eventd copies the op's beparams (instances.resize_instance)
            flavor = Flavor.objects.get(pk=args[0])
            extra["beparams"] = {"vcpus": flavor.cpu, "maxmem": flavor.ram,
                                 "minmem": flavor.ram}
        elif kind == "firewall":  # and a tag op's tags (instances.set_firewall_profile)
            extra["tags"] = [instances.firewall_tag(*args)]
        self.jobs[job] = (kind, vm.id, extra)
        return job

    def _event_time(self):
        """Now, as Ganeti's [s, us], and later than any time given before: jobs finish in
        the order the test finishes them."""
        self._clock = max(int(time.time() * 1e6), self._clock + 1)
        return [self._clock // 10**6, self._clock % 10**6]

    def finish(self, job_id, status="success"):
        """Job ``job_id`` ended with ``status``: its ganeti-op-status message goes through
        the dispatcher's handler (synnefo.logic.callbacks)."""
        kind, vm_id, extra = self.jobs[job_id]
        body = {"type": "ganeti-op-status", "instance": VirtualMachine(pk=vm_id).backend_vm_id,
                "operation": OPCODES[kind], "jobId": job_id, "status": status, "logmsg": "",
                "event_time": self._event_time(), **extra}
        callbacks.handle(body)

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
                            lambda vm, flavor: self._job("resize", vm, flavor.id))
        monkeypatch.setattr(instances, "set_firewall_profile",
                            lambda vm, index, profile: self._job("firewall", vm, index, profile))
        return self


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
