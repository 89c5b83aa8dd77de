"""The page of the web application and the site root's redirect for browsers.

The page is static HTML: the script (static/ui/ui.js) signs in through the identity API
and then talks to the public APIs with the token, like any other client. Nothing here
reads the database or a session: there is no private back door and no cookie that a
cross-site request could ride on (so no CSRF surface).
"""

import functools

from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.http import require_GET
from django.views.i18n import JavaScriptCatalog

from synnefo.webproject import views as webproject_views

# No inline script or style anywhere: every asset is a same-origin file.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
       "form-action 'self'")


def wants_html(request):
    """True for a browser's navigation: it lists text/html in Accept (API clients ask
    for JSON or send */* alone)."""
    return "text/html" in request.headers.get("Accept", "")


def in_browser_language(view):
    """Run ``view`` in the language the browser prefers (Accept-Language) among those
    with a catalog. Only the UI's two views: the API's answers stay as they are (no
    LocaleMiddleware for the whole site)."""
    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        with translation.override(translation.get_language_from_request(request)):
            response = view(request, *args, **kwargs)
            response["Vary"] = "Accept-Language"
            return response
    return wrapped


# the script's strings (gettext), as a same-origin script: no inline JSON needed
catalog = in_browser_language(JavaScriptCatalog.as_view(packages=["synnefo.ui"]))


@require_GET
@in_browser_language
def page(request):
    response = render(request, "ui/index.html")
    response["Content-Security-Policy"] = CSP
    response["Referrer-Policy"] = "no-referrer"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def root(request):
    if request.method in ("GET", "HEAD") and wants_html(request):
        return HttpResponseRedirect("/ui/")
    return webproject_views.index(request)
