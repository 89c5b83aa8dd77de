"""Network removal while instances come and go, on the real Ganeti test cluster.

Ganeti's network disconnect locks the instances of the node group and fails with
"Instances in node group 'default' changed since locks were acquired ...; retry the
operation" when one is created or removed meanwhile. `snf-manage network-remove` (and
the dispatcher, see tests/test_network_callbacks.py) must resubmit such a transient
failure itself: the network ends DELETED, never ERROR.

Two threads create and remove instances in a loop (their own RAPI clients, OS
noop+default, no DB) while networks are created and removed with the admin commands.
The prefix is this module's and this run's own (snfnr<pid>-).
"""

import logging
import threading
import time

import pytest
from django.core.management import call_command

from cluster_fixtures import cluster_backend, env, run_prefix
from synnefo.backend import instances
from synnefo.backend import networks as gnet
from synnefo.backend.rapi import RapiError
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = run_prefix("snfnr")
CYCLES = 4
CHURN_THREADS = 2


@pytest.fixture
def backend(db, settings):
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = "noop+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    settings.NETWORK_JOB_RETRIES = 20
    return cluster_backend()


class Churn:
    """Threads that create and remove instances ``<PREFIX><9000+n>`` until stopped."""

    def __init__(self, backend, spec):
        self.backend, self.spec = backend, spec
        self.stop = threading.Event()
        self.created = 0
        self.errors = []
        self.names = set()
        self.threads = [threading.Thread(target=self.run, args=(k,), daemon=True)
                        for k in range(CHURN_THREADS)]

    def run(self, k):
        client = instances.client_for(self.backend)
        n = 0
        while not self.stop.is_set():
            name = "%s%d" % (PREFIX, 9000 + 100 * k + n % 100)
            n += 1
            self.names.add(name)
            try:
                job = client.create_instance(dict(self.spec, name=name))
                if client.wait_for_job(job, timeout=300)["status"] == "success":
                    self.created += 1
                client.wait_for_job(client.delete_instance(name), timeout=300)
            except RapiError as exc:
                self.errors.append(str(exc))
                time.sleep(0.5)

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for t in self.threads:
            t.join(600)


def _cleanup(client, backend, names, networks):
    present = {i["name"] for i in client.get_instances(bulk=True)}
    for name in sorted(names & present):
        client.wait_for_job(client.delete_instance(name))
    for net in networks:
        info = gnet.get_network(net, backend)
        if info is None:
            continue
        for group in info.get("group_list") or []:
            client.wait_for_job(client.request("PUT", "/2/networks/%s/disconnect"
                                               % net.backend_id, body={"group_name": group[0]}))
        client.wait_for_job(client.request("DELETE", "/2/networks/%s" % net.backend_id))


def test_network_remove_while_instances_come_and_go_ends_deleted(backend, caplog):
    caplog.set_level(logging.WARNING, logger="synnefo.logic.network_callbacks")
    client = instances.client_for(backend)
    user = m.User.objects.create(name="churner")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    image = m.Image.objects.create(name="noop", backend_id="noop-image", public=True)
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, image=image,
                                         backend=backend, name="churn")
    spec = instances.build_create_spec(vm, "pw")
    spec["pnode"] = env("SNF_TEST_GANETI_NODE")
    spec["nics"] = []
    made, retried = [], 0
    churn = Churn(backend, spec)
    try:
        with churn:
            deadline = time.monotonic() + 60
            while churn.created < 1 and time.monotonic() < deadline:
                time.sleep(0.2)  # the churn is under way
            assert churn.created, "no instance created: %s" % churn.errors[-3:]
            for cycle in range(CYCLES):
                call_command("network-create", "race%d" % cycle, "--public", "--subnet",
                             "10.251.%d.0/24" % (118 + cycle), "--link", "gnt-br0")
                net = m.Network.objects.get(name="race%d" % cycle, deleted=False)
                made.append(net)
                assert net.state == "ACTIVE", net.backend_networks.get().backendlogmsg
                call_command("network-remove", str(net.id))
                net.refresh_from_db()
                bn = net.backend_networks.get()
                retried += bn.retries
                assert (net.state, bn.operstate) == ("DELETED", "DELETED"), bn.backendlogmsg
                assert gnet.get_network(net, backend) is None
        assert churn.created >= 2, churn.errors[-3:]
        print("transient failures retried: %d over %d removals; %d instances created "
              "meanwhile" % (retried, CYCLES, churn.created))
        # Two churning threads make the disconnect race nearly every time (7 retries
        # over 6 removals when this test was written): the path was exercised.
        assert retried >= 1, "no transient failure met: the race was not exercised"
        assert "failed transiently" in caplog.text
    finally:
        _cleanup(client, backend, set(churn.names), made)
