"""The Glance v2 image API (create, upload, download, update, delete; visibility, quota,
checksums) and the signed links nodes fetch image data through."""

import hashlib
import json
import logging
import os
import time

import pytest
from django.core.management import call_command

from synnefo.backend import instances
from synnefo.db.models import Image
from synnefo.logic import image_links, images
from synnefo.logic.errors import InvalidInput, OverLimit

pytestmark = pytest.mark.django_db

V2 = "/image/v2/images"
DATA = os.urandom(3 * 1024 * 1024 + 17)  # more than one chunk, not a multiple of it


@pytest.fixture
def store(settings, tmp_path):
    settings.IMAGE_STORE_DIR = str(tmp_path / "images")
    return tmp_path / "images"


def _create(client, **fields):
    body = dict({"name": "mine", "disk_format": "raw", "container_format": "bare"}, **fields)
    return client.post(V2, body)


def _upload(client, image_id, data, **extra):
    return client.client.put("%s/%s/file" % (V2, image_id), data,
                             content_type="application/octet-stream",
                             **client._headers(extra))


def _files(store):
    return sorted(os.listdir(store)) if store.exists() else []


def test_create_upload_download_delete(world, store):
    r = _create(world.a, OSFAMILY="linux")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "queued" and body["visibility"] == "private"
    assert body["OSFAMILY"] == "linux" and body["checksum"] is None and body["size"] is None
    image_id = body["id"]
    # no data yet: Glance answers 204
    assert world.a.get("%s/%s/file" % (V2, image_id)).status_code == 204
    assert world.a.get("/compute/v2.1/images/%s" % image_id).json()["image"]["status"] == \
        "SAVING"
    assert _upload(world.a, image_id, DATA).status_code == 204
    body = world.a.get("%s/%s" % (V2, image_id)).json()
    assert body["status"] == "active" and body["size"] == len(DATA)
    assert body["checksum"] == hashlib.md5(DATA).hexdigest()
    assert body["os_hash_algo"] == "sha256"
    assert body["os_hash_value"] == hashlib.sha256(DATA).hexdigest()
    row = Image.objects.get(pk=image_id)
    assert _files(store) == [row.backend_id]
    r = world.a.get("%s/%s/file" % (V2, image_id))
    assert r.status_code == 200 and b"".join(r.streaming_content) == DATA
    assert r["Content-MD5"] == body["checksum"] and r["Content-Length"] == str(len(DATA))
    r = world.a.head("%s/%s/file" % (V2, image_id))
    assert r.status_code == 200 and r["Content-Length"] == str(len(DATA))
    assert b"".join(r.streaming_content) == b""
    # others do not see a private image, nor its data
    assert world.b.get("%s/%s/file" % (V2, image_id)).status_code == 404
    assert image_id not in [i["id"] for i in world.b.get(V2).json()["images"]]
    # a second upload is refused; the data stays
    assert _upload(world.a, image_id, b"other").status_code == 409
    assert world.a.delete("%s/%s" % (V2, image_id)).status_code == 204
    assert _files(store) == []
    assert world.a.get("%s/%s" % (V2, image_id)).status_code == 404


@pytest.mark.parametrize("fetch", [False, True])
def test_servers_built_from_an_uploaded_image(world, store, fake_backend, monkeypatch,
                                              settings, fetch):
    """The create job names the image data as logic.images.node_osparams says: the file
    name, or (nodes fetching from the API) a signed link that serves the data."""
    settings.IMAGE_NODES_FETCH_FROM_API = fetch
    submitted = []
    create = instances.create_instance
    monkeypatch.setattr(instances, "create_instance", lambda vm, password, **kw: (
        submitted.append(kw["image_params"]), create(vm, password, **kw))[1])
    image_id = _create(world.a, min_disk=1).json()["id"]
    assert _upload(world.a, image_id, DATA).status_code == 204
    r = world.a.post("/compute/v2.1/servers", {"server": {
        "name": "up", "imageRef": image_id, "flavorRef": str(world.small.id)}})
    assert r.status_code == 202, r.content
    row = Image.objects.get(pk=image_id)
    (params,) = submitted
    assert params["img_checksum"] == "sha256:" + hashlib.sha256(DATA).hexdigest()
    if not fetch:
        assert params["img_id"] == row.backend_id
        return
    assert params["img_id"].startswith("%s/image/node/%s/" % (settings.API_PUBLIC_BASE_URL,
                                                              image_id))
    r = world.anon.get(_path(params["img_id"]))
    assert r.status_code == 200 and b"".join(r.streaming_content) == DATA


