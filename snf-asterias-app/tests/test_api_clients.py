"""Real OpenStack clients against the real web stack.

The Django project runs under gunicorn (Debian's, the WSGI server the APISERVER
uses in production) in its own process on a free loopback port, with settings
read by the real loader from a directory this test writes and a file-based SQLite
DB prepared with snf-manage (migrate, user-create, flavor-create, image-register,
token-create). Ganeti job submission is simulated (support/fake_ganeti_wsgi.py). Clients:
openstacksdk (password auth through our Keystone v3 and v2.0 endpoints, and
admin_token), novaclient, and the `openstack` CLI (/usr/bin/openstack, Debian's
python) with a clouds.yaml written here.
"""

import hashlib
import http.client
import json
import os
import time

import pytest
from support.live import (
    WAIT,
    Gunicorn,
    live_settings,
    openstack_cli,
    openstack_cli_json,
    sdk_connect,
    sdk_password,
    snf_manage,
    write_clouds_yaml,
)

pytestmark = pytest.mark.integration

HERE = os.path.dirname(os.path.abspath(__file__))
PASSWORD = "alice-pass-" + "1"


class Live:
    pass


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("api-live")
    env = live_settings(tmp, BACKEND_PREFIX_ID="snfapi-",
                        GANETI_CLUSTER_INFO=("fake.ganeti.test", 5080, "u", "p"),
                        QUOTA_MAX_SERVERS=6, IMAGE_STORE_DIR=str(tmp / "images"),
                        QUOTA_MAX_IMAGE_SPACE=8, IMAGE_NODES_FETCH_FROM_API=True)

    def manage(*args, stdin=None):
        return snf_manage(env, *args, stdin=stdin)

    manage("migrate", "-v0")
    manage("user-create", "alice", "--password-stdin", stdin=PASSWORD + "\n")
    manage("user-create", "bob", "--password-stdin", stdin="bob-pass\n")
    manage("flavor-create", "1,2", "512,1024", "5")
    manage("image-register", "debian-12", "debian-12-diskdump", "--public", "--meta", "OS=debian")
    manage("shell", "-c", "from synnefo.db.models import Network; Network.objects.create("
           "name='public', public=True, state='ACTIVE', type='PUBLIC_ROUTED', link='br0')")
    w = Live()
    w.env = env
    w.admin_token = manage("token-create", "alice").strip()
    w.gunicorn = Gunicorn("support.fake_ganeti_wsgi:application", env, str(tmp / "gunicorn.log"),
                          pythonpath=HERE)
    w.base = w.gunicorn.base
    w.clouds = write_clouds_yaml(tmp / "clouds.yaml", w.base, "alice", PASSWORD)
    w.tmp = tmp
    yield w
    w.gunicorn.stop()


def _sdk(live, **auth):
    if not auth:
        return sdk_password(live.base, "alice", PASSWORD)
    return sdk_connect(**auth)


def _wait_status(get, wanted, timeout=WAIT):
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = get()
        if status == wanted:
            return
        time.sleep(0.2)
    raise AssertionError("status %s, wanted %s" % (status, wanted))


def test_openstacksdk_password_auth_full_cycle(live):
    conn = _sdk(live)
    flavors = {f.name: f for f in conn.compute.flavors()}
    assert "C1R512D5file" in flavors and flavors["C1R512D5file"].vcpus == 1
    image = conn.image.find_image("debian-12")
    assert image is not None and image.name == "debian-12"
    assert [i.name for i in conn.compute.images()] == ["debian-12"]
    kp = conn.compute.create_keypair(name="sdk-key")
    assert kp.private_key.startswith("-----BEGIN")
    server = conn.compute.create_server(name="sdk-vm", image_id=image.id,
                                        flavor_id=flavors["C1R512D5file"].id,
                                        key_name="sdk-key", networks="auto",
                                        metadata={"purpose": "test"})
    assert server.admin_password
    server = conn.compute.wait_for_server(server, status="ACTIVE", wait=WAIT, interval=0.3)
    assert server.addresses["public"][0]["addr"].startswith("10.251.")
    assert server.metadata == {"purpose": "test"} and server.key_name == "sdk-key"
    conn.compute.stop_server(server)
    _wait_status(lambda: conn.compute.get_server(server.id).status, "SHUTOFF")
    conn.compute.start_server(server)
    _wait_status(lambda: conn.compute.get_server(server.id).status, "ACTIVE")
    conn.compute.reboot_server(server, "SOFT")
    _wait_status(lambda: conn.compute.get_server(server.id).status, "ACTIVE")
    conn.compute.resize_server(server, flavors["C2R1024D5file"].id)
    _wait_status(lambda: conn.compute.get_server(server.id).status, "ACTIVE")
    assert conn.compute.get_server(server.id).flavor.id == flavors["C2R1024D5file"].id
    assert [s.name for s in conn.compute.servers()] == ["sdk-vm"]
    limits = conn.compute.get_limits()
    assert limits.absolute.instances_used == 1 and limits.absolute.total_cores_used == 2
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.3, wait=WAIT)
    assert list(conn.compute.servers()) == []
    conn.compute.delete_keypair("sdk-key")
    assert [k.name for k in conn.compute.keypairs()] == []


