"""/compute/v2.1/limits (absolute quotas and usage) and /extensions."""

from django.conf import settings

from synnefo.logic import images, keypairs, quotas

from .util import api_view, json_response

EXTENSIONS = [
    ("SNF", "synnefo", "Synnefo extensions: start/shutdown, firewallProfile, SNF: fields"),
    ("os-keypairs", "Keypairs", "Key pair support"),
    ("os-server-start-stop", "ServerStartStop", "Start/Stop instance compute API support"),
    ("OS-DCF", "DiskConfig", "Disk Management Extension"),
    ("OS-EXT-STS", "ExtendedStatus", "Extended Status support"),
    ("os-consoles", "Consoles", "Interactive console support (needs the console proxy)"),
]


@api_view(["GET"])
def limits(request):
    user = request.snf_user
    lim = quotas.limits(user)
    used = quotas.usage(user)
    absolute = {
        "maxTotalInstances": lim["servers"], "totalInstancesUsed": used["servers"],
        "maxTotalCores": lim["cores"], "totalCoresUsed": used["cores"],
        "maxTotalRAMSize": lim["ram"], "totalRAMUsed": used["ram"],
        "maxServerMeta": settings.MAX_METADATA_ITEMS, "maxImageMeta": settings.MAX_METADATA_ITEMS,
        "maxPersonality": settings.MAX_PERSONALITY,
        "maxPersonalitySize": settings.MAX_PERSONALITY_SIZE,
        "maxTotalKeypairs": settings.MAX_KEYPAIRS_PER_USER,
        "maxSecurityGroups": 0, "maxSecurityGroupRules": 0, "totalSecurityGroupsUsed": 0,
        "maxTotalFloatingIps": 0, "totalFloatingIpsUsed": 0,
        "maxServerGroups": 0, "maxServerGroupMembers": 0, "totalServerGroupsUsed": 0,
        "SNF:maxTotalDiskSize": lim["disk"], "SNF:totalDiskUsed": used["disk"],
        "SNF:maxTotalNetworks": lim["networks"],
        "SNF:maxTotalImageSpace": lim["image_space"],  # MiB, as the used space below
        "SNF:totalImageSpaceUsed": -(-images.space_used(user) // images.MIB),
        "SNF:totalKeypairsUsed": keypairs.keypair_count(user),
    }
    return json_response({"limits": {"rate": [], "absolute": absolute}})


@api_view(["GET"])
def extensions(request):
    return json_response({"extensions": [
        {"alias": alias, "name": name, "description": description, "links": [],
         "namespace": "http://docs.openstack.org/compute/ext/fake_xml",
         "updated": "2014-12-03T00:00:00Z"} for alias, name, description in EXTENSIONS]})
