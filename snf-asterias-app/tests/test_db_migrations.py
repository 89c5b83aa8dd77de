"""Migrations apply forwards and backwards on the database under test."""

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_migrations_roll_back_and_forward():
    call_command("migrate", "db", "zero", verbosity=0)
    tables = connection.introspection.table_names()
    assert "db_virtualmachine" not in tables
    call_command("migrate", "db", verbosity=0)
    tables = connection.introspection.table_names()
    for table in ("db_user", "db_token", "db_flavor", "db_image", "db_virtualmachine",
                  "db_vmmetadata", "db_network", "db_networkinterface", "db_backend",
                  "db_loginfailure"):
        assert table in tables


def _columns(table):
    with connection.cursor() as cursor:
        return {c.name for c in connection.introspection.get_table_description(cursor, table)}


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_token_parent_migrates_both_ways_with_tokens_in_place():
    call_command("migrate", "db", "0006", verbosity=0)
    # The models as of 0006 (today's would name columns later migrations add).
    historical = MigrationExecutor(connection).loader.project_state(("db", "0006_token_parent"))
    Token, User = (historical.apps.get_model("db", name) for name in ("Token", "User"))
    user = User.objects.create(name="mig")
    parent = Token.objects.create(user=user, key_hash="p" * 64)
    Token.objects.create(user=user, key_hash="c" * 64, parent=parent)
    call_command("migrate", "db", "0005", verbosity=0)
    assert "parent_id" not in _columns("db_token")
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM db_token")
        assert cursor.fetchone()[0] == 2
    call_command("migrate", "db", verbosity=0)
    assert "parent_id" in _columns("db_token")
    from synnefo.db.models import Token
    assert Token.objects.filter(parent__isnull=True).count() == 2


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_image_data_fields_migrate_both_ways_with_images_in_place():
    call_command("migrate", "db", "0008", verbosity=0)
    historical = MigrationExecutor(connection).loader.project_state(("db", "0008_vm_user_data"))
    old_image = historical.apps.get_model("db", "Image")
    old_image.objects.create(name="old", backend_id="old-img", state="ACTIVE")
    call_command("migrate", "db", verbosity=0)
    from synnefo.db.models import Image, User
    image = Image.objects.get(name="old")
    assert (image.checksum, image.md5, image.disk_format, image.state) == ("", "", "", "ACTIVE")
    assert "max_image_space" in _columns("db_user") and User.objects.count() == 0
    call_command("migrate", "db", "0008", verbosity=0)
    assert "checksum" not in _columns("db_image") and "max_image_space" not in _columns("db_user")
    call_command("migrate", "db", verbosity=0)