def test_openstacksdk_v2_password_and_admin_token(live):
    conn = _sdk(live, auth_type="v2password", auth_url=live.base + "/identity/v2.0",
                username="alice", password=PASSWORD, project_name="alice")
    assert any(f.name == "C1R512D5file" for f in conn.compute.flavors())
    conn = _sdk(live, auth_type="admin_token",
                auth={"token": live.admin_token, "endpoint": live.base + "/compute/v2.1"})
    assert any(f.name == "C1R512D5file" for f in conn.compute.flavors())


def _raw(live, method, path, body=None, headers=()):
    """(status, headers, body text) of one request with exactly these headers."""
    conn = http.client.HTTPConnection("127.0.0.1", live.gunicorn.port, timeout=30)
    try:
        conn.request(method, path, body=json.dumps(body) if body is not None else None,
                     headers=dict(headers, **({"Content-Type": "application/json"}
                                              if body is not None else {})))
        r = conn.getresponse()
        return r.status, r.getheaders(), r.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_a_forged_host_is_refused_and_catalogs_use_the_public_url(live):
    login = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "alice", "domain": {"id": "default"}, "password": PASSWORD}}}}}
    for headers in ({"Host": "evil.example"}, {"Host": "evil.example:%d" % live.gunicorn.port},
                    {"Host": "127.0.0.1", "X-Forwarded-Host": "evil.example"}):
        status, got, text = _raw(live, "POST", "/identity/v3/auth/tokens", login, headers)
        seen = text + repr(got)
        if "X-Forwarded-Host" in headers:  # not trusted (USE_X_FORWARDED_HOST is off)
            assert status == 201, seen
            urls = {e["url"] for c in json.loads(text)["token"]["catalog"]
                    for e in c["endpoints"]}
            assert urls == {live.base + p for p in ("/compute/v2.1", "/image",
                                                    "/identity/v3", "/network")}, urls
        else:
            assert status == 400 and json.loads(text)["badRequest"]["code"] == 400, seen
        assert "evil" not in seen, seen


def test_wrong_password_and_isolation(live):
    import openstack
    from keystoneauth1.exceptions.http import Unauthorized
    with pytest.raises(Unauthorized) as info:
        _sdk(live, auth_url=live.base + "/identity/v3", username="alice", password="wrong",
             project_name="alice", user_domain_name="Default",
             project_domain_name="Default").compute.get_limits()
    assert "password is wrong" in str(info.value)
    alice = _sdk(live)
    flavor = next(alice.compute.flavors())
    image = alice.image.find_image("debian-12")
    server = alice.compute.create_server(name="mine", image_id=image.id, flavor_id=flavor.id)
    bob = _sdk(live, auth_url=live.base + "/identity/v3", username="bob", password="bob-pass",
               project_name="bob", user_domain_name="Default", project_domain_name="Default")
    assert list(bob.compute.servers()) == []
    with pytest.raises(openstack.exceptions.NotFoundException):
        bob.compute.get_server(server.id)
    alice.compute.wait_for_server(server, wait=WAIT, interval=0.3)
    alice.compute.delete_server(server)
    alice.compute.wait_for_delete(server, interval=0.3, wait=WAIT)


def test_novaclient(live):
    from keystoneauth1 import session
    from keystoneauth1.identity import v3
    from novaclient import client
    auth = v3.Password(auth_url=live.base + "/identity/v3", username="alice", password=PASSWORD,
                       project_name="alice", user_domain_name="Default",
                       project_domain_name="Default")
    nova = client.Client("2.1", session=session.Session(auth=auth))
    assert {f.name for f in nova.flavors.list()} >= {"C1R512D5file"}
    assert nova.servers.list() == []
    assert nova.limits.get().absolute


def _cli(live, *args):
    return openstack_cli(live.clouds, live.tmp, *args)


def _cli_json(live, *args):
    return openstack_cli_json(live.clouds, live.tmp, *args)


