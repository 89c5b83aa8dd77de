"""Database rows -> OpenStack v2.1 JSON shapes (plus Synnefo's "SNF:" fields).

Serializers read only what ``logic.servers.with_details`` already fetched, so a list
of any length costs a constant number of queries. Servers come as ``ServerRow``s
(logic/server_rows.py): plain attributes, NICs and metadata already attached.
"""

import re

from synnefo.logic import server_state

from .util import base_url, compute_url, isotime, request_version

NETWORK_KEY_RE = re.compile(r"^[a-zA-Z0-9-_.]+$")
POWER_STATE = {"STARTED": 1, "STOPPED": 4, "BUILD": 0, "ERROR": 0, "DESTROYED": 0}
# The one availability zone every server is in (Nova's default name).
AVAILABILITY_ZONE = "nova"
# Nova shows "progress" only in these states (Tempest checks that a stopped server has none).
PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")
VM_STATE = {"BUILD": "building", "STARTED": "active", "STOPPED": "stopped", "ERROR": "error",
            "DESTROYED": "deleted"}


def _link_bases(request):
    """(self, bookmark) URL prefixes of a request, worked out once per request: a list
    of 1,000 servers asks for 3,000 links."""
    bases = getattr(request, "_snf_link_bases", None)
    if bases is None:
        base = base_url(request)
        bases = ("%s/compute/%s/" % (base, request_version(request)), base + "/compute/")
        request._snf_link_bases = bases
    return bases


def links(request, collection, item_id):
    own, bookmark = _link_bases(request)
    return [{"rel": "self", "href": "%s%s/%s" % (own, collection, item_id)},
            {"rel": "bookmark", "href": "%s%s/%s" % (bookmark, collection, item_id)}]


def network_key(name, network_id):
    """The addresses key of a network: its name when clients can use it as a key."""
    return name if NETWORK_KEY_RE.match(name or "") else "net-%d" % network_id


def addresses(vm):
    out = {}
    for nic in vm.nics:
        entries = out.setdefault(network_key(nic.network_name, nic.network_id), [])
        if nic.ipv4:
            entries.append({"version": 4, "addr": nic.ipv4})
        if nic.ipv6:
            entries.append({"version": 6, "addr": nic.ipv6})
    return out


def attachments(vm):
    out = []
    for nic in vm.nics:
        item = {"id": "nic-%d-%s" % (vm.id, nic.index), "network_id": str(nic.network_id),
                "mac_address": nic.mac, "ipv4": nic.ipv4, "ipv6": nic.ipv6,
                "state": nic.state}
        if nic.firewall_profile:
            item["firewallProfile"] = nic.firewall_profile
        out.append(item)
    return out


def server_brief(request, vm):
    return {"id": str(vm.id), "name": vm.name, "links": links(request, "servers", vm.id)}


def server_detail(request, vm):
    status = server_state.api_status(vm)
    data = {
        "id": str(vm.id),
        "name": vm.name,
        "status": status,
        "links": links(request, "servers", vm.id),
        "image": ({"id": str(vm.image_id), "links": links(request, "images", vm.image_id)}
                  if vm.image_id else ""),
        "flavor": {"id": str(vm.flavor_id), "links": links(request, "flavors", vm.flavor_id)},
        "addresses": addresses(vm),
        "created": isotime(vm.created),
        "updated": isotime(vm.updated),
        "tenant_id": str(vm.owner_id),
        "user_id": str(vm.owner_id),
        "hostId": "",
        "metadata": dict(vm.metadata),
        "accessIPv4": vm.access_ipv4,
        "accessIPv6": vm.access_ipv6,
        "key_name": vm.key_name or None,
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-STS:task_state": server_state.task_state(vm),
        "OS-EXT-STS:vm_state": "deleted" if vm.deleted else VM_STATE.get(vm.operstate, "error"),
        "OS-EXT-STS:power_state": POWER_STATE.get(vm.operstate, 0),
        "OS-EXT-AZ:availability_zone": AVAILABILITY_ZONE,
        "OS-SRV-USG:launched_at": None,
        "OS-SRV-USG:terminated_at": None,
        "os-extended-volumes:volumes_attached": [],
        "SNF:task_state": vm.action if server_state.task_pending(vm) else None,
        "SNF:attachments": attachments(vm),
        "SNF:suspended": vm.suspended,
    }
    if status in PROGRESS_STATUSES:
        data["progress"] = server_state.progress(vm)
    if status == "ERROR":
        data["fault"] = {"code": vm.fault_code or 500, "created": isotime(vm.updated),
                         "message": vm.fault_message or "The server failed; see details.",
                         "details": vm.fault_details or vm.backendlogmsg or ""}
    return data


