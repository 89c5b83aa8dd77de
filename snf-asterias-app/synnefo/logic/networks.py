"""Networks: the business rules of the network resource (list, create, rename, delete).

* The public network (PUBLIC_ROUTED, one per deployment, made by an administrator:
  ``network_admin``) routes an IPv4 pool and an IPv6 /64 in which guests take EUI-64
  addresses.
* Users create private networks: PRIVATE_MAC_FILTERED (one shared bridge, isolated
  by a per-network MAC prefix) or PRIVATE_BRIDGED (a bridge of their own, taken from
  a pool of pre-provisioned ones: ``network_pools``).
* A network's IPv4 subnet (``subnets``) is a Ganeti network object on every backend,
  connected to the node groups; Ganeti's pool hands out the addresses.
* Its ports (server NICs) are in ``ports``.

Writes after a RAPI call use ``QuerySet.update`` (the dispatcher may have written the
row meanwhile); lock order is user, then server, then network, then backend rows.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from synnefo.backend import networks as gnet
from synnefo.backend.rapi import RapiError, user_reason
from synnefo.db.models import BackendNetwork, Network, NetworkInterface, User

from . import quotas
from .errors import Conflict, Forbidden, InvalidInput, NotFound, OverLimit
from .ids import parse_id
from .network_pools import allocate_bridge, allocate_mac_prefix, lock_pools
from .text import check_no_control

log = logging.getLogger(__name__)

PRIVATE_TYPES = ("PRIVATE_MAC_FILTERED", "PRIVATE_BRIDGED")
TYPES = ("PUBLIC_ROUTED",) + PRIVATE_TYPES


# -- reading -----------------------------------------------------------------------------

def visible_networks(user, include_deleted=False):
    query = Network.objects.all()
    if not user.is_admin:
        query = query.filter(Q(public=True) | Q(owner=user))
    if not include_deleted:
        query = query.filter(deleted=False)
    return query


def id_or_not_found(value, what):
    pk = parse_id(value.strip() if isinstance(value, str) else value)
    if pk is None:
        raise NotFound("%s %s not found." % (what, value))
    return pk


def list_networks(user):
    """The networks ``user`` sees, oldest first."""
    return list(visible_networks(user).order_by("id"))


def get_network(user, network_id, for_update=False):
    pk = id_or_not_found(network_id, "Network")
    query = visible_networks(user)
    if for_update:
        query = query.select_for_update()
    try:
        return query.get(pk=pk)
    except Network.DoesNotExist:
        raise NotFound("Network %s not found." % (network_id,)) from None


def may_change(user, network):
    if network.public and not user.is_admin:
        raise Forbidden("The public network %d can be changed only by an administrator."
                        % network.id)
    if network.owner_id not in (None, user.id) and not user.is_admin:
        raise Forbidden("Network %d belongs to another user." % network.id)


def network_ports(network):
    """The live ports (NICs of servers not deleted) on ``network``."""
    return NetworkInterface.objects.filter(network=network, machine__deleted=False)


# -- changing ------------------------------------------------------------------------------

def check_name(name, what="name"):
    if not isinstance(name, str) or len(name) > 255:
        raise InvalidInput("'%s' must be a string of at most 255 characters." % what)
    check_no_control(name, "'%s'" % what)
    return name.strip()


def create_network(user, name, net_type=None):
    """A private network of ``user`` (no subnet yet: nothing to do on Ganeti)."""
    name = check_name(name)
    net_type = net_type or settings.DEFAULT_PRIVATE_NETWORK_TYPE
    if net_type not in PRIVATE_TYPES:
        raise InvalidInput("A network users create is one of %s, not %r."
                           % (", ".join(PRIVATE_TYPES), net_type))
    with transaction.atomic():
        owner = User.objects.select_for_update().get(pk=user.pk)
        limit = quotas.limits(owner)["networks"]
        used = Network.objects.filter(owner=owner, deleted=False).count()
        if used + 1 > limit:
            raise OverLimit("Quota exceeded for networks: %d in use, limit %d. Delete a network "
                            "or ask an administrator for a larger quota." % (used, limit),
                            resource="networks")
        lock_pools()
        if net_type == "PRIVATE_BRIDGED":
            link, mac_prefix = allocate_bridge(), ""
        else:
            link = settings.PRIVATE_MAC_FILTERED_BRIDGE
            mac_prefix = allocate_mac_prefix()
        return Network.objects.create(name=name, owner=owner, public=False, type=net_type,
                                      link=link, mac_prefix=mac_prefix, state="ACTIVE")


def rename_network(user, network_id, name):
    name = check_name(name)
    with transaction.atomic():
        network = get_network(user, network_id, for_update=True)
        may_change(user, network)
        Network.objects.filter(pk=network.pk).update(name=name, updated=timezone.now())
    return get_network(user, network_id)


def delete_network(user, network_id):
    """Delete a network without ports (409 otherwise); its Ganeti objects go too.
    Returns the problems met submitting their removal (empty when all went well)."""
    with transaction.atomic():
        network = get_network(user, network_id, for_update=True)
        may_change(user, network)
        ports = network_ports(network).count()
        if ports:
            raise Conflict("Network %d has %d port(s) in use: detach the servers from it "
                           "first." % (network.id, ports))
        Network.objects.filter(pk=network.pk).update(deleted=True, updated=timezone.now())
    errors = remove_from_backends(network)
    with transaction.atomic():
        if not BackendNetwork.objects.filter(network=network).exclude(
                operstate="DELETED").exists():
            Network.objects.filter(pk=network.pk).update(state="DELETED")
    # The user's network is gone either way; what Ganeti refused stays visible as
    # ERROR on the BackendNetwork for the administrator (snf-manage network-remove).
    return errors


def remove_from_backends(network):
    """Submit the removal of ``network``'s Ganeti objects; failures stay visible as
    ERROR on the BackendNetwork (the admin retries with snf-manage network-remove)."""
    errors = []
    for bn in BackendNetwork.objects.filter(network=network).exclude(
            operstate="DELETED").select_related("backend"):
        if bn.backend.offline:
            errors.append("%s is offline" % bn.backend.clustername)
            continue
        try:
            jobs = gnet.delete_network(network, bn.backend)
        except RapiError as exc:
            errors.append(user_reason(exc))
            BackendNetwork.objects.filter(pk=bn.pk).update(
                operstate="ERROR", backendlogmsg="removal not submitted: %s" % user_reason(exc))
            continue
        if not jobs:  # Ganeti has no such network: nothing left to remove
            BackendNetwork.objects.filter(pk=bn.pk).update(operstate="DELETED")
        else:
            BackendNetwork.objects.filter(pk=bn.pk).update(
                operstate="PENDING", backendjobid=jobs[-1], backendopcode="OP_NETWORK_REMOVE",
                backendjobstatus="queued", backendlogmsg="", batchjobid=jobs[0], retries=0)
    if errors:
        log.warning("removing network %d from Ganeti: %s", network.id, "; ".join(errors))
    return errors
