"""WSGI entry point: gunicorn synnefo.webproject.wsgi:application"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.webproject.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()
