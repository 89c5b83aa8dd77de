"""Flavors: the sizes servers come in. Names are derived (C<cpu>R<ram>D<disk><template>)."""

import itertools

from django.conf import settings
from django.db import IntegrityError, transaction

from synnefo.db.models import Flavor

from .errors import InvalidInput, NotFound
from .ids import parse_id


def get_flavor(flavor_id, include_deleted=True):
    query = Flavor.objects.all() if include_deleted else Flavor.objects.filter(deleted=False)
    try:
        return query.get(pk=parse_id(flavor_id))
    except Flavor.DoesNotExist:
        raise NotFound("Flavor %s not found." % (flavor_id,)) from None


def list_flavors(include_deleted=False, min_ram=None, min_disk=None):
    """The flavors offered (all with ``include_deleted``), with at least ``min_ram`` MiB
    and ``min_disk`` GiB when given."""
    query = Flavor.objects.all()
    if not include_deleted:
        query = query.filter(deleted=False)
    if min_ram is not None:
        query = query.filter(ram__gte=min_ram)
    if min_disk is not None:
        query = query.filter(disk__gte=min_disk)
    return query


def _positive_ints(name, values):
    out = []
    for value in values:
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise InvalidInput("%s must be whole numbers, got %r." % (name, value)) from None
        if number <= 0:
            raise InvalidInput("%s must be positive, got %d." % (name, number))
        out.append(number)
    return out


def create_flavors(cpus, rams, disks, disk_templates=None):
    """One flavor per combination of the given lists; returns (created, already existing)."""
    cpus = _positive_ints("CPU counts", cpus)
    rams = _positive_ints("RAM sizes (MiB)", rams)
    disks = _positive_ints("Disk sizes (GiB)", disks)
    templates = list(disk_templates or [settings.DEFAULT_GANETI_DISK_TEMPLATE])
    for template in templates:
        if template not in settings.GANETI_DISK_TEMPLATES:
            raise InvalidInput("Disk template %r is not one of %s (GANETI_DISK_TEMPLATES)."
                               % (template, ", ".join(settings.GANETI_DISK_TEMPLATES)))
    created, existing = [], []
    for cpu, ram, disk, template in itertools.product(cpus, rams, disks, templates):
        try:
            with transaction.atomic():
                created.append(Flavor.objects.create(cpu=cpu, ram=ram, disk=disk,
                                                     disk_template=template))
        except IntegrityError:
            existing.append(Flavor.objects.get(cpu=cpu, ram=ram, disk=disk,
                                               disk_template=template))
    return created, existing


def set_deleted(flavor, deleted):
    flavor.deleted = bool(deleted)
    flavor.save(update_fields=["deleted", "updated"])
    return flavor
