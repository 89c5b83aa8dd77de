from django.apps import AppConfig
from django.core import checks


class LogicConfig(AppConfig):
    """Business operations; also hosts the snf-manage administration commands."""
    name = "synnefo.logic"
    label = "logic"
    verbose_name = "Synnefo compute logic"

    def ready(self):
        checks.register(check_cluster_info)


def check_cluster_info(app_configs=None, **kwargs):
    """`snf-manage check` (and every snf-manage command) warns when GANETI_CLUSTER_INFO
    was changed after it created the first backend: the change would do nothing."""
    from django.db import DatabaseError

    from .backend_allocator import cluster_info_drift
    try:
        problem = cluster_info_drift()
    except DatabaseError:  # no tables yet (before migrate) or no database: nothing to compare
        return []
    return [checks.Warning(problem, id="synnefo.W001")] if problem else []
