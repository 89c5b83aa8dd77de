"""Who may use the admin interfaces, and the headers every admin response carries.

Pages: a browser without a session is sent to the sign-in page; a session whose user
is not (or no longer) an administrator, and any POST without one, get a bare 403 that
shows nothing of the interface. The sign-in page refuses a non-administrator with the
same message as a wrong password, so it does not tell who is an administrator.
The admin API: a request without an administrator's X-Auth-Token gets the same 403,
whether the token is missing, invalid or a non-administrator's.
"""

import functools

from django.http import HttpResponse, HttpResponseRedirect
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme

from synnefo.logic import admin

SESSION_KEY = "synnefo_admin_token"
# No inline script or style anywhere: the pages use only our stylesheet.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
LOGIN_URL = "/admin/login/"


def secure(response):
    response["Content-Security-Policy"] = CSP
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "same-origin"
    add_never_cache_headers(response)
    return response


def forbidden(content_type="text/plain"):
    body = b'{"forbidden":{"code":403,"message":"Forbidden."}}' \
        if content_type == "application/json" else b"Forbidden.\n"
    return secure(HttpResponse(body, status=403, content_type=content_type))


def session_admin(request):
    secret = request.session.get(SESSION_KEY)
    return admin.admin_for_token(secret) if secret else None


def page(view):
    """A web admin page: only for a signed-in administrator. Without a session the
    browser is sent to sign in; a session whose user is no longer an administrator
    (or was revoked) gets the 403."""
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        request.admin = session_admin(request)
        if request.admin is None:
            if request.session.get(SESSION_KEY) or request.method != "GET":
                return forbidden()
            return secure(HttpResponseRedirect("%s?next=%s" % (LOGIN_URL, request.path)))
        return secure(view(request, *args, **kwargs))
    return wrapper


def safe_next(request, target, default="/admin/"):
    """``target`` when it is a path of the web admin on this host, else ``default``."""
    if target and target.startswith("/admin/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return default