def test_public_only_by_an_administrator(world, store):
    assert _create(world.a, visibility="public").status_code == 403
    r = _create(world.r, name="sys", visibility="public")
    assert r.status_code == 201 and r.json()["visibility"] == "public"
    assert r.json()["id"] in [i["id"] for i in world.b.get(V2).json()["images"]]
    own = _create(world.a).json()["id"]
    patch = [{"op": "replace", "path": "/visibility", "value": "public"}]
    assert _patch(world.a, own, patch).status_code == 403
    assert _patch(world.r, own, patch).json()["visibility"] == "public"
    assert own in [i["id"] for i in world.b.get(V2 + "?visibility=public").json()["images"]]
    # a public image of someone else: readable, not writable
    assert _upload(world.b, own, b"x").status_code == 403
    assert world.b.delete("%s/%s" % (V2, own)).status_code == 403


def _patch(client, image_id, ops, content_type="application/openstack-images-v2.1-json-patch"):
    return client.client.patch("%s/%s" % (V2, image_id), json.dumps(ops),
                               content_type=content_type, **client._headers({}))


def test_patch_properties_and_name(world, store):
    image_id = _create(world.a, a="1", b="2").json()["id"]
    r = _patch(world.a, image_id, [{"op": "add", "path": "/c", "value": "3"},
                                   {"op": "replace", "path": "/a", "value": "9"},
                                   {"op": "remove", "path": "/b"},
                                   {"op": "replace", "path": "/name", "value": "renamed"}])
    body = r.json()
    assert r.status_code == 200 and body["name"] == "renamed"
    assert (body["a"], body["c"], "b" in body) == ("9", "3", False)
    assert _patch(world.a, image_id, [{"op": "remove", "path": "/zz"}]).status_code == 409
    assert _patch(world.a, image_id, [{"op": "add", "path": "/size", "value": 1}]).status_code \
        == 403
    assert _patch(world.a, image_id, [{"op": "add", "path": "/x", "value": 1}]).status_code \
        == 400
    assert _patch(world.a, image_id, [{"op": "add", "path": "/x", "value": "1"}],
                  content_type="application/json").status_code == 415
    assert _patch(world.a, image_id, {"op": "add"}).status_code == 400


def test_patch_in_glances_first_format(world, store):
    image_id = _create(world.a, a="1").json()["id"]
    v20 = "application/openstack-images-v2.0-json-patch"
    r = _patch(world.a, image_id, [{"replace": "/name", "value": "renamed"},
                                   {"remove": "/a"}, {"add": "/b", "value": "2"}], v20)
    assert r.status_code == 200
    assert (r.json()["name"], "a" in r.json(), r.json()["b"]) == ("renamed", False, "2")
    for bad in ([{"replace": "/name", "remove": "/a"}], [{"replace": "/name", "x": 1}],
                ["replace"]):
        assert _patch(world.a, image_id, bad, v20).status_code == 400


@pytest.mark.parametrize("fields, status", [
    ({"id": "f00"}, 403), ({"status": "active"}, 403), ({"checksum": "x"}, 403),
    ({"disk_format": "qcow2"}, 400), ({"container_format": "ova"}, 400),
    ({"visibility": "shared"}, 400), ({"min_disk": -1}, 400), ({"min_ram": True}, 400),
    ({"name": "a\nb"}, 400), ({"prop": 7}, 400), ({"synnefo_format": "vmdk"}, 400),
    ({"protected": True}, 400), ({"tags": ["t"]}, 400),
])
def test_create_refuses(world, store, fields, status):
    r = _create(world.a, **fields)
    assert r.status_code == status, r.content
    assert not Image.objects.filter(name="mine").exists()


