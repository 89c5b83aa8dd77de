"""The API's edge rules (synnefo.api.validation): every class of client input that
once answered 500 now answers its 4xx fault, on every database.

Each case is one request of a class found by probing the live service (issue 10);
the fuzz suite (test_api_fuzz.py) searches for more against gunicorn.
"""

import base64
import json

import pytest
from support.api import create_server

from synnefo.api import validation
from synnefo.db.models import KeyPair, Network, VirtualMachine
from synnefo.logic.ids import MAX_ID, parse_id

pytestmark = pytest.mark.django_db

C = "/compute/v2.1/"
HUGE = "10000000000000000000000000"
DEEP = "[" * 50000 + "]" * 50000


def _fault(r, status):
    """The response is the fault ``status``, well-formed (one key, code and message)."""
    assert r.status_code == status, (r.status_code, r.content[:300])
    body = r.json()
    assert len(body) == 1, body
    (name, fault), = body.items()
    assert fault["code"] == status and isinstance(fault["message"], str), body
    assert "Traceback" not in r.content.decode()
    return name, fault


def test_parse_id_takes_ascii_decimal_within_the_column_range():
    assert parse_id("42") == 42 and parse_id(42) == 42 and parse_id(str(MAX_ID)) == MAX_ID
    for bad in ("²", "٣", "1_0", " 7", "7\n", "0", "-1", "+1", "1e25", HUGE, str(MAX_ID + 1),
                "", None, True, 1.0, 0, MAX_ID + 1, "４２"):
        assert parse_id(bad) is None, bad


def test_load_json_limits_depth_and_rejects_unstorable_strings():
    assert validation.load_json(b'{"a": [1, {"b": "\\ud83d\\ude00"}]}') == {"a": [1, {"b": "😀"}]}
    nested = b"[" * validation.MAX_JSON_DEPTH + b"]" * validation.MAX_JSON_DEPTH
    assert validation.load_json(nested) is not None
    for raw in (b"[" + nested + b"]", DEEP.encode(), b'{"a":' * 5000 + b"1" + b"}" * 5000,
                b'"\\ud800"', b'{"\\udfff": 1}', b'["a\\u0000b"]', b'[NaN]', b'[Infinity]',
                b'\xff', b"[1"):
        with pytest.raises(validation.faults.BadRequest):
            validation.load_json(raw)


@pytest.mark.parametrize("path", [
    "images/" + HUGE, "flavors/" + HUGE, "servers/" + HUGE, "images/%C2%B2",
    "servers/%C2%B2", "flavors/%C2%B2", "servers/{sid}/os-interface/%C2%B2",
    "servers/{sid}/os-interface/" + HUGE, "os-keypairs/%00", "servers/{sid}/metadata/%00",
    "/image/v2/images/" + HUGE, "/network/v2.0/networks/%C2%B2",
    "/network/v2.0/networks/" + HUGE, "/network/v2.0/subnets/%C2%B2-v4",
    "/network/v2.0/subnets/" + HUGE + "-v4", "/network/v2.0/ports/%C2%B2",
    "/network/v2.0/ports/" + HUGE,
])
def test_path_ids_that_cannot_exist_are_404(world, fake_backend, path):  # noqa: F811
    sid = create_server(world.a, world).json()["server"]["id"]
    path = path.format(sid=sid)
    _fault(world.a.get(path if path.startswith("/") else C + path), 404)


@pytest.mark.parametrize("query", [
    "servers?marker=" + HUGE, "images?marker=" + HUGE, "flavors?marker=" + HUGE,
    "/image/v2/images?marker=" + HUGE, "servers/detail?marker=%C2%B2",
    "flavors?minDisk=" + HUGE, "flavors?minRam=%C2%B2", "flavors/detail?minRam=-1",
    "servers/detail?image=%C2%B2", "servers/detail?flavor=" + HUGE, "servers?limit=%C2%B2",
    "/image/v2/images?owner=%C2%B2", "servers?name=%00", "images?name=a%00",
])
def test_numeric_and_nul_query_parameters_are_400(world, query):
    _fault(world.a.get(query if query.startswith("/") else C + query), 400)


