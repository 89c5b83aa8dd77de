# Django apps of the compute service, added to the web project's INSTALLED_APPS.
WEB_APPS = [
    "synnefo.db",
    "synnefo.logic",
    "synnefo.api",
    "synnefo.ui",
    "synnefo.admin",
]
