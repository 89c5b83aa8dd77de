"""Instance operations on a Ganeti backend: what logic calls to make Ganeti act.

Every function submits one Ganeti job (or reads) over RAPI and returns at once; the
outcome reaches the database later through eventd -> RabbitMQ -> the dispatcher.
All raise ``synnefo.backend.rapi.RapiError`` (or a subclass) on failure.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
from typing import TYPE_CHECKING, Any

from django.conf import settings

from synnefo.backend import networks
from synnefo.backend.client import client_of
from synnefo.backend.rapi import RapiError
from synnefo.common.protocol import FIREWALL_PROFILES, FIREWALL_TAG_PREFIX, firewall_tag

if TYPE_CHECKING:
    from synnefo.backend.rapi import RapiClient
    from synnefo.db.models import Flavor, Image, VirtualMachine

log = logging.getLogger(__name__)


# -- create ------------------------------------------------------------------------

def _image_properties(image: Image | None) -> dict[str, str]:
    if image is None:
        return {}
    return {m.meta_key.upper(): m.meta_value for m in image.metadata.all()}


def _personality_with_key(personality: list[dict[str, Any]] | None,
                          public_key: str | None) -> list[dict[str, Any]]:
    files = [dict(p) for p in (personality or [])]
    if public_key:
        files.append({"path": "/root/.ssh/authorized_keys",
                      "contents": base64.b64encode(public_key.strip().encode("utf-8")
                                                   + b"\n").decode("ascii"),
                      "owner": "root", "group": "root", "mode": 0o600})
    return files


def build_create_spec(vm: VirtualMachine, password: str,
                      personality: list[dict[str, Any]] | None = None,
                      public_key: str | None = None,
                      image_params: dict[str, str] | None = None) -> dict[str, Any]:
    """The RAPI create request (version 1 body) for ``vm``.

    ``image_params``: OS parameters logic chose for where the image data is (img_id as
    a signed link, img_checksum); they replace the defaults taken from the image row.

    Starts from a deep copy of GANETI_CREATEINSTANCE_KWARGS: the setting itself is
    never changed (the original mutated it on every request).
    """
    flavor, image, backend = vm.flavor, vm.image, vm.backend
    spec = copy.deepcopy(settings.GANETI_CREATEINSTANCE_KWARGS or {})
    os_type = spec.pop("os", None) or spec.pop("os_type", None) or settings.GANETI_OS
    nic_rows = list(vm.nics.select_related("network").order_by("index"))
    spec.update({
        "mode": "create",
        "name": vm.backend_vm_id,
        "os_type": os_type,
        "disk_template": flavor.disk_template,
        "disks": ([] if flavor.disk_template == "diskless"
                  else [{"size": flavor.disk * 1024}]),  # GiB -> MiB
        "nics": [networks.nic_spec(nic) for nic in nic_rows],
    })
    # The NICs' firewall profiles travel as instance tags from the start, so the
    # instance-add hook already reports what the database holds.
    tags = list(spec.get("tags") or [])
    tags += [firewall_tag(nic.index, nic.firewall_profile) for nic in nic_rows
             if nic.firewall_profile in FIREWALL_PROFILES and nic.index is not None]
    if tags:
        spec["tags"] = tags
    spec.setdefault("ip_check", False)
    spec.setdefault("name_check", False)
    beparams = dict(spec.get("beparams") or {})
    beparams.update(vcpus=flavor.cpu, maxmem=flavor.ram, minmem=flavor.ram)
    spec["beparams"] = beparams
    if backend is not None and backend.hypervisor:
        spec.setdefault("hypervisor", backend.hypervisor)
        if backend.hypervisor == "kvm":
            # A serial console would take the VNC console away (#785).
            spec.setdefault("hvparams", {}).setdefault("serial_console", False)
    osparams = dict(spec.get("osparams") or {})
    osparams.update({
        "img_id": image.backend_id if image is not None else "",
        "img_format": image.format if image is not None else "",
        "img_properties": json.dumps(_image_properties(image), sort_keys=True),
    })
    osparams.update(image_params or {})
    files = _personality_with_key(personality, public_key)
    if files:
        osparams["img_personality"] = json.dumps(files)
    if vm.user_data:
        # base64 as the client sent it; the OS provider decodes it for cloud-init & co.
        osparams["img_user_data"] = vm.user_data
    spec["osparams"] = osparams
    # The root password as a secret OS parameter: Ganeti hands it to the OS scripts
    # (OSP_IMG_PASSWD) but never writes it to its config or job files, nor shows it
    # in job info over RAPI, as it would an ordinary osparam.
    secret = dict(spec.get("osparams_secret") or {})
    secret["img_passwd"] = password
    spec["osparams_secret"] = secret
    return spec


def _only_node(client: RapiClient) -> str | None:
    """The node of a one-node cluster, else None (the cluster's iallocator decides).

    On one node there is nothing to choose, and hail refuses placements there that
    break N+1 redundancy ("FailN1") even for templates without a secondary.
    """
    nodes = [n for n in client.get_nodes(bulk=True)
             if n.get("vm_capable", True) and not n.get("offline") and not n.get("drained")]
    return nodes[0]["name"] if len(nodes) == 1 else None


def create_instance(vm: VirtualMachine, password: str,
                    personality: list[dict[str, Any]] | None = None,
                    public_key: str | None = None,
                    image_params: dict[str, str] | None = None) -> int:
    """Submit the create job of ``vm`` (saved, with flavor, image, backend, NIC rows)."""
    spec = build_create_spec(vm, password, personality, public_key, image_params)
    client = client_of(vm)
    if not spec.get("pnode") and not spec.get("iallocator"):
        node = _only_node(client)
        if node:
            spec["pnode"] = node
    log.info("creating instance %s on %s", vm.backend_vm_id, vm.backend.clustername)
    return client.create_instance(spec)


# -- power and removal -------------------------------------------------------------

def startup_instance(vm: VirtualMachine) -> int:
    return client_of(vm).startup_instance(vm.backend_vm_id)


def shutdown_instance(vm: VirtualMachine) -> int:
    return client_of(vm).shutdown_instance(vm.backend_vm_id,
                                           timeout=settings.GANETI_SHUTDOWN_TIMEOUT)


def reboot_instance(vm: VirtualMachine, reboot_type: str | None) -> int:
    reboot_type = (reboot_type or "").lower()
    if reboot_type not in ("soft", "hard"):
        raise ValueError("reboot type must be 'soft' or 'hard', not %r" % reboot_type)
    return client_of(vm).reboot_instance(vm.backend_vm_id, reboot_type)


def delete_instance(vm: VirtualMachine, after_job: int | None = None) -> int:
    """Remove the instance; ``after_job``: a job (the create) Ganeti must finish first."""
    return client_of(vm).delete_instance(vm.backend_vm_id, after_job=after_job,
                                         shutdown_timeout=settings.GANETI_SHUTDOWN_TIMEOUT)


def resize_instance(vm: VirtualMachine, flavor: Flavor) -> int:
    """Change vcpus and memory to those of ``flavor`` (takes effect on next start)."""
    return client_of(vm).modify_instance(
        vm.backend_vm_id, beparams={"vcpus": flavor.cpu, "maxmem": flavor.ram,
                                    "minmem": flavor.ram})


# -- firewall profiles (tags) ------------------------------------------------------

def set_firewall_profile(vm: VirtualMachine, nic_index: int, profile: str) -> int:
    """Replace the NIC's firewall tag; returns the job that adds the new tag.

    Ganeti refuses to delete a tag that is not set, so only the present ones are
    removed. Logic records the wanted profile when the job is accepted; the tag
    job's op-status (eventd sends its tags) confirms it, and the net-status hook
    reports it from the tags at every later instance operation. No dummy instance
    modification is needed.
    """
    wanted = firewall_tag(nic_index, profile)
    client = client_of(vm)
    name = vm.backend_vm_id
    prefix = "%s%d:" % (FIREWALL_TAG_PREFIX, int(nic_index))
    present = [t for t in client.get_instance_tags(name)
               if t.startswith(prefix) and t != wanted]
    if present:
        client.delete_instance_tags(name, present)
    return client.add_instance_tags(name, [wanted])


# -- reads ---------------------------------------------------------------------------

def get_console_info(vm: VirtualMachine) -> dict[str, Any]:
    """Where the VM's VNC console listens: its primary node and port."""
    info = client_of(vm).get_instance(vm.backend_vm_id)
    port = info.get("network_port")
    if not info.get("pnode") or not port:
        raise RapiError(vm.backend.clustername, "console of %s" % vm.backend_vm_id,
                        "Ganeti reports no console port for this instance")
    return {"host": info["pnode"], "port": int(port)}


def get_instance_info(vm: VirtualMachine) -> dict[str, Any]:
    return client_of(vm).get_instance(vm.backend_vm_id)