def test_synnefo_format_chosen_by_property_or_disk_format(world, store):
    assert _create(world.a, synnefo_format="extdump").json()["synnefo_format"] == "extdump"
    r = _create(world.a, disk_format="extdump").json()
    assert (r["disk_format"], r["synnefo_format"]) == ("extdump", "extdump")
    assert _create(world.a).json()["synnefo_format"] == "diskdump"


def test_quota_on_image_space(world, store, settings):
    settings.QUOTA_MAX_IMAGE_SPACE = 4  # MiB
    first = _create(world.a).json()["id"]
    assert _upload(world.a, first, DATA).status_code == 204
    absolute = world.a.get("/compute/v2.1/limits", HTTP_X_SYNNEFO_EXTENSIONS="true").json()[
        "limits"]["absolute"]
    assert (absolute["SNF:maxTotalImageSpace"], absolute["SNF:totalImageSpaceUsed"]) == (4, 4)
    second = _create(world.a).json()["id"]
    r = _upload(world.a, second, DATA)
    assert r.status_code == 413 and "image space" in r.json()["overLimit"]["message"]
    assert Image.objects.get(pk=second).state == "QUEUED"
    assert len(_files(store)) == 1
    # a per-user override; the space of deleted images is free again
    world.alice.max_image_space = 8
    world.alice.save()
    assert _upload(world.a, second, DATA).status_code == 204
    assert world.a.delete("%s/%s" % (V2, first)).status_code == 204
    world.alice.max_image_space = None
    world.alice.save()
    third = _create(world.a).json()["id"]
    assert _upload(world.a, third, b"small").status_code == 204


def test_quota_for_an_upload_of_unknown_length(world, store, settings):
    settings.QUOTA_MAX_IMAGE_SPACE = 1
    image = Image.objects.get(pk=_create(world.a).json()["id"])
    chunks = iter([b"a" * 600000, b"b" * 600000])
    with pytest.raises(OverLimit):
        images.upload(world.alice, image, chunks, length=None)
    assert Image.objects.get(pk=image.pk).state == "QUEUED" and _files(store) == []
    done = images.upload(world.alice, image, iter([b"a" * 1000, b"b"]), length=None)
    assert done.state == "ACTIVE" and done.size == 1001


def test_upload_must_match_the_sdk_checksums(world, store):
    image_id = _create(world.a, **{"owner_specified.openstack.sha256": "0" * 64}).json()["id"]
    r = _upload(world.a, image_id, DATA)
    assert r.status_code == 400 and "checksum" in r.json()["badRequest"]["message"]
    assert Image.objects.get(pk=image_id).state == "QUEUED" and _files(store) == []
    good = _create(world.a, **{"owner_specified.openstack.sha256":
                               hashlib.sha256(DATA).hexdigest(),
                               "owner_specified.openstack.md5": hashlib.md5(DATA).hexdigest()})
    assert _upload(world.a, good.json()["id"], DATA).status_code == 204


def test_upload_shorter_than_announced(world, store):
    image = Image.objects.get(pk=_create(world.a).json()["id"])
    with pytest.raises(InvalidInput):
        images.upload(world.alice, image, iter([b"abc"]), length=10)
    assert Image.objects.get(pk=image.pk).state == "QUEUED" and _files(store) == []


def test_upload_media_type_and_length(world, store):
    image_id = _create(world.a).json()["id"]
    r = world.a.client.put("%s/%s/file" % (V2, image_id), b"x", content_type="text/html",
                           **world.a._headers({}))
    assert r.status_code == 415
    r = world.a.client.put("%s/%s/file" % (V2, image_id), b"x",
                           content_type="application/octet-stream",
                           **world.a._headers({"CONTENT_LENGTH": "x1"}))
    assert r.status_code == 400