def test_query_filters_still_take_ids_and_links(world, fake_backend):  # noqa: F811
    create_server(world.a, world)
    link = "http://h/compute/v2.1/images/%d" % world.image.id
    assert len(world.a.get(C + "servers?image=" + link).json()["servers"]) == 1
    assert world.a.get(C + "flavors?minRam=1024").json()["flavors"][0]["name"] == \
        "C2R1024D5file"


def _bodies(sid, net):
    server = {"name": "x", "imageRef": "1", "flavorRef": "1"}
    password = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "alice", "password": "secret-pw"}}}}}
    return [
        (C + "servers", {"server": dict(server, imageRef=int(HUGE))}, 400),
        (C + "servers", {"server": dict(server, flavorRef=int(HUGE))}, 400),
        (C + "servers", {"server": dict(server, flavorRef="1e25")}, 400),
        (C + "servers/%s/action" % sid, {"resize": {"flavorRef": int(HUGE)}}, 400),
        (C + "servers/%s/action" % sid, {"resize": {"flavorRef": "1e25"}}, 400),
        (C + "servers", {"server": dict(server, networks=[{"uuid": "²"}])}, 400),
        (C + "servers", {"server": dict(server, networks=[{"uuid": HUGE}])}, 400),
        ("/network/v2.0/ports", {"port": {"network_id": "²", "device_id": sid}}, 404),
        ("/network/v2.0/subnets", {"subnet": {"network_id": "²", "cidr": "10.0.0.0/24"}}, 404),
        ("/network/v2.0/subnets", {"subnet": {"network_id": str(net), "cidr": "10.0.0.0/24",
                                              "ip_version": "²"}}, 400),
        (C + "servers/%s/os-interface" % sid, {"interfaceAttachment": {"net_id": "²"}}, 400),
        ("/network/v2.0/ports", {"port": {"network_id": str(net), "device_id": HUGE}}, 404),
        ("/identity/v3/auth/tokens", json.loads(json.dumps(password).replace(
            '"name": "alice"', '"id": "1e25"')), 401),
        ("/identity/v3/auth/tokens", json.loads(json.dumps(password).replace(
            '"name": "alice"', '"id": %s' % HUGE)), 401),
    ]


def test_ids_in_bodies_out_of_range_or_not_ascii_are_4xx(world, fake_backend):  # noqa: F811
    sid = create_server(world.a, world).json()["server"]["id"]
    fake_backend.finish_all()
    net = Network.objects.create(name="p", owner=world.alice, state="ACTIVE").id
    for path, body, status in _bodies(sid, net):
        _fault(world.a.post(path, body), status)


@pytest.mark.parametrize("path,raw", [
    (C + "servers", '{"server": {"name": "\\ud800", "imageRef": "1", "flavorRef": "1"}}'),
    (C + "servers", '{"server": {"name": "a\\u0000b", "imageRef": "1", "flavorRef": "1"}}'),
    (C + "servers", '{"server": {"name": "a", "imageRef": "1", "flavorRef": "1", '
                    '"key_name": "\\u0000"}}'),
    (C + "servers/{sid}/metadata", '{"metadata": {"\\ud800": "v"}}'),
    (C + "servers/{sid}/metadata", '{"metadata": {"k": "\\udc00"}}'),
    (C + "servers/{sid}/metadata", '{"metadata": {"k": "\\u0000"}}'),
    ("/network/v2.0/networks", '{"network": {"name": "\\ud800"}}'),
    ("/identity/v3/auth/tokens", '{"auth": {"identity": {"methods": ["password"], "password": '
                                 '{"user": {"name": "alice", "password": "\\ud800"}}}}}'),
    ("/identity/v3/auth/tokens", '{"auth": {"identity": {"methods": ["token"], '
                                 '"token": {"id": "\\ud800"}}}}'),
    ("/identity/v2.0/tokens", '{"auth": {"token": {"id": "\\ud800"}}}'),
    ("/identity/v2.0/tokens", '{"auth": {"passwordCredentials": {"username": "alice", '
                              '"password": "\\ud800"}}}'),
    (C + "servers", DEEP), ("/identity/v3/auth/tokens", DEEP),
    ("/identity/v3/auth/tokens", '{"a":' * 50000 + '1' + '}' * 50000),
])
def test_unstorable_strings_and_deep_json_are_400(world, fake_backend, path, raw):  # noqa: F811
    sid = create_server(world.a, world).json()["server"]["id"]
    name, _ = _fault(world.a.post(path.format(sid=sid), raw=raw), 400)
    assert name == ("error" if path.startswith("/identity") else "badRequest")


