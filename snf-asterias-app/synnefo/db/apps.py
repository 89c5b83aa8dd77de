from django.apps import AppConfig


class DbConfig(AppConfig):
    name = "synnefo.db"
    label = "db"
    verbose_name = "Synnefo compute data"
    default_auto_field = "django.db.models.AutoField"