def flavor_brief(request, flavor):
    return {"id": str(flavor.id), "name": flavor.name,
            "links": links(request, "flavors", flavor.id)}


def flavor_detail(request, flavor):
    data = flavor_brief(request, flavor)
    data.update({"ram": flavor.ram, "vcpus": flavor.cpu, "disk": flavor.disk, "swap": "",
                 "OS-FLV-EXT-DATA:ephemeral": 0, "OS-FLV-DISABLED:disabled": flavor.deleted,
                 "os-flavor-access:is_public": True, "rxtx_factor": 1.0,
                 "SNF:disk_template": flavor.disk_template})
    return data


def image_links(request, image):
    return links(request, "images", image.id)


def image_brief(request, image):
    return {"id": str(image.id), "name": image.name, "links": image_links(request, image)}


def image_detail(request, image):
    # Nova shows an image still waiting for its data (Glance's queued) as SAVING.
    status = {"ACTIVE": "ACTIVE", "SAVING": "SAVING", "QUEUED": "SAVING",
              "DELETED": "DELETED"}.get(image.state, "UNKNOWN")
    return {"id": str(image.id), "name": image.name, "status": status,
            "progress": 100 if status == "ACTIVE" else 0,
            "created": isotime(image.created), "updated": isotime(image.updated),
            "minDisk": image.min_disk, "minRam": image.min_ram,
            "metadata": {m.meta_key: m.meta_value for m in image.metadata.all()},
            "links": image_links(request, image),
            "OS-EXT-IMG-SIZE:size": image.size,
            "SNF:public": image.public,
            "SNF:owner": str(image.owner_id) if image.owner_id else None,
            "SNF:format": image.format}


def glance_image(request, image):
    """A Glance v2 image: properties are flattened into the top level. ``checksum`` is
    Glance's MD5 of the data, ``os_hash_value`` its SHA-256 (None until data is stored)."""
    data = {m.meta_key: m.meta_value for m in image.metadata.all()}
    data.update({
        "id": str(image.id), "name": image.name or None,
        "status": image.state.lower() if image.state else "queued",
        "visibility": "public" if image.public else "private",
        "protected": image.owner_id is None, "os_hidden": False,
        "container_format": image.container_format or "bare",
        "disk_format": image.disk_format or "raw", "synnefo_format": image.format,
        "min_disk": image.min_disk, "min_ram": image.min_ram,
        "size": image.size or None, "virtual_size": None, "checksum": image.md5 or None,
        "os_hash_algo": "sha256" if image.checksum else None,
        "os_hash_value": image.checksum or None,
        "owner": str(image.owner_id) if image.owner_id else "system",
        "created_at": isotime(image.created), "updated_at": isotime(image.updated),
        "tags": [], "self": "/v2/images/%d" % image.id, "file": "/v2/images/%d/file" % image.id,
        "schema": "/v2/schemas/image",
    })
    return data


def keypair(kp, with_user=False):
    data = {"name": kp.name, "public_key": kp.public_key, "fingerprint": kp.fingerprint}
    if with_user:
        data.update({"user_id": str(kp.owner_id), "id": kp.id, "deleted": False,
                     "created_at": isotime(kp.created), "updated_at": None,
                     "deleted_at": None})
    return data


__all__ = ["compute_url"]
