"""Flavors, images (compute and Glance v2), keypairs, limits, extensions; faults and
headers; cross-user isolation on every endpoint; fuzzing of request bodies."""

import json

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from support.api import EXTENSIONS, create_server
from support.schemas import flavors as F
from support.schemas import images as I
from support.schemas import keypairs as K
from support.schemas import limits as L
from support.schemas import validate

from synnefo.db.models import Image, KeyPair

pytestmark = pytest.mark.django_db

PUBKEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIcmwGmWq6Gbs8KyHO2LFYJkrMCeoM8yr3Sj7CH0Bpnd "
          "test@example")


def test_flavors(world):
    body = validate(F.list_flavors, world.a.get("/compute/v2.1/flavors"))
    assert [f["name"] for f in body["flavors"]] == ["C1R512D5file", "C2R1024D5file",
                                                    "C4R4096D20file"]
    body = validate(F.list_flavors_details, world.a.get("/compute/v2.1/flavors/detail"))
    assert body["flavors"][0]["vcpus"] == 1 and body["flavors"][0]["ram"] == 512
    world.huge.deleted = True
    world.huge.save()
    assert len(world.a.get("/compute/v2.1/flavors").json()["flavors"]) == 2
    r = world.a.get("/compute/v2.1/flavors/%d" % world.huge.id)
    assert validate(F.create_update_get_flavor_details, r)["flavor"]["OS-FLV-DISABLED:disabled"]
    assert world.a.get("/compute/v2.1/flavors/999").status_code == 404
    assert world.a.get("/compute/v2.1/flavors/abc").status_code == 404


def test_images_compute_and_glance(world):
    body = validate(I.list_images, world.a.get("/compute/v2.1/images"))
    assert {i["name"] for i in body["images"]} == {"debian", "alice-own"}
    assert {i["name"] for i in world.b.get("/compute/v2.1/images").json()["images"]} == \
        {"debian"}
    body = validate(I.list_images_details, world.a.get("/compute/v2.1/images/detail"))
    r = world.a.get("/compute/v2.1/images/%d" % world.image.id)
    assert validate(I.get_image, r)["image"]["status"] == "ACTIVE"
    glance = world.a.get("/image/v2/images").json()
    assert {i["name"] for i in glance["images"]} == {"debian", "alice-own"}
    assert world.a.get("/image/v2/images?name=debian").json()["images"][0]["visibility"] == \
        "public"
    assert world.a.get("/image/v2/images/%d" % world.image.id).json()["status"] == "active"
    assert world.b.get("/image/v2/images/%d" % world.private.id).status_code == 404
    assert world.a.get("/image/v2/images/debian").status_code == 404


def test_image_writes_owner_only(world):
    url = "/compute/v2.1/images/%d" % world.image.id
    # a public system image: users may read, not change or delete it
    assert world.a.post(url + "/metadata", {"metadata": {"x": "y"}}).status_code == 403
    assert world.a.delete(url).status_code == 403
    own = "/compute/v2.1/images/%d" % world.private.id
    assert world.a.put(own + "/metadata", {"metadata": {"OS": "deb"}}).json() == \
        {"metadata": {"OS": "deb"}}
    assert world.a.get(own + "/metadata/OS").json() == {"meta": {"OS": "deb"}}
    assert world.a.put(own + "/metadata/k", {"meta": {"k": "v"}}).status_code == 200
    assert world.a.delete(own + "/metadata/k").status_code == 204
    assert world.b.delete(own).status_code == 404
    assert world.a.delete(own).status_code == 204
    assert Image.objects.get(pk=world.private.id).state == "DELETED"
    assert world.a.get(own).status_code == 404
    assert world.r.delete(url).status_code == 204  # admins may


