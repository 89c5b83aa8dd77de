"""synnefo.backend.instances against the real Ganeti test cluster (ci/ganeti.sh)."""

import pytest
from support.cluster import cluster_backend, env, run_prefix

from synnefo.backend import instances
from synnefo.backend.client import client_for
from synnefo.backend.rapi import RapiError
from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PREFIX = run_prefix("snfbic")


@pytest.fixture(autouse=True)
def own_prefix(settings):
    settings.BACKEND_PREFIX_ID = PREFIX


def test_pinned_certificate_verifies_and_a_wrong_one_fails(settings):
    backend = cluster_backend()
    assert client_for(backend).get_info()["name"] == env("SNF_TEST_GANETI_CLUSTER")
    settings.GANETI_RAPI_VERIFY = True
    backend.certificate = ""
    with pytest.raises(RapiError) as exc:  # self-signed: the system CAs do not know it
        client_for(backend).get_info()
    assert exc.value.code is None


def test_instance_lifecycle_on_the_real_cluster(settings):
    settings.GANETI_OS = "noop+default"
    backend = cluster_backend()
    user = m.User.objects.create(name="alice")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    image = m.Image.objects.create(name="noop", backend_id="noop-image", public=True)
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, image=image,
                                         backend=backend, name="lifecycle")
    net = m.Network.objects.create(name="lan", link="gnt-br0", state="ACTIVE")
    m.NetworkInterface.objects.create(machine=vm, network=net, index=0)
    client = client_for(backend)
    try:
        job = instances.create_instance(vm, "pw")
        assert client.wait_for_job(job)["status"] == "success"
        info = client.get_instance(vm.backend_vm_id)
        assert info["oper_state"] is True and info["nic.links"] == ["gnt-br0"]
        for call in (lambda: instances.shutdown_instance(vm),
                     lambda: instances.resize_instance(
                         vm, m.Flavor.objects.create(cpu=2, ram=256, disk=1,
                                                     disk_template="diskless")),
                     lambda: instances.startup_instance(vm),
                     lambda: instances.reboot_instance(vm, "hard"),
                     lambda: instances.set_firewall_profile(vm, 0, "ENABLED"),
                     lambda: instances.set_firewall_profile(vm, 0, "PROTECTED")):
            job = call()
            result = client.wait_for_job(job)
            assert result["status"] == "success", result
        info = client.get_instance(vm.backend_vm_id)
        assert info["beparams"]["vcpus"] == 2 and info["beparams"]["maxmem"] == 256
        assert "synnefo:network:0:limited" in info["tags"]
        assert "synnefo:network:0:protected" not in info["tags"]
        job = instances.delete_instance(vm)
        assert client.wait_for_job(job)["status"] == "success"
        names = [i["name"] for i in client.get_instances()]
        assert vm.backend_vm_id not in names
    finally:
        if vm.backend_vm_id in [i["name"] for i in client.get_instances()]:
            client.wait_for_job(client.delete_instance(vm.backend_vm_id))