def test_unstorable_strings_in_put_are_400(world, fake_backend):  # noqa: F811
    sid = create_server(world.a, world).json()["server"]["id"]
    _fault(world.a.put(C + "servers/%s" % sid, raw='{"server": {"name": "\\ud800"}}'), 400)


@pytest.mark.parametrize("path,size", [
    (C + "servers/1/action", 3 * 1024 * 1024), (C + "servers", 10 * 1024 * 1024),
    ("/identity/v3/auth/tokens", 10 * 1024 * 1024),
])
def test_bodies_over_the_limit_are_413_overlimit(world, path, size):
    name, fault = _fault(world.a.post(path, raw="x" * size), 413)
    assert name == ("error" if path.startswith("/identity") else "overLimit")


def test_image_create_is_405_not_501(world):
    r = world.a.post(C + "images", {"image": {"name": "x"}})
    assert _fault(r, 405)[0] == "badMethod" and r["Allow"] == "GET"


def test_too_many_query_parameters_are_a_400_fault(world):
    _fault(world.a.get(C + "servers?" + "&".join("a%d=1" % i for i in range(1100))), 400)


@pytest.mark.parametrize("path", ["/compute/v2.1/no-such/1%0A", "/compute/v2.1/servers%0A",
                                  "/network/v2.0/a%0Ab", "/identity/v3/x%0D%0Ay"])
def test_unknown_paths_with_line_breaks_are_404_faults(world, path):
    _fault(world.a.get(path), 404)


# -- names and metadata limits (issue 10, item 5) ----------------------------------------

CONTROLS = ["a\x1bb", "a\rb", "a\nb", "name\n", "a\x00b", "a\tb", "a\x7fb", "a\x9bb"]


@pytest.mark.parametrize("bad", CONTROLS)
def test_control_characters_in_names_and_metadata_are_400(world, fake_backend, bad):  # noqa: F811
    sid = create_server(world.a, world).json()["server"]["id"]
    net = world.a.post("/network/v2.0/networks", {"network": {"name": "ok"}}).json()["network"]
    requests = [
        ("post", C + "servers", {"server": {"name": bad, "imageRef": str(world.image.id),
                                            "flavorRef": str(world.small.id)}}),
        ("put", C + "servers/%s" % sid, {"server": {"name": bad}}),
        ("post", C + "servers/%s/metadata" % sid, {"metadata": {bad: "v"}}),
        ("post", C + "servers/%s/metadata" % sid, {"metadata": {"k": bad}}),
        ("put", C + "servers/%s/metadata" % sid, {"metadata": {"k": bad}}),
        ("post", C + "images/%d/metadata" % world.private.id, {"metadata": {bad: "v"}}),
        ("post", C + "os-keypairs", {"keypair": {"name": bad}}),
        ("post", "/network/v2.0/networks", {"network": {"name": bad}}),
        ("put", "/network/v2.0/networks/%s" % net["id"], {"network": {"name": bad}}),
    ]
    for method, path, body in requests:
        r = getattr(world.a, method)(path, body)
        assert _fault(r, 400)[0] == "badRequest", (method, path, body)
    assert not KeyPair.objects.filter(owner=world.alice).exists()


def test_keypair_name_with_a_trailing_newline_is_refused(world):
    r = world.a.post(C + "os-keypairs", {"keypair": {"name": "mykey\n"}})
    assert _fault(r, 400)[0] == "badRequest"
    assert world.a.post(C + "os-keypairs", {"keypair": {"name": "my key_1.a@b-c"}}).status_code \
        == 200


