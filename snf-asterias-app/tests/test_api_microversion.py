"""Microversion headers (we serve 2.1 only) and the opt-in for Synnefo's SNF: fields."""

import pytest
from support.api import EXTENSIONS, create_server
from support.schemas import flavors as F
from support.schemas import images as I
from support.schemas import servers as S
from support.schemas import validate

V21 = "/compute/v2.1"


def _announces_21(r):
    vary = [v.strip().lower() for v in r["Vary"].split(",")]
    return (r["OpenStack-API-Version"] == "compute 2.1"
            and r["X-OpenStack-Nova-API-Version"] == "2.1"
            and "openstack-api-version" in vary and "x-openstack-nova-api-version" in vary)


@pytest.mark.parametrize("path", ["/servers", "/servers/detail", "/flavors", "/limits", "/",
                                  "/servers/999999", "/no-such-thing"])
def test_every_v21_answer_names_the_version(world, path):
    assert _announces_21(world.a.get(V21 + path))
    assert _announces_21(world.anon.get(V21 + path))  # faults too (401 here)


def test_legacy_v2_endpoints_announce_no_version(world):
    for prefix in ("/compute/v2", "/compute/v2.0"):
        r = world.a.get(prefix + "/servers", HTTP_X_OPENSTACK_NOVA_API_VERSION="2.5")
        assert r.status_code == 200 and "OpenStack-API-Version" not in r
        assert "X-OpenStack-Nova-API-Version" not in r


@pytest.mark.parametrize("headers", [
    {"HTTP_X_OPENSTACK_NOVA_API_VERSION": "2.1"},
    {"HTTP_OPENSTACK_API_VERSION": "compute 2.1"},
    {"HTTP_OPENSTACK_API_VERSION": "compute latest"},
    {"HTTP_X_OPENSTACK_NOVA_API_VERSION": "latest"},
    # another service's version is not ours to refuse
    {"HTTP_OPENSTACK_API_VERSION": "volume 3.70"},
    # the standard header wins over the legacy one
    {"HTTP_OPENSTACK_API_VERSION": "compute 2.1", "HTTP_X_OPENSTACK_NOVA_API_VERSION": "2.9"},
])
def test_versions_we_serve(world, headers):
    r = world.a.get(V21 + "/servers", **headers)
    assert r.status_code == 200 and _announces_21(r)


@pytest.mark.parametrize("headers", [
    {"HTTP_X_OPENSTACK_NOVA_API_VERSION": "2.2"},
    {"HTTP_X_OPENSTACK_NOVA_API_VERSION": "2.0"},
    {"HTTP_OPENSTACK_API_VERSION": "compute 2.95"},
    {"HTTP_OPENSTACK_API_VERSION": "compute 3.0"},
])
def test_a_version_we_do_not_serve_is_406(world, headers):
    r = world.a.get(V21 + "/servers", **headers)
    assert r.status_code == 406 and _announces_21(r)
    fault = r.json()["computeFault"]
    assert fault["code"] == 406 and "Minimum is 2.1 and maximum is 2.1" in fault["message"]


@pytest.mark.parametrize("value", ["2", "two.one", "2.1.1", "2.01x", "\u00b2.1"])
def test_a_malformed_version_is_400(world, value):
    r = world.a.get(V21 + "/servers", HTTP_X_OPENSTACK_NOVA_API_VERSION=value)
    assert r.status_code == 400 and "invalid format" in r.json()["badRequest"]["message"]


def test_strict_bodies_by_default_and_snf_fields_on_request(world, fake_backend):
    sid = create_server(world.a, world, metadata={"SNF:mine": "kept"}).json()["server"]["id"]
    plain = validate(S.get_server, world.a.get(V21 + "/servers/%s" % sid))["server"]
    assert not [k for k in plain if k.startswith("SNF:")]
    assert plain["metadata"] == {"SNF:mine": "kept"}  # user data is never filtered
    full = world.a.get(V21 + "/servers/%s" % sid, **EXTENSIONS)
    assert "x-synnefo-extensions" in full["Vary"].lower()
    full = full.json()["server"]
    assert {"SNF:attachments", "SNF:suspended", "SNF:task_state"} <= set(full)
    assert {k: v for k, v in full.items() if not k.startswith("SNF:")} == plain
    validate(S.list_servers_detail, world.a.get(V21 + "/servers/detail"))
    assert "SNF:attachments" in world.a.get(V21 + "/servers/detail",
                                            **EXTENSIONS).json()["servers"][0]
    flavor = validate(F.list_flavors_details, world.a.get(V21 + "/flavors/detail"))
    assert "SNF:disk_template" not in flavor["flavors"][0]
    assert "SNF:disk_template" in world.a.get(V21 + "/flavors/detail",
                                              **EXTENSIONS).json()["flavors"][0]
    image = validate(I.get_image, world.a.get(V21 + "/images/%d" % world.image.id))["image"]
    assert "SNF:public" not in image
    assert world.a.get(V21 + "/images/%d" % world.image.id,
                       **EXTENSIONS).json()["image"]["SNF:public"] is True
    # extra specs are free-form keys: ours stay
    specs = world.a.get(V21 + "/flavors/%d/os-extra_specs" % world.small.id).json()
    assert specs == {"extra_specs": {"SNF:disk_template": "file"}}


def test_other_apis_are_not_filtered(world):
    r = world.a.get("/network/v2.0/networks")
    assert r.status_code == 200 and "OpenStack-API-Version" not in r
    assert all("SNF:type" in n for n in r.json()["networks"])
