"""backend-add/list/modify/remove, with Ganeti's RAPI handlers behind the client."""

import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from support.certificates import openssl_fingerprint, rapi_pem
from support.fakerapi import PASSWORD, USER, FakeRapi

from synnefo.db import models as m
from synnefo.logic.backends import BackendError, certificate_fingerprint, pinned_certificate

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake(settings):
    fake = FakeRapi(cluster_info={"name": "fake.example.org", "default_hypervisor": "kvm",
                                  "enabled_disk_templates": ["drbd", "plain"]},
                    nodes={"n1": {"mfree": 1000, "mtotal": 4000, "ctotal": 8},
                           "n2": {"mfree": 500, "mtotal": 4000, "ctotal": 8},
                           "n3": {"offline": True, "mfree": 9999}})
    settings.GANETI_RAPI_CURL_FACTORY = fake.curl
    return fake


def run(*args):
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_add_reads_capacity_and_pins_the_certificate(fake, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(PASSWORD + "\n")
    pem = rapi_pem(tmp_path)
    out = run("backend-add", "fake.example.org", "--username", USER, "--password-file",
              str(pw), "--no-check", "--certificate", str(pem), "--json")
    assert json.loads(out)["pinned"] is True
    b = m.Backend.objects.get()
    assert "PRIVATE" not in b.certificate and b.password == PASSWORD
    b.certificate = ""
    b.save()
    settings_free = run("backend-modify", "fake.example.org", "--refresh", "--json")
    row = json.loads(settings_free)
    assert row["hypervisor"] == "kvm" and row["disk_templates"] == "drbd,plain"
    assert row["mfree"] == 1500 and row["ctotal"] == 16  # offline nodes do not count


def test_a_certificate_to_pin_is_one_openssl_reads(tmp_path):
    pem = rapi_pem(tmp_path)
    pinned = pinned_certificate(pem.read_text())
    assert pinned.startswith("-----BEGIN CERTIFICATE-----") and "PRIVATE" not in pinned
    assert certificate_fingerprint(pinned) == openssl_fingerprint(pem)
    for text, reason in [("no PEM at all", "holds no PEM certificate"),
                         ("-----BEGIN CERTIFICATE-----\nnot base64!\n"
                          "-----END CERTIFICATE-----\n", "OpenSSL cannot read")]:
        with pytest.raises(BackendError, match=reason):
            pinned_certificate(text)


def test_add_checks_the_cluster_and_refuses_wrong_credentials(fake, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("wrong\n")
    with pytest.raises(CommandError) as exc:
        run("backend-add", "fake.example.org", "--username", USER, "--password-file", str(pw))
    assert "401" in str(exc.value) and "nothing was added" in str(exc.value)
    assert "wrong" not in str(exc.value).replace("wrong_", "")
    assert not m.Backend.objects.exists()


def test_modify_list_remove(fake):
    b = m.Backend.objects.create(clustername="c1")
    run("backend-modify", str(b.pk), "--drained", "yes", "--offline", "yes")
    b.refresh_from_db()
    assert b.drained and b.offline
    rows = json.loads(run("backend-list", "--json"))
    assert rows[0]["clustername"] == "c1" and rows[0]["drained"] is True
    user = m.User.objects.create(name="u")
    flavor = m.Flavor.objects.create(cpu=1, ram=1, disk=1, disk_template="file")
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, backend=b, name="v")
    with pytest.raises(CommandError) as exc:
        run("backend-remove", "c1")
    assert "still hosts 1 server" in str(exc.value)
    vm.deleted = True
    vm.save()
    assert "removed" in run("backend-remove", "c1")
    assert not m.Backend.objects.exists()
    with pytest.raises(CommandError):
        run("backend-remove", "c1")
