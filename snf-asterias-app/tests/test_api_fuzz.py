"""Fuzzing the live API: no client input may answer 5xx or an error that is not a fault.

The web project runs under gunicorn (as in test_api_clients.py, Ganeti simulated by
support/fake_ganeti_wsgi.py) on its own PostgreSQL database. Hypothesis builds requests for
every endpoint family -- compute, identity v3 and v2.0, image v2, network v2.0: valid
bodies with leaves replaced by hostile values (huge integers, Unicode digits, lone
surrogates, NUL and other control characters, wrong types, long strings), random
JSON, raw bytes, JSON nested far too deep, hostile path ids and query parameters, odd
methods and content types; then bodies over the size limit. Every answer must be
below 500, and every 4xx a well-formed fault: ``{"<name>": {"code": <status>,
"message": ...}}`` (Keystone's ``{"error": {...}}`` on /identity).

Each generated request is sent twice, without a valid token (none or a wrong one) and
with one. Requests go over a keep-alive connection (http.client); the total is
printed and must reach MIN_REQUESTS.

Developers' runs explore new examples each time. Under CI (CI set in the environment)
the examples are derandomized: the run that gates a landing sends the same 20,000
requests every time, so it fails on a change of the code, never on the draw.
"""

import base64
import collections
import http.client
import json
import os
from urllib.parse import quote, urlencode

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from support.cluster import env
from support.live import Gunicorn, live_settings, snf_manage, wait_for
from support.postgres import drop_database, pg

pytestmark = pytest.mark.integration

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "fuzz-pass-1"
MIN_REQUESTS = 20000
# Examples per family, each sent twice (without a valid token, then with one): their
# sum is at least MIN_REQUESTS / 2.
EXAMPLES = {"compute": 4500, "network": 2500, "identity": 2000, "image": 1500}
SENT = collections.Counter()      # (family, token kind) -> requests
STATUSES = collections.Counter()  # status class -> requests
DB_NAME = "test_fuzz_%d" % os.getpid()
PUBKEY = ("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIcmwGmWq6Gbs8KyHO2LFYJkrMCeoM8yr3Sj7CH0Bpnd "
          "fuzz@example")


class Client:
    """One keep-alive connection; reconnects when the server closed it."""

    def __init__(self, port):
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method, path, body=None, headers=None):
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                response = self.conn.getresponse()
                return response.status, response.getheaders(), response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt == 2:
                    raise


