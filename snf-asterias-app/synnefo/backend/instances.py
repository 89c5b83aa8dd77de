"""Instance operations on a Ganeti backend: what logic calls to make Ganeti act.

Every function submits one Ganeti job (or reads) over RAPI and returns at once; the
outcome reaches the database later through eventd -> RabbitMQ -> the dispatcher.
All raise ``synnefo.backend.rapi.RapiError`` (or a subclass) on failure.
"""

import base64
import copy
import hashlib
import json
import logging
import os
import tempfile

from django.conf import settings

from synnefo.backend.rapi import RapiClient, RapiError
from synnefo.common.protocol import FIREWALL_PROFILES, FIREWALL_TAG_PREFIX, firewall_tag

log = logging.getLogger(__name__)


def _setting(name, default=None):
    return getattr(settings, name, default)


def _pinned_cafile(pem):
    """A file holding ``pem`` (curl wants a path); one per certificate, reused."""
    digest = hashlib.sha256(pem.encode("utf-8")).hexdigest()[:32]
    directory = os.path.join(tempfile.gettempdir(), "synnefo-rapi-certs-%d" % os.getuid())
    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = os.path.join(directory, digest + ".pem")
    if not os.path.exists(path):
        fd, tmp = tempfile.mkstemp(dir=directory)
        with os.fdopen(fd, "w") as f:
            f.write(pem)
        os.replace(tmp, path)
    return path


def certificates_only(pem):
    """The certificate blocks of a PEM text (Ganeti's rapi.pem also holds the key)."""
    blocks, inside = [], None
    for line in pem.splitlines():
        if line.strip() == "-----BEGIN CERTIFICATE-----":
            inside = [line.strip()]
        elif inside is not None:
            inside.append(line.strip())
            if line.strip() == "-----END CERTIFICATE-----":
                blocks.append("\n".join(inside))
                inside = None
    return "\n".join(blocks) + "\n" if blocks else ""


def client_for(backend, curl_factory=None):
    """The RAPI client of a ``db.models.Backend`` row.

    A certificate stored on the row is pinned (the chain must be that certificate;
    Ganeti's self-signed one names no useful host). Without one, GANETI_RAPI_VERIFY
    decides between the system CA store and no verification.
    """
    kw = {}
    if curl_factory is not None:
        kw["curl_factory"] = curl_factory
    elif _setting("GANETI_RAPI_CURL_FACTORY"):
        kw["curl_factory"] = _setting("GANETI_RAPI_CURL_FACTORY")
    if backend.certificate.strip():
        kw.update(verify=True, cafile=_pinned_cafile(backend.certificate))
    else:
        kw.update(verify=bool(_setting("GANETI_RAPI_VERIFY", True)))
    return RapiClient(backend.clustername, port=backend.port,
                      username=backend.username or None, password=backend.password or None,
                      timeout=_setting("GANETI_RAPI_TIMEOUT", 60), **kw)


def _client(vm):
    if vm.backend is None:
        raise RapiError("(none)", "server %s" % vm.id,
                        "the server has no Ganeti backend assigned")
    return client_for(vm.backend)


# -- create ------------------------------------------------------------------------

def _nic_spec(nic):
    """One NIC of the create (or NIC add) request from a NetworkInterface row.

    ``synnefo.backend.networks.nic_spec`` decides: a NIC on a network with an IPv4
    subnet names the Ganeti network and takes its address from Ganeti's pool (the
    net-status report brings it back); one on a network without a subnet is a plain
    NIC on the network's link.
    """
    from synnefo.backend import networks  # it imports this module (client_for)
    return networks.nic_spec(nic)


def _image_properties(image):
    if image is None:
        return {}
    return {m.meta_key.upper(): m.meta_value for m in image.metadata.all()}


def _personality_with_key(personality, public_key):
    files = [dict(p) for p in (personality or [])]
    if public_key:
        files.append({"path": "/root/.ssh/authorized_keys",
                      "contents": base64.b64encode(public_key.strip().encode("utf-8")
                                                   + b"\n").decode("ascii"),
                      "owner": "root", "group": "root", "mode": 0o600})
    return files


