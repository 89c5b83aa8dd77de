"""The data model on the database chosen by SNF_TEST_DB (sqlite, postgresql, mysql)."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from synnefo.db import models as m

pytestmark = [pytest.mark.django_db, pytest.mark.db]


def make_user(name="alice", **kw):
    return m.User.objects.create(name=name, email="%s@example.org" % name, **kw)


def make_vm(user=None, **kw):
    user = user or make_user()
    flavor, _ = m.Flavor.objects.get_or_create(cpu=1, ram=128, disk=1, disk_template="file")
    return m.VirtualMachine.objects.create(owner=user, flavor=flavor, name="vm", **kw)


def test_no_model_change_lacks_a_migration():
    out = io.StringIO()
    call_command("makemigrations", "db", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_user_names_are_unique():
    make_user("bob")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_user("bob")


def test_tokens_are_stored_hashed():
    user = make_user()
    token = m.Token.objects.create(user=user, key_hash=m.hash_token("s3cret"),
                                   expires=timezone.now() + datetime.timedelta(days=1))
    assert token.key_hash != "s3cret" and len(token.key_hash) == 64
    assert m.Token.objects.get(key_hash=m.hash_token("s3cret")).user == user


def test_flavor_name_and_uniqueness():
    f = m.Flavor.objects.create(cpu=2, ram=2048, disk=20, disk_template="drbd")
    assert f.name == "C2R2048D20drbd"
    m.Flavor.objects.create(cpu=2, ram=2048, disk=20, disk_template="file")
    with pytest.raises(IntegrityError), transaction.atomic():
        m.Flavor.objects.create(cpu=2, ram=2048, disk=20, disk_template="drbd")


def test_image_metadata_key_unique_per_image():
    image = m.Image.objects.create(name="debian", backend_id="debian-12", public=True)
    m.ImageMetadata.objects.create(image=image, meta_key="OS", meta_value="debian")
    with pytest.raises(IntegrityError), transaction.atomic():
        m.ImageMetadata.objects.create(image=image, meta_key="OS", meta_value="other")
    assert image.owner is None


def test_vm_defaults_and_ganeti_name(settings):
    vm = make_vm()
    assert vm.operstate == "BUILD" and not vm.deleted and not vm.suspended
    assert vm.backend_vm_id == settings.BACKEND_PREFIX_ID + str(vm.id)
    assert m.id_from_instance_name(vm.backend_vm_id) == vm.id


@pytest.mark.parametrize("name", ["snf-12", "other-12", "snftest-", "snftest-1a", "snftest-01",
                                  None, "snftest--3"])
def test_foreign_instance_names_are_not_ours(name):
    assert m.id_from_instance_name(name, prefix="snftest-") is None


def test_vm_metadata_unique_key():
    vm = make_vm()
    m.VirtualMachineMetadata.objects.create(vm=vm, meta_key="role", meta_value="db")
    with pytest.raises(IntegrityError), transaction.atomic():
        m.VirtualMachineMetadata.objects.create(vm=vm, meta_key="role", meta_value="web")


def test_updated_moves_for_changes_since():
    vm = make_vm()
    before = vm.updated
    vm.operstate = "STARTED"
    vm.save()
    vm.refresh_from_db()
    assert vm.updated >= before
    assert m.VirtualMachine.objects.filter(owner=vm.owner, deleted=False,
                                           updated__gte=before).count() == 1


def test_nics_and_networks():
    vm = make_vm()
    net = m.Network.objects.create(name="public", public=True, type="PUBLIC_ROUTED",
                                   subnet="10.251.10.0/24", gateway="10.251.10.1")
    nic = m.NetworkInterface.objects.create(machine=vm, network=net, index=0,
                                            mac="aa:00:00:11:22:33", ipv4="10.251.10.5",
                                            firewall_profile="DISABLED")
    assert list(vm.nics.all()) == [nic]
    assert net.backend_id.endswith("net-%d" % net.id)
    with pytest.raises(Exception), transaction.atomic():
        net.delete()  # a network with NICs cannot vanish under them


def test_backend_capacity_fields():
    b = m.Backend.objects.create(clustername="cluster.ganeti.test", username="u", password="p")
    assert not b.drained and not b.offline and b.port == 5080


def test_vm_row_lock_is_available():
    vm = make_vm()
    with transaction.atomic():
        locked = m.VirtualMachine.objects.select_for_update().get(pk=vm.pk)
        assert locked.pk == vm.pk


def test_mysql_runs_read_committed_innodb():
    if connection.vendor != "mysql":
        assert connection.vendor in ("sqlite", "postgresql")
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT @@session.tx_isolation")
        assert cursor.fetchone()[0] == "READ-COMMITTED"
        cursor.execute("SELECT engine FROM information_schema.tables "
                       "WHERE table_schema = DATABASE() AND table_name = 'db_virtualmachine'")
        assert cursor.fetchone()[0] == "InnoDB"