# -- signed links --------------------------------------------------------------------------

@pytest.fixture
def uploaded(world, store, settings):
    settings.IMAGE_NODES_FETCH_FROM_API = True
    settings.IMAGE_LINK_BASE_URL = "http://nodes-reach.example:8080/"
    image_id = _create(world.a).json()["id"]
    assert _upload(world.a, image_id, DATA).status_code == 204
    return Image.objects.get(pk=image_id)


def _path(link):
    """The path of an absolute link."""
    return "/" + link.split("/", 3)[3]


def test_signed_link_fetches_the_data_without_a_token(world, uploaded):
    params = images.node_osparams(uploaded)
    link = params["img_id"]
    assert link.startswith("http://nodes-reach.example:8080/image/node/%d/" % uploaded.id)
    assert params["img_checksum"] == "sha256:" + hashlib.sha256(DATA).hexdigest()
    r = world.anon.get(_path(link))
    assert r.status_code == 200 and b"".join(r.streaming_content) == DATA


def test_forged_and_expired_links_are_refused_and_logged(world, uploaded, caplog):
    caplog.set_level(logging.WARNING, logger="synnefo.logic.images")
    path = _path(image_links.make_link(uploaded))
    prefix, expires, signature = path.rsplit("/", 2)
    forged = [
        "%s/%s/%s" % (prefix, expires, "0" * 64),                      # wrong signature
        "%s/%d/%s" % (prefix, int(expires) + 1, signature),            # extended expiry
        path.replace("/node/%d/" % uploaded.id, "/node/%d/" % (uploaded.id + 1)),
        "%s/%s/%s" % (prefix, "１２", signature),                        # not ASCII digits
    ]
    for bad in forged:
        r = world.anon.get(bad)
        assert r.status_code in (403, 404), (bad, r.status_code)
        assert b"Traceback" not in r.content
    assert world.anon.get(forged[0]).status_code == 403
    expired = image_links.make_link(uploaded, now=time.time() - 7200)
    r = world.anon.get(_path(expired))
    assert r.status_code == 403 and "expired" in r.json()["forbidden"]["message"]
    refused = [rec for rec in caplog.records if "image link refused" in rec.getMessage()]
    assert len(refused) >= 4
    # a link outlives no change of the data: a new image with other data is not reachable
    uploaded.checksum = "f" * 64
    uploaded.save()
    assert world.anon.get(path).status_code == 403


def test_link_without_data_stays_a_name(world, store, settings):
    settings.IMAGE_NODES_FETCH_FROM_API = True
    assert images.node_osparams(world.image) == {"img_id": "debian-12"}


# -- snf-manage image-register -------------------------------------------------------------

def test_image_register_a_file(world, store, tmp_path, capsys):
    source = tmp_path / "deb.diskdump"
    source.write_bytes(DATA)
    call_command("image-register", "deb", str(source), "--public", "--property",
                 "OSFAMILY=linux", "--json")
    row = json.loads(capsys.readouterr().out)
    assert row["size"] == len(DATA) and row["sha256"] == hashlib.sha256(DATA).hexdigest()
    assert row["metadata"] == {"OSFAMILY": "linux"} and row["public"] is True
    assert _files(store) == [row["backend_id"]] and source.exists()  # a copy
    image = Image.objects.get(pk=row["id"])
    assert world.b.get("%s/%s/file" % (V2, image.id)).status_code == 200
    # a file already in the store is registered in place, by its name
    (store / "in-place.img").write_bytes(b"abc")
    call_command("image-register", "ext", "in-place.img", "--format", "extdump", "--json")
    row = json.loads(capsys.readouterr().out)
    assert (row["backend_id"], row["size"], row["format"]) == ("in-place.img", 3, "extdump")
    # a name only the nodes know: registered without size or checksum, said so
    call_command("image-register", "remote", "nodes-only.img", "--json")
    captured = capsys.readouterr()
    assert "not a file here" in captured.err
    assert json.loads(captured.out)["sha256"] is None
