"""The RAPI client against the real Ganeti test cluster (ci/ganeti.sh)."""

import pytest
from support.cluster import env

from synnefo.backend.rapi import RapiClient, RapiError

pytestmark = pytest.mark.integration


def cluster_client(**kw):
    args = dict(host=env("SNF_TEST_RAPI_HOST"), port=int(env("SNF_TEST_RAPI_PORT")),
                username=env("SNF_TEST_RAPI_USER"),
                password=env("SNF_TEST_RAPI_PASSWORD"))
    args.update(kw)
    return RapiClient(**args)


def test_info_of_the_real_cluster():
    info = cluster_client().get_info()
    assert info["name"] == env("SNF_TEST_GANETI_CLUSTER")
    assert info["software_version"].startswith("3.")
    assert "fake" in info["enabled_hypervisors"]


def test_wrong_password_is_a_clear_error_naming_the_cluster():
    with pytest.raises(RapiError) as exc:
        cluster_client(password="wrong").get_info()
    assert exc.value.code == 401
    assert env("SNF_TEST_RAPI_HOST") in str(exc.value)
    assert "wrong" not in str(exc.value)


def test_unreachable_cluster_is_a_clear_error():
    client = RapiClient("127.0.0.1", port=1, username="u", password="p")
    with pytest.raises(RapiError) as exc:
        client.get_info()
    assert exc.value.code is None and "127.0.0.1" in str(exc.value)