def build_create_spec(vm, password, personality=None, public_key=None):
    """The RAPI create request (version 1 body) for ``vm``.

    Starts from a deep copy of GANETI_CREATEINSTANCE_KWARGS: the setting itself is
    never changed (the original mutated it on every request).
    """
    flavor, image, backend = vm.flavor, vm.image, vm.backend
    spec = copy.deepcopy(_setting("GANETI_CREATEINSTANCE_KWARGS", {}) or {})
    os_type = spec.pop("os", None) or spec.pop("os_type", None) or settings.GANETI_OS
    spec.update({
        "mode": "create",
        "name": vm.backend_vm_id,
        "os_type": os_type,
        "disk_template": flavor.disk_template,
        "disks": ([] if flavor.disk_template == "diskless"
                  else [{"size": flavor.disk * 1024}]),  # GiB -> MiB
        "nics": [_nic_spec(nic) for nic in vm.nics.select_related("network").order_by("index")],
    })
    # The NICs' firewall profiles travel as instance tags from the start, so the
    # instance-add hook already reports what the database holds.
    nic_rows = vm.nics.select_related("network").order_by("index")
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


def _only_node(client):
    """The node of a one-node cluster, else None (the cluster's iallocator decides).

    On one node there is nothing to choose, and hail refuses placements there that
    break N+1 redundancy ("FailN1") even for templates without a secondary.
    """
    nodes = [n for n in client.get_nodes(bulk=True)
             if n.get("vm_capable", True) and not n.get("offline") and not n.get("drained")]
    return nodes[0]["name"] if len(nodes) == 1 else None


def create_instance(vm, password, personality=None, public_key=None):
    """Submit the create job of ``vm`` (saved, with flavor, image, backend, NIC rows)."""
    spec = build_create_spec(vm, password, personality, public_key)
    client = _client(vm)
    if not spec.get("pnode") and not spec.get("iallocator"):
        node = _only_node(client)
        if node:
            spec["pnode"] = node
    log.info("creating instance %s on %s", vm.backend_vm_id, vm.backend.clustername)
    return client.create_instance(spec)


# -- power and removal -------------------------------------------------------------

def startup_instance(vm):
    return _client(vm).startup_instance(vm.backend_vm_id)


def shutdown_instance(vm):
    timeout = _setting("GANETI_SHUTDOWN_TIMEOUT", None)
    return _client(vm).shutdown_instance(vm.backend_vm_id, timeout=timeout)


def reboot_instance(vm, reboot_type):
    reboot_type = (reboot_type or "").lower()
    if reboot_type not in ("soft", "hard"):
        raise ValueError("reboot type must be 'soft' or 'hard', not %r" % reboot_type)
    return _client(vm).reboot_instance(vm.backend_vm_id, reboot_type)


def delete_instance(vm, after_job=None):
    """Remove the instance; ``after_job``: a job (the create) Ganeti must finish first."""
    return _client(vm).delete_instance(vm.backend_vm_id, after_job=after_job)


def resize_instance(vm, flavor):
    """Change vcpus and memory to those of ``flavor`` (takes effect on next start)."""
    return _client(vm).modify_instance(
        vm.backend_vm_id, beparams={"vcpus": flavor.cpu, "maxmem": flavor.ram,
                                    "minmem": flavor.ram})


def add_nic(vm, nic):
    """Add NIC row ``nic`` to the instance (one instance-modify job)."""
    from synnefo.backend import networks
    return networks.add_nic(vm, nic)


def remove_nic(vm, nic):
    """Remove NIC row ``nic`` from the instance; None when Ganeti has no such NIC."""
    from synnefo.backend import networks
    return networks.remove_nic(vm, nic)


# -- firewall profiles (tags) ------------------------------------------------------

def set_firewall_profile(vm, nic_index, profile):
    """Replace the NIC's firewall tag; returns the job that adds the new tag.

    Ganeti refuses to delete a tag that is not set, so only the present ones are
    removed. Logic records the wanted profile when the job is accepted; the tag
    job's op-status (eventd sends its tags) confirms it, and the net-status hook
    reports it from the tags at every later instance operation. No dummy instance
    modification is needed.
    """
    wanted = firewall_tag(nic_index, profile)
    client = _client(vm)
    name = vm.backend_vm_id
    prefix = "%s%d:" % (FIREWALL_TAG_PREFIX, int(nic_index))
    present = [t for t in client.get_instance_tags(name)
               if t.startswith(prefix) and t != wanted]
    if present:
        client.delete_instance_tags(name, present)
    return client.add_instance_tags(name, [wanted])


# -- reads ---------------------------------------------------------------------------

def get_console_info(vm):
    """Where the VM's VNC console listens: its primary node and port."""
    info = _client(vm).get_instance(vm.backend_vm_id)
    port = info.get("network_port")
    if not info.get("pnode") or not port:
        raise RapiError(vm.backend.clustername, "console of %s" % vm.backend_vm_id,
                        "Ganeti reports no console port for this instance")
    return {"host": info["pnode"], "port": int(port)}


def get_instance_info(vm):
    return _client(vm).get_instance(vm.backend_vm_id)
