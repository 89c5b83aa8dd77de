from django.http import JsonResponse

from . import plugins


def index(request):
    """A small service document: what this server runs and where."""
    return JsonResponse({
        "service": "Synnefo asterias",
        "apps": [app for app in plugins.web_apps() if app.startswith("synnefo.")],
    })