@pytest.mark.parametrize("kind", ["server", "image"])
def test_metadata_limit_counts_what_is_stored(world, fake_backend, kind, settings):  # noqa: F811
    """Three POSTs of 32 new keys: the first is stored, the others are 413 and store
    nothing (Nova's answer); PUT replaces, so 32 new keys fit again."""
    settings.MAX_METADATA_ITEMS = 32
    if kind == "server":
        base = C + "servers/%s/metadata" % create_server(world.a, world).json()["server"]["id"]
    else:
        base = C + "images/%d/metadata" % world.private.id
    for batch in range(3):
        r = world.a.post(base, {"metadata": {"k%d-%d" % (batch, i): "v" for i in range(32)}})
        if batch == 0:
            assert r.status_code == 200 and len(r.json()["metadata"]) == 32
        else:
            name, fault = _fault(r, 413)
            assert name == "overLimit" and "32" in fault["message"]
    assert len(world.a.get(base).json()["metadata"]) == 32
    # an existing key is updated, not counted again; one new key more is too many
    assert world.a.post(base, {"metadata": {"k0-0": "new"}}).status_code == 200
    _fault(world.a.put(base + "/extra", {"meta": {"extra": "v"}}), 413)
    r = world.a.put(base, {"metadata": {"n%d" % i: "v" for i in range(32)}})
    assert r.status_code == 200 and sorted(r.json()["metadata"])[0] == "n0"
    _fault(world.a.put(base, {"metadata": {"n%d" % i: "v" for i in range(33)}}), 413)


# -- no silent drops (issue 10, item 7) ---------------------------------------------------

def test_user_data_is_checked_stored_and_handed_to_the_image(world, fake_backend):  # noqa: F811
    from synnefo.backend.instances import build_create_spec
    r = create_server(world.a, world, user_data="!!")
    assert "user_data" in _fault(r, 400)[1]["message"]
    _fault(create_server(world.a, world, user_data=["aGk="]), 400)
    _fault(create_server(world.a, world, user_data="a" * 65536), 400)
    assert not VirtualMachine.objects.exists()  # nothing was created by the refusals
    script = base64.b64encode(b"#cloud-config\nhostname: web\n" * 10).decode()
    wrapped = "\n".join(script[i:i + 76] for i in range(0, len(script), 76))
    r = create_server(world.a, world, user_data=wrapped)
    assert r.status_code == 202, r.content
    vm = VirtualMachine.objects.get(pk=int(r.json()["server"]["id"]))
    assert vm.user_data == script
    assert fake_backend.calls[-1][0] == "create"
    vm.backend = fake_backend.backend
    assert build_create_spec(vm, "pw")["osparams"]["img_user_data"] == script
    plain = VirtualMachine.objects.get(pk=int(create_server(world.a, world).json()
                                               ["server"]["id"]))
    assert plain.user_data == ""
    plain.backend = fake_backend.backend
    assert "img_user_data" not in build_create_spec(plain, "pw")["osparams"]


@pytest.mark.parametrize("extra,named", [
    ({"availability_zone": "az-2"}, "'nova'"),
    ({"config_drive": True}, "config drive"),
    ({"security_groups": [{"name": "web"}]}, "'default'"),
    ({"block_device_mapping_v2": [{"boot_index": 0}]}, "image's disk"),
    ({"scheduler_hints": {}}, "Supported: name, imageRef"),
    ({"descriptoin": "typo"}, "Supported: name, imageRef"),
])
def test_unsupported_fields_are_400_naming_what_is(world, fake_backend, extra,  # noqa: F811
                                                    named):
    message = _fault(create_server(world.a, world, **extra), 400)[1]["message"]
    assert named in message, message
    assert not VirtualMachine.objects.exists()


def test_nova_defaults_are_accepted(world, fake_backend):  # noqa: F811
    r = create_server(world.a, world, availability_zone="nova", config_drive=False,
                      security_groups=[{"name": "default"}], block_device_mapping_v2=[],
                      **{"OS-DCF:diskConfig": "AUTO"})
    assert r.status_code == 202, r.content


def test_unsupported_keypair_fields_are_400(world):
    r = world.a.post(C + "os-keypairs", {"keypair": {"name": "k", "user_id": "7"}})
    assert "Supported: name, public_key, type" in _fault(r, 400)[1]["message"]
