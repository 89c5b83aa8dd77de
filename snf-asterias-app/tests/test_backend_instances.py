"""synnefo.backend.instances: every request checked by Ganeti's own RAPI handlers.

The requests go through Ganeti's real RAPI server code (see support/fakerapi.py);
the assertions look at the opcodes Ganeti built from them.
"""

import base64
import json

import pytest
from support.fakerapi import PASSWORD, USER

from synnefo.backend import instances, networks
from synnefo.backend.client import certificates_only, client_for
from synnefo.backend.rapi import RapiError
from synnefo.db import models as m

pytestmark = pytest.mark.django_db


def make_vm(disk_template="file", nics=1, hypervisor="kvm", **kw):
    user, _ = m.User.objects.get_or_create(name="alice")
    flavor, _ = m.Flavor.objects.get_or_create(cpu=2, ram=512, disk=3,
                                               disk_template=disk_template)
    image = m.Image.objects.create(name="debian", backend_id="debian-12", format="diskdump",
                                   public=True)
    m.ImageMetadata.objects.create(image=image, meta_key="osfamily", meta_value="linux")
    backend, _ = m.Backend.objects.get_or_create(
        clustername="fake.example.org", defaults=dict(username=USER, password=PASSWORD,
                                                      hypervisor=hypervisor))
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, image=image,
                                         backend=backend, name="vm", **kw)
    public = m.Network.objects.create(name="public", public=True, type="PUBLIC_ROUTED",
                                      link="br-public", state="ACTIVE")
    private = m.Network.objects.create(name="private", owner=user, link="br-prv1",
                                       state="ACTIVE")
    if nics >= 1:
        m.NetworkInterface.objects.create(machine=vm, network=public, index=0,
                                          ipv4="10.251.7.5")
    if nics >= 2:
        m.NetworkInterface.objects.create(machine=vm, network=private, index=1)
    return vm


def test_create_builds_a_full_request(fake, settings):
    vm = make_vm(nics=2)
    personality = [{"path": "/etc/motd", "contents": base64.b64encode(b"hi").decode(),
                    "owner": "root", "group": "root", "mode": 0o644}]
    job = instances.create_instance(vm, "s3cret", personality=personality,
                                    public_key="ssh-ed25519 AAAA test")
    assert job == fake.jobs[-1][0]
    op = fake.last_op()
    assert op["OP_ID"] == "OP_INSTANCE_CREATE"
    assert op["instance_name"] == "%s%d" % (settings.BACKEND_PREFIX_ID, vm.id)
    assert op["mode"] == "create" and op["os_type"] == "snf-image+default"
    assert op["disk_template"] == "file"
    assert op["disks"] == [{"size": 3 * 1024}]
    assert op["beparams"] == {"vcpus": 2, "maxmem": 512, "minmem": 512}
    assert op["hypervisor"] == "kvm" and op["hvparams"] == {"serial_console": False}
    assert op["ip_check"] is False and op["name_check"] is False
    assert op["wait_for_sync"] is False
    assert op.get("pnode") in (None, "")  # the cluster's iallocator places it
    nic0, nic1 = op["nics"]
    assert nic0["mode"] == "routed" and nic0["ip"] == "10.251.7.5"
    assert nic0["link"] == "br-public" and "mac" not in nic0  # Ganeti generates it
    assert nic1["mode"] == "bridged" and nic1["link"] == "br-prv1" and "ip" not in nic1
    # NICs are named after their rows (stable while indexes shift)
    rows = list(vm.nics.order_by("index"))
    assert [nic0["name"], nic1["name"]] == ["%snic-%d" % (settings.BACKEND_PREFIX_ID, r.id)
                                            for r in rows]
    osp = op["osparams"]
    assert osp["img_id"] == "debian-12" and osp["img_format"] == "diskdump"
    # the password is a secret parameter: Ganeti keeps it out of its config and jobs
    assert "img_passwd" not in osp and op["osparams_secret"]["img_passwd"] == "s3cret"
    assert json.loads(osp["img_properties"]) == {"OSFAMILY": "linux"}
    files = json.loads(osp["img_personality"])
    assert files[0]["path"] == "/etc/motd"
    assert files[1]["path"] == "/root/.ssh/authorized_keys"
    assert base64.b64decode(files[1]["contents"]) == b"ssh-ed25519 AAAA test\n"


def test_create_takes_the_image_parameters_logic_chose(fake):
    """img_id as a signed link and img_checksum (logic.images.node_osparams) replace the
    image row's name; Ganeti's own opcode checks accept them."""
    vm = make_vm()
    link = "https://api.example.org/image/node/7/1800000000/" + "ab" * 32
    instances.create_instance(vm, "pw", image_params={"img_id": link,
                                                      "img_checksum": "sha256:" + "0" * 64})
    osparams = fake.last_op()["osparams"]
    assert osparams["img_id"] == link and osparams["img_checksum"] == "sha256:" + "0" * 64
    assert osparams["img_format"] == "diskdump"
    instances.create_instance(make_vm(), "pw")
    assert fake.last_op()["osparams"]["img_id"] == "debian-12"
    assert "img_checksum" not in fake.last_op()["osparams"]


