"""synnefo.logic.backend_allocator: where new servers go."""

import pytest

from synnefo.api import faults
from synnefo.backend.rapi import RapiError
from synnefo.db import models as m
from synnefo.logic.backend_allocator import allocate_backend
from synnefo.logic.errors import BackendUnavailable, NoBackendAvailable

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_default_cluster(settings):
    settings.GANETI_CLUSTER_INFO = ("", 5080, "", "")


def flavor(template="file"):
    return m.Flavor.objects.get_or_create(cpu=1, ram=128, disk=1, disk_template=template)[0]


def add_vms(backend, n, deleted=False):
    user, _ = m.User.objects.get_or_create(name="u")
    for _ in range(n):
        m.VirtualMachine.objects.create(owner=user, flavor=flavor(), backend=backend,
                                        name="v", deleted=deleted)


def test_least_loaded_usable_backend_wins():
    a = m.Backend.objects.create(clustername="a", ctotal=4, mfree=1000)
    b = m.Backend.objects.create(clustername="b", ctotal=4, mfree=1000)
    drained = m.Backend.objects.create(clustername="c", drained=True)
    offline = m.Backend.objects.create(clustername="d", offline=True)
    add_vms(a, 3)
    add_vms(b, 1)
    add_vms(b, 5, deleted=True)  # deleted servers do not count
    assert allocate_backend(flavor()) == b
    add_vms(b, 3)
    assert allocate_backend(flavor()) == a
    assert allocate_backend(flavor()) not in (drained, offline)


def test_load_is_relative_to_capacity():
    small = m.Backend.objects.create(clustername="small", ctotal=2)
    big = m.Backend.objects.create(clustername="big", ctotal=32)
    add_vms(small, 2)
    add_vms(big, 8)
    assert allocate_backend(flavor()) == big


def test_disk_template_must_be_offered():
    m.Backend.objects.create(clustername="a", disk_templates="file,diskless")
    drbd = m.Backend.objects.create(clustername="b", disk_templates="drbd,plain")
    assert allocate_backend(flavor("drbd")) == drbd
    with pytest.raises(NoBackendAvailable) as exc:
        allocate_backend(flavor("rbd"))
    assert "rbd" in str(exc.value)


def test_nothing_usable_is_an_error_the_api_maps_to_503():
    with pytest.raises(NoBackendAvailable) as exc:
        allocate_backend(flavor())
    assert "backend-add" in str(exc.value)
    # a logic error the API maps once, to 503 (not a RAPI transport failure)
    assert isinstance(exc.value, BackendUnavailable) and not isinstance(exc.value, RapiError)
    assert faults.from_logic(exc.value).code == 503
    m.Backend.objects.create(clustername="a", drained=True)
    with pytest.raises(NoBackendAvailable) as exc:
        allocate_backend(flavor())
    assert "undrained" in str(exc.value)


def test_default_backend_comes_from_settings(settings, tmp_path):
    pem = tmp_path / "rapi.pem"
    pem.write_text("-----BEGIN PRIVATE KEY-----\nK\n-----END PRIVATE KEY-----\n"
                   "-----BEGIN CERTIFICATE-----\nC\n-----END CERTIFICATE-----\n")
    settings.GANETI_CLUSTER_INFO = ("cluster.example.org", 5081, "user", "pw")
    settings.GANETI_CLUSTER_CERTIFICATE = str(pem)
    backend = allocate_backend(flavor())
    assert (backend.clustername, backend.port, backend.username) == \
        ("cluster.example.org", 5081, "user")
    assert "CERTIFICATE" in backend.certificate and "PRIVATE" not in backend.certificate
    assert m.Backend.objects.count() == 1


def test_changed_cluster_info_is_reported_with_the_command_that_applies_it(settings):
    """GANETI_CLUSTER_INFO only seeds the first backend: later edits do nothing, so
    `snf-manage check` (any snf-manage command) says how to change the backend."""
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from synnefo.logic.apps import check_cluster_info
    settings.GANETI_CLUSTER_INFO = ("cluster.example.org", 5080, "user", "pw")
    assert check_cluster_info() == []            # no backend yet: it will be created
    allocate_backend(flavor())
    assert check_cluster_info() == []            # the backend it made matches
    settings.GANETI_CLUSTER_INFO = ("cluster.example.org", 5081, "user", "s3cret-new")
    [warning] = check_cluster_info()
    assert warning.id == "synnefo.W001"
    assert ("snf-manage backend-modify cluster.example.org --port 5081 --password-file FILE"
            in warning.msg)
    assert "s3cret" not in warning.msg           # never the password
    settings.GANETI_CLUSTER_INFO = ("other.example.org", 5080, "user", "pw")
    [warning] = check_cluster_info()
    assert "snf-manage backend-add other.example.org" in warning.msg
    assert "cluster.example.org" in warning.msg
    # The real entry point: the check is registered and snf-manage check shows it.
    with pytest.raises(SystemCheckError) as exc:
        call_command("check", fail_level="WARNING")
    assert "synnefo.W001" in str(exc.value)
