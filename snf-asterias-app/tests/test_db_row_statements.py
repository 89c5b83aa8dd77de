"""synnefo.db.row_statements on the database chosen by SNF_TEST_DB: the row it reads is
the row the ORM reads (every field, converted alike), it stays locked until the
transaction ends, and its updates are what save() writes."""

import datetime
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from synnefo.db import models as m
from synnefo.db.row_statements import RowStatements

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.db]

VMS = RowStatements(m.VirtualMachine)


def field_values(instance):
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


@pytest.fixture
def vm():
    user = m.User.objects.create(name="alice", email="alice@example.org")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="file")
    when = datetime.datetime(2026, 11, 30, 12, 0, 0, 123456, tzinfo=datetime.timezone.utc)
    # values of every kind the converters handle: booleans, datetimes, NULLs, text
    return m.VirtualMachine.objects.create(
        owner=user, flavor=flavor, name="vm ü", deleted=True, suspended=False,
        backendjobid=2**40, backendtime=when, nictime=None, buildpercentage=42,
        backendlogmsg="line 1\nline 2")


def test_the_locked_row_is_the_orm_row(vm):
    with transaction.atomic():
        locked = VMS.lock(vm.pk)
    assert isinstance(locked, m.VirtualMachine)
    assert field_values(locked) == field_values(m.VirtualMachine.objects.get(pk=vm.pk))
    assert locked.deleted is True and locked.suspended is False
    assert locked.backendtime.tzinfo is not None and locked.nictime is None
    assert locked._state.adding is False and locked._state.db == "default"


def test_a_missing_row_is_none(vm):
    with transaction.atomic():
        assert VMS.lock(vm.pk + 1000) is None


def test_an_update_writes_the_named_fields_only_and_stamps_updated(vm):
    other_flavor = m.Flavor.objects.create(cpu=2, ram=256, disk=1, disk_template="file")
    before = m.VirtualMachine.objects.get(pk=vm.pk)
    with transaction.atomic():
        row = VMS.lock(vm.pk)
        row.operstate, row.deleted, row.flavor = "STOPPED", False, other_flavor
        row.backendtime = timezone.now()
        row.name = "not saved"  # not named: stays as stored
        VMS.update(row, ["operstate", "deleted", "flavor", "backendtime", "updated"])
    after = m.VirtualMachine.objects.get(pk=vm.pk)
    assert (after.operstate, after.deleted, after.flavor_id) == ("STOPPED", False,
                                                                 other_flavor.pk)
    assert after.backendtime == row.backendtime
    assert after.name == before.name
    assert after.updated > before.updated and after.updated == row.updated


@pytest.mark.database("postgresql", "mysql")  # SQLite has no row locks (see above)
def test_the_row_stays_locked_until_the_transaction_ends(vm):
    def try_lock():
        try:
            with transaction.atomic():
                m.VirtualMachine.objects.select_for_update(nowait=True).get(pk=vm.pk)
            return "locked it"
        except DatabaseError:
            return "refused"
        finally:
            connections.close_all()  # this thread's own connection

    with ThreadPoolExecutor(1) as other:
        with transaction.atomic():
            VMS.lock(vm.pk)
            assert other.submit(try_lock).result() == "refused"
        assert other.submit(try_lock).result() == "locked it"