def test_keypairs(world):
    r = world.a.post("/compute/v2.1/os-keypairs", {"keypair": {"name": "gen"}})
    body = validate(K.create_keypair, r)["keypair"]
    assert body["private_key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    r = world.a.post("/compute/v2.1/os-keypairs", {"keypair": {"name": "imp",
                                                               "public_key": PUBKEY}})
    body = validate(K.create_keypair, r)["keypair"]
    assert "private_key" not in body and body["fingerprint"].count(":") == 15
    assert world.a.post("/compute/v2.1/os-keypairs", {"keypair": {
        "name": "imp", "public_key": PUBKEY}}).status_code == 409
    assert world.a.post("/compute/v2.1/os-keypairs", {"keypair": {
        "name": "bad", "public_key": "ssh-rsa notakey"}}).status_code == 400
    assert world.a.post("/compute/v2.1/os-keypairs", {"keypair": {
        "name": "a/b"}}).status_code == 400
    body = validate(K.list_keypairs, world.a.get("/compute/v2.1/os-keypairs"))
    assert [k["keypair"]["name"] for k in body["keypairs"]] == ["gen", "imp"]
    validate(K.get_keypair, world.a.get("/compute/v2.1/os-keypairs/imp"))
    assert world.b.get("/compute/v2.1/os-keypairs/imp").status_code == 404
    assert world.b.delete("/compute/v2.1/os-keypairs/imp").status_code == 404
    assert world.a.delete("/compute/v2.1/os-keypairs/imp").status_code == 202
    assert KeyPair.objects.filter(owner=world.alice).count() == 1


def test_limits_and_extensions(world, fake_backend):
    create_server(world.a, world)
    body = validate(L.get_limit, world.a.get("/compute/v2.1/limits"))["limits"]["absolute"]
    assert body["totalInstancesUsed"] == 1 and body["totalCoresUsed"] == 1
    assert body["maxTotalInstances"] == 3 and "SNF:totalDiskUsed" not in body
    body = world.a.get("/compute/v2.1/limits", **EXTENSIONS).json()["limits"]["absolute"]
    assert body["SNF:totalDiskUsed"] == 5 and body["maxTotalInstances"] == 3
    assert world.b.get("/compute/v2.1/limits").json()["limits"]["absolute"][
        "totalInstancesUsed"] == 0
    exts = world.a.get("/compute/v2.1/extensions").json()["extensions"]
    assert "os-keypairs" in {e["alias"] for e in exts}


def test_faults_headers_404_405(world, monkeypatch):
    r = world.a.get("/compute/v2.1/nothing/here")
    assert r.status_code == 404 and r.json()["itemNotFound"]["code"] == 404
    r = world.a.delete("/compute/v2.1/flavors")
    assert r.status_code == 405 and r["Allow"] == "GET"
    assert set(r.json()["badMethod"]) == {"code", "message", "details"}
    r = world.a.get("/compute/v2.1/servers")
    assert "no-cache" in r["Cache-Control"] and "no-store" in r["Cache-Control"]
    assert "X-Auth-Token" in r["Vary"] and r["X-Openstack-Request-Id"].startswith("req-")

    def boom(*args, **kwargs):
        raise RuntimeError("secret internal detail /etc/synnefo")
    monkeypatch.setattr("synnefo.logic.flavors.list_flavors", boom)
    r = world.a.get("/compute/v2.1/flavors")
    assert r.status_code == 500
    text = r.content.decode()
    assert "secret internal" not in text and "Traceback" not in text
    assert r["X-Openstack-Request-Id"] in r.json()["computeFault"]["message"]


ISOLATION = [
    ("get", "/compute/v2.1/servers/{s}"), ("put", "/compute/v2.1/servers/{s}"),
    ("delete", "/compute/v2.1/servers/{s}"), ("post", "/compute/v2.1/servers/{s}/action"),
    ("get", "/compute/v2.1/servers/{s}/metadata"), ("post", "/compute/v2.1/servers/{s}/metadata"),
    ("put", "/compute/v2.1/servers/{s}/metadata"), ("get", "/compute/v2.1/servers/{s}/metadata/k"),
    ("put", "/compute/v2.1/servers/{s}/metadata/k"),
    ("delete", "/compute/v2.1/servers/{s}/metadata/k"), ("get", "/compute/v2.1/servers/{s}/ips"),
    ("get", "/compute/v2.1/servers/{s}/ips/public"), ("get", "/compute/v2.1/images/{i}"),
    ("delete", "/compute/v2.1/images/{i}"), ("get", "/compute/v2.1/images/{i}/metadata"),
    ("post", "/compute/v2.1/images/{i}/metadata"), ("get", "/compute/v2.1/images/{i}/metadata/k"),
    ("get", "/image/v2/images/{i}"), ("delete", "/image/v2/images/{i}"),
    ("get", "/compute/v2.1/os-keypairs/kp"), ("delete", "/compute/v2.1/os-keypairs/kp"),
]
BODIES = {"put": {"server": {"name": "x"}, "metadata": {"k": "v"}, "meta": {"k": "v"}},
          "post": {"reboot": {"type": "SOFT"}, "metadata": {"k": "v"}}}