def test_openstack_cli(live):
    flavors = _cli_json(live, "flavor", "list")
    assert {f["Name"] for f in flavors} >= {"C1R512D5file", "C2R1024D5file"}
    assert _cli_json(live, "flavor", "show", "C1R512D5file")["vcpus"] == 1
    images = _cli_json(live, "image", "list")
    assert [i["Name"] for i in images] == ["debian-12"]
    assert _cli_json(live, "image", "show", "debian-12")["name"] == "debian-12"
    key = _cli(live, "keypair", "create", "cli-key")
    assert "PRIVATE KEY" in key
    assert [k["Name"] for k in _cli_json(live, "keypair", "list")] == ["cli-key"]
    created = _cli_json(live, "server", "create", "--image", "debian-12", "--flavor",
                        "C1R512D5file", "--key-name", "cli-key", "--wait", "cli-vm")
    assert created["status"] == "ACTIVE" and created["name"] == "cli-vm"
    listed = _cli_json(live, "server", "list")
    assert [(s["Name"], s["Status"]) for s in listed] == [("cli-vm", "ACTIVE")]
    shown = _cli_json(live, "server", "show", "cli-vm")
    assert shown["key_name"] == "cli-key" and "10.251." in json.dumps(shown["addresses"])
    _cli(live, "server", "stop", "cli-vm")
    _wait_status(lambda: _cli_json(live, "server", "show", "cli-vm")["status"], "SHUTOFF")
    _cli(live, "server", "start", "cli-vm")
    _wait_status(lambda: _cli_json(live, "server", "show", "cli-vm")["status"], "ACTIVE")
    _cli(live, "server", "reboot", "--wait", "cli-vm")
    _cli(live, "server", "resize", "--flavor", "C2R1024D5file", "--wait", "cli-vm")
    assert "C2R1024D5file" in json.dumps(_cli_json(live, "server", "show", "cli-vm")["flavor"])
    limits = _cli_json(live, "limits", "show", "--absolute")
    assert {"Name": "totalInstancesUsed", "Value": 1} in limits
    _cli(live, "server", "delete", "--wait", "cli-vm")
    assert _cli_json(live, "server", "list") == []
    _cli(live, "keypair", "delete", "cli-key")
    assert _cli_json(live, "keypair", "list") == []


# -- the image API ------------------------------------------------------------------------

def _store(live):
    path = live.tmp / "images"
    return sorted(os.listdir(path)) if path.exists() else []


def test_image_upload_download_delete_with_real_clients(live):
    """The openstack CLI (create --file, list, save, delete), openstacksdk (create_image
    with the checksums it verifies) and glanceclient (a chunked upload, a download it
    checks against Content-MD5) on the Glance v2 API; the data is in the store exactly
    while the image exists; a node's signed link reads it without a token."""
    import io
    import urllib.request

    import glanceclient
    data = os.urandom(2 * 1024 * 1024 + 3)
    source = live.tmp / "upload.raw"
    source.write_bytes(data)
    created = _cli_json(live, "image", "create", "--file", str(source), "--disk-format", "raw",
                        "--container-format", "bare", "--property", "OSFAMILY=linux",
                        "cli-image")
    assert created["name"] == "cli-image"  # as created, before the upload (as Glance's)
    shown = _cli_json(live, "image", "show", "cli-image")
    assert shown["status"] == "active" and shown["checksum"] == hashlib.md5(data).hexdigest()
    assert shown["properties"]["OSFAMILY"] == "linux"
    assert [i["Name"] for i in _cli_json(live, "image", "list")] == ["cli-image", "debian-12"]
    _cli(live, "image", "save", "--file", str(live.tmp / "saved.raw"), "cli-image")
    assert (live.tmp / "saved.raw").read_bytes() == data
    assert len(_store(live)) == 1

    conn = _sdk(live)
    sdk_image = conn.image.create_image("sdk-image", filename=str(source), disk_format="raw",
                                        container_format="bare", validate_checksum=True,
                                        wait=True)
    sdk_image = conn.image.get_image(sdk_image.id)
    assert sdk_image.status == "active" and sdk_image.hash_value == hashlib.sha256(data).hexdigest()
    assert len(_store(live)) == 2

    glance = glanceclient.Client("2", endpoint=live.base + "/image",
                                 token=conn.session.get_token())
    gl_image = glance.images.create(name="glance-image", disk_format="raw",
                                    container_format="bare")
    glance.images.upload(gl_image["id"], io.BytesIO(data))  # chunked transfer encoding
    assert glance.images.get(gl_image["id"])["status"] == "active"
    assert b"".join(glance.images.data(gl_image["id"])) == data

    # the signed link a server's create request hands the node (IMAGE_NODES_FETCH_FROM_API)
    server = conn.compute.create_server(name="from-upload", image_id=gl_image["id"],
                                        flavor_id=next(conn.compute.flavors()).id,
                                        networks="none")
    link = snf_manage(live.env, "shell", "-c", (
        "from synnefo.db.models import Image; from synnefo.logic import images; "
        "print(images.node_osparams(Image.objects.get(pk=%s))['img_id'])" % gl_image["id"]))
    assert link.strip().startswith(live.base + "/image/node/%s/" % gl_image["id"])
    with urllib.request.urlopen(link.strip(), timeout=30) as answer:
        assert answer.read() == data
    conn.compute.wait_for_server(server, wait=WAIT, interval=0.3)
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, interval=0.3, wait=WAIT)

    # over the quota (8 MiB; 6 in use): 413 and nothing stored
    big = live.tmp / "big.raw"
    big.write_bytes(os.urandom(3 * 1024 * 1024))
    over = conn.image.create_image("too-big", disk_format="raw", container_format="bare",
                                   allow_duplicates=True)
    response = conn.session.put(live.base + "/image/v2/images/%s/file" % over.id,
                                data=big.read_bytes(), raise_exc=False,
                                headers={"Content-Type": "application/octet-stream"})
    assert response.status_code == 413, response.text
    assert "image space" in response.json()["overLimit"]["message"]
    assert len(_store(live)) == 3

    for name in ("cli-image", "sdk-image", "glance-image", "too-big"):
        _cli(live, "image", "delete", name)
    assert [i["Name"] for i in _cli_json(live, "image", "list")] == ["debian-12"]
    assert _store(live) == []