class Deployment:
    pass


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-fuzz")
    drop_database(DB_NAME)
    pg("CREATE DATABASE %s" % DB_NAME)
    database = {"ENGINE": "django.db.backends.postgresql", "NAME": DB_NAME,
                "HOST": env("SNF_TEST_PG_HOST"), "PORT": env("SNF_TEST_PG_PORT"),
                "USER": env("SNF_TEST_PG_USER"), "PASSWORD": env("SNF_TEST_PG_PASSWORD"),
                # a connection per gunicorn thread, not per request: 5x the request rate
                "CONN_MAX_AGE": 600}
    environ = live_settings(
        tmp, DATABASES={"default": database}, BACKEND_PREFIX_ID="snffuzz-",
        GANETI_CLUSTER_INFO=("fake.ganeti.test", 5080, "u", "p"), MAX_KEYPAIRS_PER_USER=5,
        IMAGE_STORE_DIR=str(tmp / "images"), QUOTA_MAX_IMAGE_SPACE=2,
        # A fast hash: the suite sends thousands of logins, pbkdf2 is not under test here.
        PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    environ["SNF_FAKE_GANETI_DELAY"] = "0.1"
    d = Deployment()
    try:
        def manage(*args, stdin=None):
            return snf_manage(environ, *args, stdin=stdin)
        manage("migrate", "-v0")
        manage("user-create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
        manage("flavor-create", "1,2", "512,1024", "5")
        manage("image-register", "debian-12", "debian-12-diskdump", "--public", "--meta",
               "OS=debian")
        manage("shell", "-c", "from synnefo.db.models import Network; Network.objects.create("
               "name='public', public=True, state='ACTIVE', type='PUBLIC_ROUTED', link='br0')")
        d.token = manage("token-create", "alice").strip()
        d.gunicorn = Gunicorn("support.fake_ganeti_wsgi:application", environ,
                              str(tmp / "gunicorn.log"), pythonpath=HERE)
        d.client = Client(d.gunicorn.port)
        _seed(d, manage)
        yield d
        d.client.conn.close()  # else gunicorn's graceful stop waits for the idle keep-alive
        d.gunicorn.stop()
    finally:
        drop_database(DB_NAME)


def _call(d, method, path, body=None, token=True):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Auth-Token"] = d.token
    status, _, data = d.client.request(method, path, json.dumps(body) if body else None,
                                       headers)
    assert status < 300, (method, path, status, data)
    return json.loads(data) if data else None


def _seed(d, manage):
    """Items for the paths to name: a server with metadata and a port, a private network
    with a subnet, a key pair (ids recorded in ``d.ids``)."""
    c = "/compute/v2.1/"
    image = _call(d, "GET", c + "images")["images"][0]["id"]
    flavors = [f["id"] for f in _call(d, "GET", c + "flavors")["flavors"]]
    net = _call(d, "POST", "/network/v2.0/networks", {"network": {"name": "fz"}})["network"]
    _call(d, "POST", "/network/v2.0/subnets",
          {"subnet": {"network_id": net["id"], "cidr": "10.77.0.0/24", "ip_version": 4}})
    # what the dispatcher would record once Ganeti created the network
    manage("shell", "-c", "from synnefo.db.models import BackendNetwork, Network; "
           "Network.objects.filter(pk=%s).update(state='ACTIVE'); "
           "BackendNetwork.objects.update(operstate='ACTIVE')" % net["id"])
    server = _call(d, "POST", c + "servers", {"server": {
        "name": "fz", "imageRef": image, "flavorRef": flavors[0], "metadata": {"k1": "v1"},
        "networks": "none"}})["server"]["id"]
    wait_for("the seeded server to become ACTIVE", lambda: _call(
        d, "GET", c + "servers/%s" % server)["server"]["status"] == "ACTIVE", interval=0.1)
    port = _call(d, "POST", "/network/v2.0/ports",
                 {"port": {"network_id": net["id"], "device_id": server}})["port"]["id"]
    _call(d, "POST", c + "os-keypairs", {"keypair": {"name": "kp1", "public_key": PUBKEY}})
    # an image of alice's with data, and the signed link a node would fetch it through
    own = _call(d, "POST", "/image/v2/images", {"name": "own", "disk_format": "raw",
                                                "container_format": "bare"})["id"]
    status, _, body = d.client.request("PUT", "/image/v2/images/%s/file" % own, b"data" * 100,
                                       {"X-Auth-Token": d.token,
                                        "Content-Type": "application/octet-stream"})
    assert status == 204, body
    link = manage("shell", "-c", "from synnefo.db.models import Image; from synnefo.logic "
                  "import image_links as l; print(l.make_link(Image.objects.get(pk=%s)))" % own)
    _, expires, signature = link.strip().rsplit("/", 2)
    d.ids = {"server": server, "image": image, "flavor": flavors[0], "flavor2": flavors[-1],
             "network": net["id"], "subnet": net["id"] + "-v4", "port": port, "key": "k1",
             "keypair": "kp1", "netname": "fz", "alias": "x", "own": own, "expires": expires,
             "signature": signature}
    SEEDED.update(str(v) for v in d.ids.values())


# -- hostile values ------------------------------------------------------------------------

UNICODE_DIGITS = "²³¹٣۴५൬๓０１𝟘𝟙"
CONTROL = "".join(chr(c) for c in range(32)) + "\x7f\x85\u2028"
ids = st.one_of(
    st.integers(-5, 40).map(str),
    st.integers(-2 ** 80, 2 ** 80).map(str),
    st.sampled_from(["0", "-1", "1e25", "1.5", "0x10", " 1", "1\n", "+1", "1_0", "", "null",
                     "10000000000000000000000000", "2147483648", "9223372036854775808",
                     "1-v4", "1-v6", "²-v4", "%s" % ("9" * 500)]),
    st.text(UNICODE_DIGITS, min_size=1, max_size=4),
    st.text(min_size=1, max_size=20),
)
nasty_text = st.one_of(
    st.text(max_size=40),
    st.text(CONTROL, min_size=1, max_size=5),
    st.sampled_from(["\ud800", "\udfff", "a\udc80b", "\x00", "name\n", "\x1b[31mred",
                     "\u202etxet", "😀", "a" * 256, "a" * 5000, "!!", "nova", "ACTIVE"]),
    ids,
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(-2 ** 100, 2 ** 100),
    st.floats(allow_nan=False, allow_infinity=False), nasty_text)
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(nasty_text, inner, max_size=4)),
    max_leaves=12)


