"""The RAPI client of a Ganeti backend: the one place that builds ``RapiClient``s.

The backend modules (``instances``, ``networks``, ``jobs``, ``cluster``) take their
clients from here, so none needs another for it; logic never holds a client (it calls
their operations and gets job ids and plain values back).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings

from synnefo.backend.rapi import RapiClient, RapiError

if TYPE_CHECKING:
    from synnefo.db.models import Backend, VirtualMachine


def _pinned_cafile(pem: str) -> str:
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


def certificates_only(pem: str) -> str:
    """The certificate blocks of a PEM text (Ganeti's rapi.pem also holds the key)."""
    blocks: list[str] = []
    inside: list[str] | None = None
    for line in pem.splitlines():
        if line.strip() == "-----BEGIN CERTIFICATE-----":
            inside = [line.strip()]
        elif inside is not None:
            inside.append(line.strip())
            if line.strip() == "-----END CERTIFICATE-----":
                blocks.append("\n".join(inside))
                inside = None
    return "\n".join(blocks) + "\n" if blocks else ""


def client_for(backend: Backend, curl_factory: Callable[[], Any] | None = None,
               timeout: float | None = None) -> RapiClient:
    """The RAPI client of a ``db.models.Backend`` row.

    A certificate stored on the row is pinned (the chain must be that certificate;
    Ganeti's self-signed one names no useful host). Without one, GANETI_RAPI_VERIFY
    decides between the system CA store and no verification. ``timeout``: seconds per
    call (default GANETI_RAPI_TIMEOUT).
    """
    kw: dict[str, Any] = {}
    if curl_factory is not None:
        kw["curl_factory"] = curl_factory
    elif settings.GANETI_RAPI_CURL_FACTORY:
        kw["curl_factory"] = settings.GANETI_RAPI_CURL_FACTORY
    if backend.certificate.strip():
        kw.update(verify=True, cafile=_pinned_cafile(backend.certificate))
    else:
        kw.update(verify=bool(settings.GANETI_RAPI_VERIFY))
    return RapiClient(backend.clustername, port=backend.port,
                      username=backend.username or None, password=backend.password or None,
                      timeout=timeout or settings.GANETI_RAPI_TIMEOUT, **kw)


def client_of(vm: VirtualMachine) -> RapiClient:
    """The RAPI client of the backend ``vm`` is on; RapiError when it has none."""
    if vm.backend is None:
        raise RapiError("(none)", "server %s" % vm.id,
                        "the server has no Ganeti backend assigned")
    return client_for(vm.backend)
