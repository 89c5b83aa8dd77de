from django.conf import settings
from django.http import JsonResponse


def bad_request(request, exception=None):
    """Django's 400 (a Host not in ALLOWED_HOSTS, another SuspiciousOperation) in the
    OpenStack fault shape API clients parse; it never repeats what the request said."""
    return JsonResponse({"badRequest": {
        "code": 400, "details": "",
        "message": "Bad request: the Host header names a host this server does not serve, "
                   "or the request is malformed."}}, status=400)


def index(request):
    """A small service document: what this server runs and where."""
    return JsonResponse({
        "service": "Synnefo asterias",
        "apps": [app for app in settings.INSTALLED_APPS if app.startswith("synnefo.")],
    })