one_in_20 = st.integers(0, 19)


def _mutate(data, value):
    """``value`` with some of its leaves replaced, keys dropped or hostile keys added."""
    roll = data.draw(one_in_20)
    if roll == 0:
        return data.draw(json_values)
    if roll == 1:
        return data.draw(scalars)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if data.draw(one_in_20) == 0:
                continue
            out[key] = _mutate(data, item)
        if data.draw(one_in_20) < 2:
            out[data.draw(nasty_text)] = data.draw(json_values)
        return out
    if isinstance(value, list):
        return [_mutate(data, item) for item in value]
    return value


# -- the endpoints -------------------------------------------------------------------------

C = "/compute/v2.1/"
SERVER_CREATE = {"server": {
    "name": "fz2", "imageRef": "{image}", "flavorRef": "{flavor}", "metadata": {"a": "b"},
    "networks": [{"uuid": "{network}"}], "key_name": "kp1", "adminPass": "pw-123",
    "user_data": base64.b64encode(b"#!/bin/sh\n").decode(), "availability_zone": "nova",
    "personality": [{"path": "/etc/motd", "contents": "aGk="}], "min_count": 1}}
# No valid console request: this deployment has no console proxy, and a console that
# cannot be reached is rightly a 503 (hostile console bodies still come from mutations).
ACTIONS = [{"reboot": {"type": "SOFT"}}, {"os-start": None}, {"os-stop": None},
           {"resize": {"flavorRef": "{flavor2}"}}, {"confirmResize": None},
           {"os-getVNCConsole": {"type": "rdp"}}, {"console": {"type": "spice"}},
           {"firewallProfile": {"profile": "ENABLED"}}]
V3_PASSWORD = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
    "name": "alice", "password": PASSWORD, "domain": {"name": "Default"}}}},
    "scope": {"project": {"name": "alice", "domain": {"name": "Default"}}}}}
V3_TOKEN = {"auth": {"identity": {"methods": ["token"], "token": {"id": "{token}"}}}}
V2_PASSWORD = {"auth": {"passwordCredentials": {"username": "alice", "password": PASSWORD},
                        "tenantName": "alice"}}
V2_TOKEN = {"auth": {"token": {"id": "{token}"}}}

IMAGE_CREATE = {"name": "up", "disk_format": "raw", "container_format": "bare",
                "min_disk": 1, "visibility": "private", "OSFAMILY": "linux",
                "owner_specified.openstack.sha256": ""}
IMAGE_PATCHES = [[{"op": "replace", "path": "/name", "value": "n"},
                  {"op": "add", "path": "/k", "value": "v"}],
                 [{"op": "remove", "path": "/OSFAMILY"}]]