def test_cross_user_isolation_on_every_endpoint(world, fake_backend):
    sid = create_server(world.a, world, metadata={"k": "v"}).json()["server"]["id"]
    fake_backend.finish_all()
    world.a.post("/compute/v2.1/os-keypairs", {"keypair": {"name": "kp", "public_key": PUBKEY}})
    world.private.metadata.create(meta_key="k", meta_value="v")
    for method, template in ISOLATION:
        url = template.format(s=sid, i=world.private.id)
        body = BODIES.get(method)
        if method == "put" and "/metadata/" in url:
            body = {"meta": {"k": "v"}}
        elif method == "put" and url.endswith("/metadata"):
            body = {"metadata": {"k": "v"}}
        elif method == "post" and url.endswith("/metadata"):
            body = {"metadata": {"k": "v"}}
        elif method == "post":
            body = {"reboot": {"type": "SOFT"}}
        elif method == "put":
            body = {"server": {"name": "x"}}
        call = getattr(world.b, method)
        r = call(url, body) if body is not None else call(url)
        assert r.status_code == 404, (method, url, r.status_code, r.content)
        # without a token: 401 everywhere
        anon = getattr(world.anon, method)
        r = anon(url, body) if body is not None else anon(url)
        assert r.status_code == 401, (method, url)
    # lists hide the others' items
    assert world.b.get("/compute/v2.1/servers/detail").json()["servers"] == []
    assert world.b.get("/compute/v2.1/os-keypairs").json()["keypairs"] == []
    # the admin sees them
    assert world.r.get("/compute/v2.1/servers/%s" % sid).status_code == 200
    assert [s["id"] for s in world.r.get("/compute/v2.1/servers").json()["servers"]] == [sid]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10),
                                                                      children, max_size=4),
    max_leaves=12)
server_like = st.fixed_dictionaries({}, optional={
    "name": json_values, "imageRef": json_values | st.just("1"),
    "flavorRef": json_values | st.just("1"), "metadata": json_values,
    "personality": json_values, "key_name": json_values, "networks": json_values,
    "min_count": json_values, "adminPass": json_values})


@hsettings(max_examples=150, deadline=None, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=st.one_of(json_values, st.fixed_dictionaries({"server": server_like}),
                      st.text(max_size=30)))
def test_fuzz_server_create_never_500(world, fake_backend, body):
    raw = body if isinstance(body, str) else json.dumps(body)
    r = world.a.post("/compute/v2.1/servers", raw=raw)
    assert r.status_code < 500, r.content
    assert r.status_code in (202, 400, 413)


@hsettings(max_examples=150, deadline=None, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(action=st.sampled_from(["reboot", "os-start", "os-stop", "start", "shutdown", "resize",
                               "console", "os-getVNCConsole", "firewallProfile", "confirmResize",
                               "x"]),
       args=json_values, extra=st.booleans())
def test_fuzz_actions_never_500(world, fake_backend, action, args, extra):
    if not hasattr(world, "sid"):
        world.sid = create_server(world.a, world).json()["server"]["id"]
        fake_backend.finish_all()
    body = {action: args}
    if extra:
        body["other"] = None
    r = world.a.post("/compute/v2.1/servers/%s/action" % world.sid, body)
    assert r.status_code < 500 or r.status_code == 503, r.content
    fake_backend.finish_all()


@hsettings(max_examples=100, deadline=None, database=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=json_values, path=st.sampled_from([
    "/identity/v3/auth/tokens", "/identity/v2.0/tokens", "/compute/v2.1/os-keypairs"]))
def test_fuzz_identity_and_keypairs_never_500(world, body, path):
    r = world.a.post(path, body)
    assert r.status_code < 500, r.content
