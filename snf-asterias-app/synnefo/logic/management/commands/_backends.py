"""Shared by the backend-* commands."""

from django.core.management.base import CommandError

from synnefo.backend.rapi import RapiError
from synnefo.db.models import Backend
from synnefo.logic.ids import parse_id
from synnefo.logic.network_admin import ensure_on_backend

COLUMNS = ["id", "clustername", "port", "username", "pinned", "drained", "offline",
           "hypervisor", "disk_templates", "servers", "mfree", "mtotal", "ctotal",
           "updated_capacity"]


def backend_row(b):
    return {"id": b.id, "clustername": b.clustername, "port": b.port, "username": b.username,
            "pinned": bool(b.certificate.strip()), "drained": b.drained, "offline": b.offline,
            "hypervisor": b.hypervisor, "disk_templates": b.disk_templates,
            "servers": b.servers.filter(deleted=False).count(), "mfree": b.mfree,
            "mtotal": b.mtotal, "ctotal": b.ctotal, "updated_capacity": b.updated_capacity}


def get_backend(ident):
    query = Backend.objects.filter(pk=parse_id(ident)) if str(ident).isdigit() else \
        Backend.objects.filter(clustername=ident)
    backend = query.first()
    if backend is None:
        raise CommandError("no backend %r (see snf-manage backend-list)" % ident)
    return backend


def create_networks(command, backend):
    """Give a backend the networks that exist already (their Ganeti network objects);
    the jobs' results reach the database through eventd and the dispatcher."""
    try:
        done = ensure_on_backend(backend)
    except RapiError as exc:
        raise CommandError("backend %s is recorded, but creating the existing networks on it "
                           "failed: %s; fix the cluster, then run `snf-manage backend-modify "
                           "%s --refresh`" % (backend.clustername, exc, backend.clustername)
                           ) from None
    if done:
        command.stderr.write("networks submitted to %s: %s" % (
            backend.clustername, ", ".join(n.backend_id for n in done)))