def test_nics_on_pool_networks_ask_ganeti_for_a_pool_address(fake, settings):
    """A NIC on a network with a subnet names the Ganeti network and takes a pool
    address; mode and link come from the network's node-group connection."""
    vm = make_vm(nics=0)
    public = m.Network.objects.create(name="pub", public=True, type="PUBLIC_ROUTED",
                                      link="br-public", state="ACTIVE",
                                      subnet="10.251.9.0/24", gateway="10.251.9.1")
    lan = m.Network.objects.create(name="lan", link="prv0", mac_prefix="aa:00:05",
                                   state="ACTIVE", subnet="192.168.5.0/24")
    bare = m.Network.objects.create(name="bare", public=True, type="PUBLIC_ROUTED",
                                    link="br-x", state="ACTIVE")
    for i, net in enumerate((public, lan, bare)):
        m.NetworkInterface.objects.create(machine=vm, network=net, index=i)
    instances.create_instance(vm, "pw")
    nic0, nic1, nic2 = fake.last_op()["nics"]
    assert nic0["network"] == public.backend_id and nic0["ip"] == "pool"
    assert nic1["network"] == lan.backend_id and nic1["ip"] == "pool"
    assert "mode" not in nic0 and "link" not in nic0
    # no subnet, no address: a routed NIC would be refused, so it is bridged
    assert nic2["mode"] == "bridged" and nic2["link"] == "br-x" and "network" not in nic2


def test_one_node_cluster_gets_the_node_named(fake):
    fake.nodes = {"node1.example.org": {}}
    instances.create_instance(make_vm(), "pw")
    assert fake.last_op()["pnode"] == "node1.example.org"
    fake.nodes = {"node1.example.org": {}, "node2.example.org": {},
                  "node3.example.org": {"offline": True}}
    instances.create_instance(make_vm(), "pw")
    assert not fake.last_op().get("pnode")  # several: the iallocator places it


def test_create_template_is_copied_per_request(fake, settings):
    settings.GANETI_CREATEINSTANCE_KWARGS = {"beparams": {"auto_balance": True},
                                             "osparams": {"config_url": "http://x"}}
    before = json.dumps(settings.GANETI_CREATEINSTANCE_KWARGS, sort_keys=True)
    vm = make_vm()
    instances.create_instance(vm, "one")
    instances.create_instance(vm, "two")
    assert json.dumps(settings.GANETI_CREATEINSTANCE_KWARGS, sort_keys=True) == before
    op = fake.last_op()
    assert op["beparams"]["auto_balance"] is True and op["beparams"]["vcpus"] == 2
    assert op["osparams_secret"]["img_passwd"] == "two"
    assert op["osparams"]["config_url"] == "http://x"


def test_diskless_flavor_has_no_disks_and_fake_hv_no_kvm_params(fake):
    vm = make_vm(disk_template="diskless", nics=0, hypervisor="fake")
    instances.create_instance(vm, "pw")
    op = fake.last_op()
    assert op["disks"] == [] and op["nics"] == [] and op["hypervisor"] == "fake"
    assert not op.get("hvparams")
    assert "img_personality" not in op["osparams"]


def test_power_operations(fake):
    vm = make_vm()
    name = vm.backend_vm_id
    instances.startup_instance(vm)
    assert fake.last_op()["OP_ID"] == "OP_INSTANCE_STARTUP"
    assert fake.last_op()["instance_name"] == name
    instances.shutdown_instance(vm)
    assert fake.last_op()["OP_ID"] == "OP_INSTANCE_SHUTDOWN"
    for kind in ("soft", "hard", "SOFT"):
        instances.reboot_instance(vm, kind)
        op = fake.last_op()
        assert op["OP_ID"] == "OP_INSTANCE_REBOOT" and op["reboot_type"] == kind.lower()
    with pytest.raises(ValueError):
        instances.reboot_instance(vm, "sideways")
    job = instances.delete_instance(vm)
    op = fake.last_op()
    assert op["OP_ID"] == "OP_INSTANCE_REMOVE" and op["instance_name"] == name
    assert job == fake.jobs[-1][0] and not op.get("depends")
    # a remove that must wait for the create job (whatever its end)
    instances.delete_instance(vm, after_job=job)
    op = fake.last_op()
    assert op["OP_ID"] == "OP_INSTANCE_REMOVE"
    assert [list(d) for d in op["depends"]] == [[job, ["success", "error", "canceled"]]]