# family -> [(methods, path, valid bodies)]; "{x}" names an item of _seed's.
ENDPOINTS = {
    "compute": [
        (["GET"], "/compute/", []), (["GET"], "/compute/v2.1/", []), (["GET"], "/compute/v2/", []),
        (["GET", "POST"], C + "servers", [SERVER_CREATE]), (["GET"], C + "servers/detail", []),
        (["GET", "PUT", "DELETE"], C + "servers/{server}", [{"server": {"name": "fz3"}}]),
        (["POST"], C + "servers/{server}/action", ACTIONS),
        (["GET", "POST", "PUT"], C + "servers/{server}/metadata", [{"metadata": {"k1": "v"}}]),
        (["GET", "PUT", "DELETE"], C + "servers/{server}/metadata/{key}",
         [{"meta": {"k1": "v2"}}]),
        (["GET"], C + "servers/{server}/ips", []),
        (["GET"], C + "servers/{server}/ips/{netname}", []),
        (["GET", "POST"], C + "servers/{server}/os-interface",
         [{"interfaceAttachment": {"net_id": "{network}"}}]),
        (["GET", "DELETE"], C + "servers/{server}/os-interface/{port}", []),
        (["GET"], C + "flavors", []), (["GET"], C + "flavors/detail", []),
        (["GET"], C + "flavors/{flavor}", []),
        (["GET"], C + "flavors/{flavor}/os-extra_specs", []),
        (["GET", "POST"], C + "images", [{"image": {"name": "x"}}]),
        (["GET"], C + "images/detail", []),
        (["GET", "DELETE"], C + "images/{image}", []),
        (["GET", "POST", "PUT"], C + "images/{image}/metadata", [{"metadata": {"k": "v"}}]),
        (["GET", "PUT", "DELETE"], C + "images/{image}/metadata/{key}", [{"meta": {"k1": "v"}}]),
        (["GET", "POST"], C + "os-keypairs", [{"keypair": {"name": "kp2", "public_key": PUBKEY}},
                                              {"keypair": {"name": "kp3", "type": "ssh"}}]),
        (["GET", "DELETE"], C + "os-keypairs/{keypair}", []),
        (["GET"], C + "limits", []), (["GET"], C + "extensions", []),
        (["GET"], C + "no-such-thing/{server}", []),
    ],
    "identity": [
        (["GET"], "/identity/", []), (["GET"], "/identity/v3/", []),
        (["GET"], "/identity/v2.0/", []),
        (["POST", "GET", "DELETE"], "/identity/v3/auth/tokens", [V3_PASSWORD, V3_TOKEN]),
        (["POST"], "/identity/v2.0/tokens", [V2_PASSWORD, V2_TOKEN]),
    ],
    "image": [
        (["GET"], "/image/", []), (["GET"], "/image/versions", []),
        (["GET", "POST"], "/image/v2/images", [IMAGE_CREATE]),
        (["GET", "PATCH", "DELETE"], "/image/v2/images/{image}", IMAGE_PATCHES),
        (["GET", "PATCH", "DELETE"], "/image/v2/images/{own}", IMAGE_PATCHES),
        (["GET", "PUT"], "/image/v2/images/{image}/file", []),
        (["GET", "PUT"], "/image/v2/images/{own}/file", []),
        (["GET"], "/image/v2/schemas/image", []), (["GET"], "/image/v2/schemas/images", []),
        (["GET"], "/image/node/{own}/{expires}/{signature}", []),
    ],
    "network": [
        (["GET"], "/network/", []), (["GET"], "/network/v2.0/", []),
        (["GET"], "/network/v2.0/extensions", []),
        (["GET"], "/network/v2.0/extensions/{alias}", []),
        (["GET", "POST"], "/network/v2.0/networks", [{"network": {"name": "n",
                                                                  "admin_state_up": True}}]),
        (["GET", "PUT", "DELETE"], "/network/v2.0/networks/{network}",
         [{"network": {"name": "n2"}}]),
        (["GET", "POST"], "/network/v2.0/subnets", [{"subnet": {
            "network_id": "{network}", "ip_version": 4, "cidr": "10.78.0.0/24",
            "gateway_ip": "10.78.0.1", "enable_dhcp": True, "name": "s"}}]),
        (["GET", "PUT", "DELETE"], "/network/v2.0/subnets/{subnet}", [{"subnet": {"name": "s"}}]),
        (["GET", "POST"], "/network/v2.0/ports", [{"port": {
            "network_id": "{network}", "device_id": "{server}", "name": "p"}}]),
        (["GET", "PUT", "DELETE"], "/network/v2.0/ports/{port}", [{"port": {"name": "p"}}]),
    ],
}
QUERY_KEYS = ["limit", "marker", "minRam", "minDisk", "image", "flavor", "name", "status",
              "changes-since", "owner", "visibility", "id", "network_id", "device_id",
              "ip_version", "nocatalog", "shared", "fields", "sort_key", "tenant_id"]
METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"]
CONTENT_TYPES = ["application/json", "application/json", "application/json", "text/plain",
                 "application/openstack-images-v2.1-json-patch", "application/octet-stream",
                 "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                 "application/vnd.openstack.identity-v3+json", ""]


def _fill(d, value):
    """The template ``value`` with "{x}" strings replaced by the seeded items."""
    if isinstance(value, str):
        if value == "{token}":
            return d.token
        return value.format(**d.ids) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(d, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(d, v) for v in value]
    return value


def _segment(value):
    return quote(value.encode("utf-8", "surrogatepass"), safe="")


# Strategies are built once: building them per draw (filters, one_of) cost more than
# the requests.
SEEDED = set()  # the seeded items' ids, which a DELETE must never name
SLOTS = ("server", "image", "flavor", "network", "subnet", "port", "key", "keypair",
         "netname", "alias", "own", "expires", "signature")
hostile_ids = st.one_of(ids, nasty_text).filter(lambda v: v not in SEEDED)
one_in_3 = st.integers(0, 2)
one_in_10 = st.integers(0, 9)
queries = st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_KEYS), nasty_text),
                             st.one_of(ids, nasty_text)), max_size=4)
body_kinds = st.sampled_from(["valid", "mutated", "mutated", "mutated", "json", "bytes",
                              "deep", "none"])
raw_bodies = st.one_of(st.binary(max_size=64), st.sampled_from([
    b"\xff\xfe", b'{"a": NaN}', b'{"a": Infinity}', b'{"a": 1', b"[" * 10,
    b'{"a": "\xed\xa0\x80"}', b"1" * 5000, b'{"a": 1e999}']))
deep_bodies = st.tuples(st.sampled_from([31, 33, 100, 1000, 5000, 50000]),
                        st.sampled_from([(b"[", b"]"), (b'{"a":', b"}")]))
wrong_tokens = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1,
                       max_size=600)
subjects = st.one_of(st.none(), st.just("valid"), wrong_tokens)
content_types = st.sampled_from(CONTENT_TYPES)
all_methods = st.sampled_from(METHODS)
endpoints = {family: st.sampled_from([(st.sampled_from(methods), path,
                                       st.sampled_from(bodies) if bodies else None)
                                      for methods, path, bodies in items])
             for family, items in ENDPOINTS.items()}


def _path(d, data, template, method):
    """The path with each "{x}" the seeded item or (always for DELETE, which must not
    remove the seeded items) a hostile id."""
    out = template
    for name in SLOTS:
        slot = "{%s}" % name
        if slot not in out:
            continue
        if method != "DELETE" and data.draw(one_in_3) > 0:
            value = str(d.ids[name])
        else:
            value = data.draw(hostile_ids)
        out = out.replace(slot, _segment(value[:200]))
    return out


def _query(data):
    if data.draw(one_in_3) > 0:
        return ""
    return "?" + urlencode(data.draw(queries), quote_via=quote, encoding="utf-8",
                           errors="surrogatepass")


def _body(d, data, bodies):
    kind = data.draw(body_kinds)
    if kind in ("valid", "mutated") and bodies is not None:
        body = _fill(d, data.draw(bodies))
        return json.dumps(_mutate(data, body) if kind == "mutated" else body).encode()
    if kind == "json":
        return json.dumps(data.draw(json_values)).encode()
    if kind == "bytes":
        return data.draw(raw_bodies)
    if kind == "deep":
        depth, (opener, closer) = data.draw(deep_bodies)
        return opener * depth + b"1" * (opener == b'{"a":') + closer * depth
    return None


def _other_token(data):
    """No token or a wrong one: (kind, token)."""
    if data.draw(st.booleans()):
        return "wrong", data.draw(wrong_tokens)
    return "none", None


