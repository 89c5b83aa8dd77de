"""Ganeti backends (clusters): add, change, remove, and their capacity from RAPI."""

import hashlib
import logging
import ssl

from django.db import transaction
from django.utils import timezone

from synnefo.backend import cluster
from synnefo.backend.client import certificates_only
from synnefo.backend.rapi import RapiError
from synnefo.db.models import Backend

log = logging.getLogger(__name__)


class BackendError(Exception):
    """A backend operation is not possible; the message says why and what to do."""


def pinned_certificate(text, source="the text given"):
    """The certificate blocks of a PEM ``text`` to pin (a private key pasted with them,
    as Ganeti's rapi.pem holds one, is left out); BackendError if there are none or
    OpenSSL, which checks the cluster's certificate against them, cannot read them."""
    pem = certificates_only(text)
    if not pem:
        raise BackendError("%s holds no PEM certificate" % source)
    try:
        ssl.create_default_context(cadata=pem)
    except (ssl.SSLError, ValueError) as exc:
        raise BackendError("%s holds a certificate OpenSSL cannot read: %s"
                           % (source, exc)) from None
    return pem


def certificate_fingerprint(pem):
    """SHA-256 of the first certificate, as `openssl x509 -fingerprint -sha256` shows it."""
    first = pem.split("-----END CERTIFICATE-----")[0] + "-----END CERTIFICATE-----\n"
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(first)).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def read_certificate(path):
    try:
        with open(path, encoding="ascii") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise BackendError("cannot read the certificate file %s: %s" % (path, exc)) from None
    return pinned_certificate(text, path)


def _check_hypervisor(backend, enabled):
    if enabled and backend.hypervisor not in enabled:
        raise BackendError("hypervisor %s is not enabled on %s (enabled: %s; "
                           "gnt-cluster modify --enabled-hypervisors)"
                           % (backend.hypervisor, backend.clustername, ", ".join(enabled)))


def refresh(backend, hypervisor=None):
    """Read the cluster's hypervisor, disk templates and node capacity over RAPI.

    New servers get ``backend.hypervisor``: the administrator's choice among the
    cluster's enabled hypervisors (``hypervisor``, e.g. kvm on a cluster whose
    default is another one), kept across refreshes while the cluster still enables
    it; otherwise the cluster's default.
    """
    info = cluster.cluster_info(backend)
    enabled = info.enabled_hypervisors
    if hypervisor:
        backend.hypervisor = hypervisor
        _check_hypervisor(backend, enabled)
    elif not backend.hypervisor or (enabled and backend.hypervisor not in enabled):
        backend.hypervisor = info.default_hypervisor or backend.hypervisor
    backend.disk_templates = ",".join(info.disk_templates)
    for field, value in info.capacity.items():
        setattr(backend, field, value)
    backend.updated_capacity = timezone.now()
    backend.save()
    return backend


def add_backend(clustername, port=5080, username="", password="", certificate="",
                check=True, hypervisor=None):
    """Add a cluster; ``hypervisor`` (else the cluster's default) is used for new servers,
    ``certificate`` (PEM, see pinned_certificate) is the one its RAPI must present."""
    if Backend.objects.filter(clustername=clustername).exists():
        raise BackendError("backend %s already exists (see snf-manage backend-list)"
                           % clustername)
    backend = Backend(clustername=clustername, port=port, username=username or "",
                      password=password or "", hypervisor=hypervisor or "",
                      certificate=certificate or "")
    if check:
        try:
            refresh(backend, hypervisor)  # saves it
        except RapiError as exc:
            raise BackendError("%s; nothing was added (use --no-check to add it anyway)"
                               % exc) from None
    else:
        backend.save()
    return backend


def remove_backend(backend):
    with transaction.atomic():
        live = backend.servers.filter(deleted=False).count()
        if live:
            raise BackendError("backend %s still hosts %d server(s): drain it "
                               "(backend-modify --drained) and delete them first"
                               % (backend.clustername, live))
        backend.servers.all().update(backend=None)
        backend.delete()
