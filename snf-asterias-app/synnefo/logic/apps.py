from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.db import DatabaseError

from synnefo.common.protocol import FIREWALL_PROFILES


class LogicConfig(AppConfig):
    """Business operations; also hosts the snf-manage administration commands."""
    name = "synnefo.logic"
    label = "logic"
    verbose_name = "Synnefo compute logic"

    def ready(self):
        checks.register(check_cluster_info)
        checks.register(check_firewall_profile)


def check_cluster_info(app_configs=None, **kwargs):
    """`snf-manage check` (and every snf-manage command) warns when GANETI_CLUSTER_INFO
    was changed after it created the first backend: the change would do nothing."""
    # Imported here (a true app-loading constraint): apps.py is loaded while Django
    # fills its app registry, before any models may be imported (backend_allocator
    # imports synnefo.db.models).
    from .backend_allocator import cluster_info_drift
    try:
        problem = cluster_info_drift()
    except DatabaseError:  # no tables yet (before migrate) or no database: nothing to compare
        return []
    return [checks.Warning(problem, id="synnefo.W001")] if problem else []


def check_firewall_profile(app_configs=None, **kwargs):
    """A DEFAULT_FIREWALL_PROFILE Ganeti has no tag for would leave new public NICs
    without any profile: every snf-manage command refuses to run until it is fixed."""
    value = settings.DEFAULT_FIREWALL_PROFILE
    if value in FIREWALL_PROFILES:
        return []
    return [checks.Error("DEFAULT_FIREWALL_PROFILE is %r; it must be one of %s"
                         % (value, ", ".join(FIREWALL_PROFILES)), id="synnefo.E001")]