def _peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def test_image_data_is_streamed_not_buffered(live):
    """256 MiB up and down through gunicorn: the worker's peak memory (VmHWM) grows by
    far less than the image, so neither direction holds the data in memory."""
    size = 256 * 1024 * 1024
    source = live.tmp / "large.raw"
    sha = hashlib.sha256()
    with open(source, "wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(size // len(block)):
            chunk = block[:-4] + i.to_bytes(4, "big")
            sha.update(chunk)
            f.write(chunk)
    children = open("/proc/{0}/task/{0}/children".format(live.gunicorn.proc.pid)).read()
    (worker,) = [int(p) for p in children.split()]
    snf_manage(live.env, "user-modify", "alice", "--max-image-space", "1024")
    conn = _sdk(live)
    image = conn.image.create_image("large", disk_format="raw", container_format="bare",
                                    allow_duplicates=True)
    token = conn.session.get_token()
    before = _peak_rss_kib(worker)
    connection = http.client.HTTPConnection("127.0.0.1", live.gunicorn.port, timeout=300)
    try:
        with open(source, "rb") as f:
            connection.request("PUT", "/image/v2/images/%s/file" % image.id, body=f, headers={
                "X-Auth-Token": token, "Content-Type": "application/octet-stream",
                "Content-Length": str(size)})
            answer = connection.getresponse()
            assert answer.status == 204, answer.read()[:300]
            answer.read()
        connection.request("GET", "/image/v2/images/%s/file" % image.id,
                     headers={"X-Auth-Token": token})
        answer = connection.getresponse()
        down = hashlib.sha256()
        for chunk in iter(lambda: answer.read(1024 * 1024), b""):
            down.update(chunk)
        assert answer.status == 200 and down.hexdigest() == sha.hexdigest()
    finally:
        connection.close()
        snf_manage(live.env, "user-modify", "alice", "--max-image-space", "-1")
    grown = _peak_rss_kib(worker) - before
    assert grown < 64 * 1024, "worker peak memory grew by %d KiB for 256 MiB" % grown
    assert conn.image.get_image(image.id).hash_value == sha.hexdigest()
    conn.image.delete_image(image.id)
    assert _store(live) == []


def test_a_malformed_chunked_upload_is_a_client_error(live):
    """A chunk size that is no number, and a body cut short: 400, nothing stored."""
    import socket
    conn = _sdk(live)
    image = conn.image.create_image("chunky", disk_format="raw", container_format="bare",
                                    allow_duplicates=True)
    token = conn.session.get_token()
    for body in (b"5\r\nabcde\r\nzz\r\nxyz\r\n0\r\n\r\n", b"ffff\r\nabc"):
        with socket.create_connection(("127.0.0.1", live.gunicorn.port), timeout=30) as s:
            s.sendall(b"PUT /image/v2/images/%s/file HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"X-Auth-Token: %s\r\nContent-Type: application/octet-stream\r\n"
                      b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                      % (image.id.encode(), token.encode()) + body)
            s.shutdown(socket.SHUT_WR)
            answer = b"".join(iter(lambda: s.recv(65536), b""))
        status = int(answer.split(b" ", 2)[1])
        assert 400 <= status < 500, answer[:500]
        assert b"Traceback" not in answer
    assert conn.image.get_image(image.id).status == "queued" and _store(live) == []
    conn.image.delete_image(image.id)
