"""Choose the Ganeti backend (cluster) a new server goes to.

A usable backend is neither drained (no new VMs by the admin's choice) nor offline
(unreachable), and offers the flavor's disk template when it lists its templates.
Among those, the least loaded wins: fewest live servers per CPU of capacity, then
most free memory. The servers counted are our own DB rows, so servers created a
moment ago count even before Ganeti's capacity figures catch up.
"""

from django.conf import settings
from django.db.models import Count, Q

from synnefo.backend.client import certificates_only
from synnefo.db.models import Backend

from .errors import NoBackendAvailable


def _offers(backend, disk_template):
    templates = [t.strip() for t in backend.disk_templates.split(",") if t.strip()]
    return not templates or disk_template in templates


def usable_backends(flavor):
    candidates = (Backend.objects.filter(drained=False, offline=False)
                  .annotate(live=Count("servers", filter=Q(servers__deleted=False))))
    return [b for b in candidates if _offers(b, flavor.disk_template)]


def _load(backend):
    per_cpu = backend.live / backend.ctotal if backend.ctotal else backend.live
    return (per_cpu, backend.live, -backend.mfree, backend.id)


def ensure_default_backend():
    """Create the Backend row of GANETI_CLUSTER_INFO when no backend exists yet."""
    info = tuple(settings.GANETI_CLUSTER_INFO or ())
    if not info or not info[0] or Backend.objects.exists():
        return None
    host, port, user, password = (tuple(info) + (None,) * 4)[:4]
    certificate = ""
    path = settings.GANETI_CLUSTER_CERTIFICATE
    if path:
        with open(path, encoding="ascii") as f:
            certificate = certificates_only(f.read())
    backend, _ = Backend.objects.get_or_create(
        clustername=host, defaults={"port": port or 5080, "username": user or "",
                                    "password": password or "", "certificate": certificate})
    return backend


def cluster_info_drift():
    """Why GANETI_CLUSTER_INFO no longer describes the backends (None: it does).

    The setting only seeds the first Backend row; once rows exist they are the truth and
    are changed with snf-manage. An administrator who edits the setting afterwards is
    told so, with the command that applies the change, instead of being ignored silently.
    """
    info = tuple(settings.GANETI_CLUSTER_INFO or ())
    if not info or not info[0] or not Backend.objects.exists():
        return None
    host, port, user, password = (tuple(info) + (None,) * 4)[:4]
    backend = Backend.objects.filter(clustername=host).first()
    if backend is None:
        return ("GANETI_CLUSTER_INFO names %s, which is no backend (backends: %s); the "
                "setting only creates the first backend. Add it with `snf-manage backend-add "
                "%s --port %s --username %s --password-file FILE`, or remove the setting."
                % (host, ", ".join(Backend.objects.values_list("clustername", flat=True)),
                   host, port or 5080, user or "USER"))
    changed = []
    if (port or 5080) != backend.port:
        changed.append("--port %s" % (port or 5080))
    if (user or "") != backend.username:
        changed.append("--username %s" % (user or "''"))
    if (password or "") != backend.password:
        changed.append("--password-file FILE")
    if not changed:
        return None
    return ("GANETI_CLUSTER_INFO differs from backend %s, which it only created; apply the "
            "change with `snf-manage backend-modify %s %s`, or make the setting match."
            % (host, host, " ".join(changed)))


def allocate_backend(flavor):
    """The least loaded usable backend for ``flavor``, or NoBackendAvailable."""
    ensure_default_backend()
    backends = usable_backends(flavor)
    if not backends:
        total = Backend.objects.count()
        if not total:
            reason = "no Ganeti backend is configured (snf-manage backend-add)"
        else:
            reason = ("none of the %d Ganeti backends is online, undrained and offers "
                      "disk template %r" % (total, flavor.disk_template))
        raise NoBackendAvailable(reason)
    return min(backends, key=_load)
