from django.apps import AppConfig


class LogicConfig(AppConfig):
    """Business operations; also hosts the snf-manage administration commands."""
    name = "synnefo.logic"
    label = "logic"
    verbose_name = "Synnefo compute logic"
