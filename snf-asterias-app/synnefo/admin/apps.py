from django.apps import AppConfig


class AdminConfig(AppConfig):
    """Templates and static files of the web admin. Not "admin": that label is Django's
    own admin site's."""
    name = "synnefo.admin"
    label = "synnefo_admin"
    verbose_name = "Synnefo web admin"
