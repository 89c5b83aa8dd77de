from django.conf import settings
from django.http import JsonResponse


def index(request):
    """A small service document: what this server runs and where."""
    return JsonResponse({
        "service": "Synnefo asterias",
        "apps": [app for app in settings.INSTALLED_APPS if app.startswith("synnefo.")],
    })