def test_shutdown_timeout_from_settings(fake, settings):
    settings.GANETI_SHUTDOWN_TIMEOUT = 30
    instances.shutdown_instance(make_vm())
    assert fake.last_op()["timeout"] == 30
    # and the remove of a running server (a guest that ignores the ACPI power button)
    instances.delete_instance(make_vm())
    assert fake.last_op()["shutdown_timeout"] == 30


def test_resize_sets_beparams(fake):
    vm = make_vm()
    flavor = m.Flavor.objects.create(cpu=4, ram=1024, disk=3, disk_template="file")
    instances.resize_instance(vm, flavor)
    op = fake.last_op()
    assert op["OP_ID"] == "OP_INSTANCE_SET_PARAMS"
    assert op["beparams"] == {"vcpus": 4, "maxmem": 1024, "minmem": 1024}


def test_nic_add(fake, settings):
    vm = make_vm(nics=2)
    networks.add_nic(vm, vm.nics.get(index=1))
    op = fake.last_op()
    assert op["OP_ID"] == "OP_INSTANCE_SET_PARAMS"
    assert op["nics"][0][0] == "add" and op["nics"][0][2]["link"] == "br-prv1"
    assert op["nics"][0][2]["name"] == "%snic-%d" % (settings.BACKEND_PREFIX_ID,
                                                     vm.nics.get(index=1).id)


def test_firewall_profile_replaces_only_present_tags(fake):
    vm = make_vm()
    fake.tags[vm.backend_vm_id] = ["synnefo:network:0:unprotected", "other:tag",
                                   "synnefo:network:1:limited"]
    job = instances.set_firewall_profile(vm, 0, "ENABLED")
    (_, (delete,)), (add_job, (add,)) = fake.jobs[-2:]
    assert delete["OP_ID"] == "OP_TAGS_DEL"
    assert delete["tags"] == ["synnefo:network:0:unprotected"]
    assert add["OP_ID"] == "OP_TAGS_SET" and add["tags"] == ["synnefo:network:0:protected"]
    assert add["name"] == vm.backend_vm_id and job == add_job
    with pytest.raises(ValueError):
        instances.set_firewall_profile(vm, 0, "OPEN")


def test_firewall_profile_without_old_tags_adds_only(fake):
    vm = make_vm()
    instances.set_firewall_profile(vm, 0, "PROTECTED")
    assert [ops[0]["OP_ID"] for _, ops in fake.jobs] == ["OP_TAGS_SET"]
    assert fake.last_op()["tags"] == ["synnefo:network:0:limited"]


def test_console_info_from_primary_node_and_port(fake):
    vm = make_vm()
    fake.instances[vm.backend_vm_id] = {"pnode": "node1.example.org", "network_port": 11004}
    assert instances.get_console_info(vm) == {"host": "node1.example.org", "port": 11004}
    fake.instances[vm.backend_vm_id] = {"pnode": "node1.example.org", "network_port": None}
    with pytest.raises(RapiError):
        instances.get_console_info(vm)


def test_unknown_instance_is_a_rapi_error_naming_the_cluster(fake):
    vm = make_vm()
    with pytest.raises(RapiError) as exc:
        instances.get_console_info(vm)
    assert "fake.example.org" in str(exc.value) and exc.value.code == 404


def test_wrong_credentials_are_an_error_without_the_password(fake):
    vm = make_vm()
    m.Backend.objects.filter(pk=vm.backend_id).update(password="wrong-pass")
    vm.refresh_from_db()
    with pytest.raises(RapiError) as exc:
        instances.startup_instance(vm)
    assert exc.value.code == 401 and "wrong-pass" not in str(exc.value)


def test_vm_without_backend_is_a_clear_error(fake):
    vm = make_vm()
    vm.backend = None
    with pytest.raises(RapiError) as exc:
        instances.startup_instance(vm)
    assert "no Ganeti backend" in str(exc.value)


def test_certificate_pinning_settings(settings):
    settings.GANETI_RAPI_CURL_FACTORY = None
    backend = m.Backend(clustername="c.example.org", certificate="")
    settings.GANETI_RAPI_VERIFY = True
    client = client_for(backend)
    assert client.verify and client.cafile is None
    settings.GANETI_RAPI_VERIFY = False
    assert not client_for(backend).verify
    pem = "-----BEGIN PRIVATE KEY-----\nAAA\n-----END PRIVATE KEY-----\n" \
          "-----BEGIN CERTIFICATE-----\nBBB\n-----END CERTIFICATE-----\n"
    backend.certificate = certificates_only(pem)
    assert "PRIVATE" not in backend.certificate and "BBB" in backend.certificate
    client = client_for(backend)
    assert client.verify and open(client.cafile).read() == backend.certificate
