"""The compute API's default (real) backend path against the real Ganeti test cluster.

No fakes: POST /servers goes through logic.servers -> allocate_backend ->
synnefo.backend.instances -> RAPI, and the job must succeed on the cluster (fake
hypervisor, the snf-image stand-in OS of ci/ganeti.sh). The dispatcher is not running
here (the pipeline's own tests cover it), so the test watches the Ganeti job itself.
"""

import hashlib

import pytest
from django.test import Client
from support.api import make_user
from support.cluster import cluster_backend, run_prefix

from synnefo.backend.client import client_for
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = run_prefix("snfapicl")


@pytest.fixture
def cloud(settings):
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_CLUSTER_INFO = ("", 5080, "", "")
    user, client = make_user("alice")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    image = m.Image.objects.create(name="debian", backend_id="debian-12", public=True)
    m.Network.objects.create(name="public", public=True, state="ACTIVE", link="gnt-br0",
                             type="PUBLIC_ROUTED")
    return user, client, flavor, image


def instance_names(rapi):
    """Every instance on the shared cluster (other runs' too: non-bulk RAPI lists them as
    {"id": name, "uri": ...})."""
    return [i.get("id") or i.get("name") if isinstance(i, dict) else i
            for i in rapi.get_instances(bulk=False)]


def _create(client, flavor, image, name, **extra):
    return client.post("/compute/v2.1/servers", {"server": dict({
        "name": name, "imageRef": str(image.id), "flavorRef": str(flavor.id)}, **extra)})


def test_create_and_delete_through_the_api_on_real_ganeti(cloud):
    user, client, flavor, image = cloud
    backend = cluster_backend()
    rapi = client_for(backend)
    r = _create(client, flavor, image, "real-vm", user_data="I2Nsb3VkLWNvbmZpZwo=")
    assert r.status_code == 202, r.content
    vm = m.VirtualMachine.objects.get(pk=int(r.json()["server"]["id"]))
    assert vm.backend_id == backend.id and vm.task_job_id
    try:
        assert rapi.wait_for_job(vm.task_job_id, timeout=120)["status"] == "success"
        info = rapi.get_instance(vm.backend_vm_id)
        assert info["beparams"]["vcpus"] == 1 and info["nic.links"] == ["gnt-br0"]
        assert info["os"] == "snf-image+default"
        # the user data reached the OS provider (Ganeti keeps the instance's osparams)
        static = rapi.request("GET", "/2/instances/%s/info" % vm.backend_vm_id,
                              query={"static": 1})
        static = rapi.wait_for_job(static, timeout=60)["opresult"][0][vm.backend_vm_id]
        assert static["os_instance"]["img_user_data"] == "I2Nsb3VkLWNvbmZpZwo="
        r = client.delete("/compute/v2.1/servers/%d" % vm.id)
        assert r.status_code == 204
        vm.refresh_from_db()
        assert vm.action == "DESTROY" and vm.task_job_id
        shown = client.get("/compute/v2.1/servers/%d" % vm.id).json()["server"]
        assert shown["OS-EXT-STS:task_state"] == "deleting"
        assert rapi.wait_for_job(vm.task_job_id, timeout=120)["status"] == "success"
        assert vm.backend_vm_id not in instance_names(rapi)
    finally:
        names = instance_names(rapi)
        if vm.backend_vm_id in names:
            rapi.wait_for_job(rapi.delete_instance(vm.backend_vm_id), timeout=120)


def test_an_uploaded_image_reaches_ganeti_as_a_signed_link(cloud, settings, tmp_path):
    """With IMAGE_NODES_FETCH_FROM_API, the create job Ganeti runs names the image data by
    a signed link (img_id) with its checksum (img_checksum); Ganeti keeps both, and the
    link serves the data."""
    user, client, flavor, _ = cloud
    settings.IMAGE_STORE_DIR = str(tmp_path / "images")
    settings.IMAGE_NODES_FETCH_FROM_API = True
    data = b"image data " * 1000
    r = client.post("/image/v2/images", {"name": "up", "disk_format": "raw",
                                          "container_format": "bare"})
    image_id = r.json()["id"]
    r = client.client.put("/image/v2/images/%s/file" % image_id, data,
                          content_type="application/octet-stream",
                          HTTP_X_AUTH_TOKEN=client.token)
    assert r.status_code == 204, r.content
    rapi = client_for(cluster_backend())
    r = client.post("/compute/v2.1/servers", {"server": {
        "name": "from-upload", "imageRef": image_id, "flavorRef": str(flavor.id)}})
    assert r.status_code == 202, r.content
    vm = m.VirtualMachine.objects.get(pk=int(r.json()["server"]["id"]))
    try:
        assert rapi.wait_for_job(vm.task_job_id, timeout=120)["status"] == "success"
        static = rapi.request("GET", "/2/instances/%s/info" % vm.backend_vm_id,
                              query={"static": 1})
        osparams = rapi.wait_for_job(static, timeout=60)["opresult"][0][vm.backend_vm_id][
            "os_instance"]
        assert osparams["img_checksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
        link = osparams["img_id"]
        assert link.startswith(settings.API_PUBLIC_BASE_URL + "/image/node/%s/" % image_id)
        r = Client().get("/" + link.split("/", 3)[3])
        assert r.status_code == 200 and b"".join(r.streaming_content) == data
    finally:
        if vm.backend_vm_id in instance_names(rapi):
            rapi.wait_for_job(rapi.delete_instance(vm.backend_vm_id), timeout=120)


def test_refused_submission_leaves_error_not_phantom_build(cloud):
    user, client, flavor, image = cloud
    cluster_backend(password="wrong-password")
    r = _create(client, flavor, image, "refused")
    assert r.status_code == 503
    message = r.json()["serviceUnavailable"]["message"]
    assert "ERROR" in message and "wrong-password" not in message
    vm = m.VirtualMachine.objects.get(name="refused")
    assert vm.operstate == "ERROR" and vm.task_job_id is None
    shown = client.get("/compute/v2.1/servers/%d" % vm.id).json()["server"]
    assert shown["status"] == "ERROR" and shown["fault"]["message"]
    assert "wrong-password" not in str(shown)
    assert client.delete("/compute/v2.1/servers/%d" % vm.id).status_code == 204
    assert m.VirtualMachine.objects.get(pk=vm.id).deleted


def test_no_usable_backend_is_503_and_error(cloud):
    user, client, flavor, image = cloud
    cluster_backend(drained=True)
    r = _create(client, flavor, image, "nowhere")
    assert r.status_code == 503
    assert "Ganeti backends" in r.json()["serviceUnavailable"]["message"]
    assert m.VirtualMachine.objects.get(name="nowhere").operstate == "ERROR"
