"""The hypervisor of new servers is a per-backend choice among the cluster's enabled ones.

(backend-add/backend-modify --hypervisor; Ganeti's own RAPI handlers behind the client.)
The real-VM test (test_kvm_vm_e2e.py) uses it to run servers under kvm on the test
cluster, whose default hypervisor stays fake.
"""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from support.fakerapi import PASSWORD, USER, FakeRapi

from synnefo.db import models as m

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings, tmp_path):
    fake = FakeRapi(cluster_info={"name": "fake.example.org", "default_hypervisor": "fake",
                                  "enabled_hypervisors": ["fake", "kvm"],
                                  "enabled_disk_templates": ["diskless"]},
                    nodes={"n1": {"mfree": 1000, "mtotal": 4000, "ctotal": 8}})
    settings.GANETI_RAPI_CURL_FACTORY = fake.curl
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    return fake, str(pw)


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_default_is_the_clusters_default(fake):
    _, pw = fake
    row = run("backend-add", "fake.example.org", "--username", USER, "--password-file", pw,
              "--json")
    assert row["hypervisor"] == "fake"


def test_chosen_hypervisor_survives_refresh(fake):
    _, pw = fake
    row = run("backend-add", "fake.example.org", "--username", USER, "--password-file", pw,
              "--hypervisor", "kvm", "--json")
    assert row["hypervisor"] == "kvm"
    assert run("backend-modify", "fake.example.org", "--refresh", "--json")["hypervisor"] == "kvm"
    assert run("backend-modify", "fake.example.org", "--hypervisor", "fake",
               "--json")["hypervisor"] == "fake"
    assert m.Backend.objects.get().hypervisor == "fake"


def test_a_hypervisor_the_cluster_does_not_enable_is_refused(fake):
    _, pw = fake
    with pytest.raises(CommandError) as exc:
        run("backend-add", "fake.example.org", "--username", USER, "--password-file", pw,
            "--hypervisor", "xen-pvm", "--json")
    assert "not enabled" in str(exc.value) and "fake, kvm" in str(exc.value)
    assert not m.Backend.objects.exists()
    run("backend-add", "fake.example.org", "--username", USER, "--password-file", pw, "--json")
    with pytest.raises(CommandError):
        run("backend-modify", "fake.example.org", "--hypervisor", "lxc")
    assert m.Backend.objects.get().hypervisor == "fake"
