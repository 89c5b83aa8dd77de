"""Per-user quotas: limits (settings defaults, per-user overrides) and current usage."""

from django.conf import settings
from django.db.models import Count, Sum

from synnefo.db.models import VirtualMachine

from .errors import OverLimit

# resource -> (User field, settings default name, unit for messages)
RESOURCES = {
    "servers": ("max_servers", "QUOTA_MAX_SERVERS", ""),
    "cores": ("max_cores", "QUOTA_MAX_CORES", ""),
    "ram": ("max_ram", "QUOTA_MAX_RAM", " MiB"),
    "disk": ("max_disk", "QUOTA_MAX_DISK", " GiB"),
    "networks": ("max_networks", "QUOTA_MAX_NETWORKS", ""),
    "image_space": ("max_image_space", "QUOTA_MAX_IMAGE_SPACE", " MiB"),
}


def limits(user):
    out = {}
    for resource, (field, default, _unit) in RESOURCES.items():
        value = getattr(user, field)
        out[resource] = getattr(settings, default) if value is None else value
    return out


def usage(user):
    """Servers not deleted count, with their flavors' cores, RAM and disk."""
    agg = (VirtualMachine.objects.filter(owner=user, deleted=False)
           .aggregate(servers=Count("id"), cores=Sum("flavor__cpu"), ram=Sum("flavor__ram"),
                      disk=Sum("flavor__disk")))
    return {k: agg[k] or 0 for k in ("servers", "cores", "ram", "disk")}


def _server_delta(flavor, adding_server=True, old_flavor=None):
    return {"servers": 1 if adding_server else 0,
            "cores": flavor.cpu - (old_flavor.cpu if old_flavor else 0),
            "ram": flavor.ram - (old_flavor.ram if old_flavor else 0),
            "disk": flavor.disk - (old_flavor.disk if old_flavor else 0)}


def servers_that_fit(user, flavor, at_most):
    """How many more servers of ``flavor`` (up to ``at_most``) the user's quota allows.
    Call it, as the check below, with the user row locked."""
    lim, used = limits(user), usage(user)
    fit = at_most
    for resource, each in _server_delta(flavor).items():
        if each > 0:
            fit = min(fit, max(0, (lim[resource] - used[resource]) // each))
    return fit


def check_server_quota(user, flavor, adding_server=True, old_flavor=None, count=1):
    """OverLimit naming the first resource the change (``count`` times) would exceed.

    Call inside the transaction that inserts or resizes, with the user row locked,
    so two concurrent requests cannot both pass the check.
    """
    lim = limits(user)
    used = usage(user)
    delta = {k: v * count for k, v in _server_delta(flavor, adding_server, old_flavor).items()}
    for resource in ("servers", "cores", "ram", "disk"):
        if delta[resource] > 0 and used[resource] + delta[resource] > lim[resource]:
            unit = RESOURCES[resource][2]
            raise OverLimit(
                "Quota exceeded for %s: %d%s in use, %d%s requested, limit %d%s. Delete "
                "servers or ask an administrator for a larger quota."
                % (resource, used[resource], unit, delta[resource], unit, lim[resource], unit),
                resource=resource)
