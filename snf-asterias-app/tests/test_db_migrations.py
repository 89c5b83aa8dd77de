"""Migrations apply forwards and backwards on the database under test."""

import pytest
from django.core.management import call_command
from django.db import connection


@pytest.mark.db
@pytest.mark.django_db(transaction=True)
def test_migrations_roll_back_and_forward():
    call_command("migrate", "db", "zero", verbosity=0)
    tables = connection.introspection.table_names()
    assert "db_virtualmachine" not in tables
    call_command("migrate", "db", verbosity=0)
    tables = connection.introspection.table_names()
    for table in ("db_user", "db_token", "db_flavor", "db_image", "db_virtualmachine",
                  "db_vmmetadata", "db_network", "db_networkinterface", "db_backend"):
        assert table in tables
