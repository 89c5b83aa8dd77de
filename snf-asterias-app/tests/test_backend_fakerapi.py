"""Checks of FakeRapi (support/fakerapi.py): Ganeti's own RAPI handlers behind a curl
factory, the LUXI transport replaced by test data."""

import json

import pytest
from support.fakerapi import FakeRapi

from synnefo.backend.rapi import RapiError


def test_a_create_reaches_ganeti_as_a_validated_opcode():
    fake = FakeRapi()
    job = fake.client().create_instance({
        "mode": "create", "name": "x-1", "os_type": "noop+default", "disk_template": "diskless",
        "disks": [], "nics": [], "beparams": {"vcpus": 1}, "ip_check": False,
        "name_check": False})
    assert job == fake.jobs[-1][0]
    op = fake.last_op()
    assert op["OP_ID"] == "OP_INSTANCE_CREATE" and op["instance_name"] == "x-1"


def test_ganeti_rejects_a_wrong_password_with_401():
    with pytest.raises(RapiError) as exc:
        FakeRapi().client(password="nope").get_info()
    assert exc.value.code == 401


def test_ganeti_rejects_a_bad_parameter():
    fake = FakeRapi()
    with pytest.raises(RapiError) as exc:
        fake.client().create_instance({"mode": "create", "name": "x-1", "disks": "many"})
    assert exc.value.code == 400
    assert not fake.jobs


def test_queries_answer_from_test_data():
    fake = FakeRapi(instances={"x-1": {"name": "x-1", "pnode": "n1", "network_port": 11000}})
    info = fake.client().get_instance("x-1")
    assert info["pnode"] == "n1" and info["network_port"] == 11000
    assert json.dumps(fake.client().get_instances())
