"""The web admin's pages: server-rendered, one form per action, each posting to
``act`` (CSRF-protected by Django's middleware), which runs the operation through
synnefo.logic.admin.perform and returns to the page it came from. ``guard.page`` is
every page's outermost decorator: a stranger learns nothing, not even a 405."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from synnefo.api import faults
from synnefo.api.client_address import client_address
from synnefo.logic import admin, dead_letters
from synnefo.logic.errors import LogicError
from synnefo.logic.identity import AuthenticationFailed
from synnefo.logic.login_throttle import Throttled

from . import guard

T = "synnefo_admin/"


def _render(request, template, status=200, **context):
    context.setdefault("admin_user", getattr(request, "admin", None))
    return render(request, T + template, context, status=status)


@require_http_methods(["GET", "POST"])
def sign_in(request):
    status, error = 200, ""
    target = guard.safe_next(request, request.POST.get("next") or request.GET.get("next"))
    if request.method == "POST":
        try:
            secret = admin.sign_in(request.POST.get("name", ""),
                                   request.POST.get("password", ""), client_address(request))
        except AuthenticationFailed as exc:
            status, error = 403, str(exc)
        except Throttled as exc:
            status, error = 429, str(exc)
        else:
            request.session.cycle_key()  # no session fixation
            request.session[guard.SESSION_KEY] = secret
            return guard.secure(HttpResponseRedirect(target))
    request.admin = None
    return guard.secure(_render(request, "login.html", status, error=error, next=target))


@guard.page
@require_http_methods(["POST"])
def sign_out(request):
    admin.sign_out(request.session.get(guard.SESSION_KEY))
    request.session.flush()
    return HttpResponseRedirect(guard.LOGIN_URL)


@guard.page
@require_http_methods(["POST"])
def act(request, operation):
    """Run one operation with the form's fields; errors come back as a 4xx page."""
    # the last value of a name: a checkbox after its hidden "no" overrides it when ticked
    params = {k: v for k, v in request.POST.items() if k not in ("csrfmiddlewaretoken", "next")}
    back = guard.safe_next(request, request.POST.get("next"))
    try:
        entry = admin.perform(request.admin, operation, params,
                              address=client_address(request), via="web")
    except LogicError as exc:
        # the compute API's status for the same refusal (503: cluster or broker down)
        return _render(request, "error.html", faults.from_logic(exc).code,
                       message=str(exc), back=back)
    messages.success(request, "Done: %s %s." % (entry["action"], entry["target"]))
    return HttpResponseRedirect(back)


@guard.page
@require_http_methods(["GET"])
def dashboard(request):
    return _render(request, "dashboard.html", d=admin.dashboard())


@guard.page
@require_http_methods(["GET"])
def users(request):
    search = request.GET.get("search", "")
    return _render(request, "users.html", users=admin.list_users(search), search=search)


@guard.page
@require_http_methods(["GET"])
def user(request, ident):
    return _detail(request, "user.html", admin.user_detail, ident)


def _detail(request, template, read, ident):
    try:
        item = read(ident)
    except LogicError as exc:
        return _render(request, "error.html", 404, message=str(exc), back="/admin/")
    return _render(request, template, item=item)


@guard.page
@require_http_methods(["GET"])
def servers(request):
    filters = {k: request.GET.get(k, "") for k in admin.SERVER_FILTERS}
    try:
        rows = admin.list_servers(**filters)
    except LogicError as exc:
        return _render(request, "error.html", 400, message=str(exc), back="/admin/servers/")
    return _render(request, "servers.html", servers=rows, filters=filters)


@guard.page
@require_http_methods(["GET"])
def server(request, server_id):
    return _detail(request, "server.html", admin.server_detail, server_id)


@guard.page
@require_http_methods(["GET"])
def flavors(request):
    return _render(request, "flavors.html", flavors=admin.list_flavors())


@guard.page
@require_http_methods(["GET"])
def images(request):
    return _render(request, "images.html", images=admin.list_images(),
                   files=admin.store_files())


@guard.page
@require_http_methods(["GET"])
def networks(request):
    return _render(request, "networks.html", networks=admin.list_networks())


@guard.page
@require_http_methods(["GET"])
def invitations(request):
    return _render(request, "invitations.html", invitations=admin.list_invitations())


@guard.page
@require_http_methods(["GET"])
def backends(request):
    return _render(request, "backends.html", backends=admin.list_backends())


@guard.page
@require_http_methods(["GET"])
def queues(request):
    queue, letters, error = request.GET.get("queue", ""), [], ""
    try:
        rows = dead_letters.depths()
        if queue:
            letters = dead_letters.peek(queue)
    except LogicError as exc:
        rows, error = [], str(exc)
    return _render(request, "deadletters.html", queues=rows, queue=queue, letters=letters,
                   error=error)


@guard.page
@require_http_methods(["GET"])
def audit(request):
    return _render(request, "audit.html", entries=admin.audit_log(user=request.GET.get("user")))
