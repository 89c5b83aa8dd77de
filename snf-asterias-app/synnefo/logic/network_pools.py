"""The pools a private network takes from: bridges (PRIVATE_BRIDGED) and MAC prefixes
(PRIVATE_MAC_FILTERED). A value is free once no network holds it, nor still exists on
some backend; allocations are serialised by ``lock_pools``."""

from django.conf import settings
from django.db.models import Q

from synnefo.db.models import Backend, Network

from .errors import OverLimit


def _in_use(field):
    """Values of ``field`` held by networks that exist or still exist on some backend."""
    alive = Q(deleted=False) | Q(backend_networks__operstate__in=("PENDING", "ACTIVE",
                                                                  "ERROR"))
    return set(Network.objects.filter(alive).values_list(field, flat=True))


def allocate_bridge():
    prefix = settings.PRIVATE_BRIDGE_PREFIX
    taken = _in_use("link")
    for i in range(1, int(settings.PRIVATE_BRIDGE_COUNT) + 1):
        link = "%s%d" % (prefix, i)
        if link not in taken:
            return link
    raise OverLimit("No private bridge is free (all %d of PRIVATE_BRIDGE_COUNT are in use): "
                    "delete a network or ask an administrator for more bridges."
                    % settings.PRIVATE_BRIDGE_COUNT, resource="networks")


def allocate_mac_prefix():
    base = settings.MAC_PREFIX_BASE.lower()
    taken = _in_use("mac_prefix")
    for i in range(1, 256):
        prefix = "%s:%02x" % (base, i)
        if prefix not in taken:
            return prefix
    raise OverLimit("No MAC prefix is free for a new private network: delete a network or "
                    "ask an administrator.", resource="networks")


def lock_pools():
    """Serialise pool allocations: every creation locks the backend rows, in id order."""
    list(Backend.objects.select_for_update().order_by("pk").values_list("pk", flat=True))