def check(family, method, path, status, headers, body):
    """No 5xx; every 4xx a well-formed fault; no traceback anywhere."""
    what = "%s %s -> %d: %r" % (method, path[:300], status, body[:500])
    assert status < 500, what
    assert b"Traceback" not in body, what
    STATUSES["%dxx" % (status // 100)] += 1
    if status < 400 or method == "HEAD":
        return
    content_type = dict((k.lower(), v) for k, v in headers).get("content-type", "")
    assert content_type.startswith("application/json"), what
    fault = json.loads(body)
    assert isinstance(fault, dict) and len(fault) == 1, what
    (name, detail), = fault.items()
    if path.startswith("/identity"):
        assert name == "error" and isinstance(detail.get("title"), str), what
    assert isinstance(detail, dict) and detail.get("code") == status, what
    assert isinstance(detail.get("message"), str) and detail["message"], what


def _one_request(d, data, family):
    methods, template, bodies = data.draw(endpoints[family])
    method = data.draw(methods if data.draw(one_in_10) else all_methods)
    path = _path(d, data, template, method)
    query = _query(data)
    # gunicorn answers request lines over 4094 bytes itself (a plain-text 400), before
    # the application: those are not this suite's business.
    if len(method) + len(path) + len(query) < 4000:
        path += query
    headers = {}
    body = _body(d, data, bodies) if method in ("POST", "PUT", "PATCH") else None
    if body is not None:
        content_type = data.draw(content_types)
        if content_type:
            headers["Content-Type"] = content_type
    if family == "identity" and method in ("GET", "HEAD", "DELETE"):
        subject = data.draw(subjects)
        if subject == "valid":
            # never the valid token as the subject of a DELETE: it would revoke it
            subject = d.token if method != "DELETE" else None
        if subject:
            headers["X-Subject-Token"] = subject
    # The same request without a valid token, then with one.
    for kind, token in (_other_token(data), ("valid", d.token)):
        if token is not None:
            headers["X-Auth-Token"] = token
        status, response_headers, response = d.client.request(method, path, body, headers)
        SENT[family, kind] += 1
        check(family, method, path, status, response_headers, response)


def _fuzz(family):
    @hsettings(max_examples=EXAMPLES[family], deadline=None, database=None, print_blob=True,
               derandomize=bool(os.environ.get("CI")),
               suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(live, data):
        _one_request(live, data, family)
    return run


# One test per family.
test_fuzz_compute = _fuzz("compute")
test_fuzz_identity = _fuzz("identity")
test_fuzz_image = _fuzz("image")
test_fuzz_network = _fuzz("network")


@pytest.mark.parametrize("path", [
    C + "servers", C + "servers/{server}/action", C + "servers/{server}/metadata",
    C + "os-keypairs", "/identity/v3/auth/tokens", "/identity/v2.0/tokens",
    "/network/v2.0/networks", "/network/v2.0/subnets", "/network/v2.0/ports",
    "/image/v2/images"])
def test_bodies_over_the_limit(live, path):
    """Just over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) and far over: 413 with a
    token (401 without: the body is never read)."""
    path = path.format(**live.ids)
    family = "identity" if path.startswith("/identity") else \
        "network" if path.startswith("/network") else \
        "image" if path.startswith("/image") else "compute"
    for size in (2621441, 3 * 1024 * 1024, 10 * 1024 * 1024):
        body = b'{"x": "' + b"a" * (size - 9) + b'"}'
        for kind, token in (("valid", live.token), ("none", None)):
            headers = {"Content-Type": "application/json"}
            if token:
                headers["X-Auth-Token"] = token
            status, headers_in, response = live.client.request("POST", path, body, headers)
            SENT[family, kind] += 1
            check(family, "POST", path, status, headers_in, response)
            if token or family == "identity":
                assert status == 413, (path, size, status, response[:300])


def test_fuzz_request_count(live, capsys, record_property):
    """Run last: how many requests the suite sent (it must be at least MIN_REQUESTS)."""
    total = sum(SENT.values())
    record_property("fuzz_requests", total)
    with capsys.disabled():
        print("\napi fuzz: %d requests, 0 server errors; by family and token: %s; "
              "by status: %s" % (total, dict(sorted(SENT.items())), dict(sorted(STATUSES.items()))))
    assert total >= MIN_REQUESTS, SENT
