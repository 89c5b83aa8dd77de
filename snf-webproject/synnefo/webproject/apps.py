from django.apps import AppConfig

# Django apps the web project itself needs (other dists add theirs via entry points).
WEB_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "synnefo.webproject",
]


class WebProjectConfig(AppConfig):
    name = "synnefo.webproject"
    label = "webproject"
    verbose_name = "Synnefo web project"
