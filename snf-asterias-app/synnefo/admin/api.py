"""The admin HTTP API under /admin/api/ (JSON; snf-admin is its client): the reads of
synnefo.logic.admin as GETs, its operations as POST /admin/api/actions/<operation> with
a JSON object of parameters. Authentication: an administrator's X-Auth-Token (any
other caller: guard's 403). Errors: the compute API's fault shapes, never a 5xx for
what a client sent."""

import functools

from django.views.decorators.csrf import csrf_exempt

from synnefo.api import faults
from synnefo.api.client_address import client_address
from synnefo.api.util import answer_or_fault, json_response, parse_body
from synnefo.logic import admin, dead_letters
from synnefo.webproject.requestid import new_request_id

from . import guard


def endpoint(method):
    """An admin API view answering ``method`` (GET also HEAD); returns JSON data."""
    def decorate(view):
        @csrf_exempt  # token-authenticated, no cookies: CSRF does not apply
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            request.request_id = getattr(request, "request_id", None) or new_request_id()
            request.admin = admin.admin_for_token(request.META.get("HTTP_X_AUTH_TOKEN"))
            if request.admin is None:
                return guard.forbidden("application/json")

            def handle():
                if request.method not in (method, "HEAD" if method == "GET" else method):
                    raise faults.BadMethod("Use %s here." % method,
                                           headers={"Allow": method})
                return json_response(view(request, *args, **kwargs))

            return guard.secure(answer_or_fault(request, handle))
        return wrapper
    return decorate


def _query(request, *names):
    return {name: request.GET.get(name) for name in names if request.GET.get(name)}


@endpoint("GET")
def dashboard(request):
    return admin.dashboard()


@endpoint("GET")
def users(request):
    return {"users": admin.list_users(request.GET.get("search", ""))}


@endpoint("GET")
def user(request, ident):
    return {"user": admin.user_detail(ident)}


@endpoint("GET")
def servers(request):
    return {"servers": admin.list_servers(**_query(request, *admin.SERVER_FILTERS))}


@endpoint("GET")
def server(request, server_id):
    return {"server": admin.server_detail(server_id)}


@endpoint("GET")
def flavors(request):
    return {"flavors": admin.list_flavors()}


@endpoint("GET")
def images(request):
    return {"images": admin.list_images(), "unregistered_files": admin.store_files()}


@endpoint("GET")
def networks(request):
    return {"networks": admin.list_networks(public_only=bool(request.GET.get("public")))}


@endpoint("GET")
def invitations(request):
    return {"invitations": admin.list_invitations()}


@endpoint("GET")
def backends(request):
    return {"backends": admin.list_backends()}


@endpoint("GET")
def queues(request):
    return {"queues": dead_letters.depths()}


@endpoint("GET")
def queue(request, name):
    return {"queue": name, "dead_letters": dead_letters.peek(name)}


@endpoint("GET")
def audit(request):
    try:
        limit = min(int(request.GET.get("limit", 200)), 1000)
    except ValueError:
        raise faults.BadRequest("limit must be a number.") from None
    return {"audit": admin.audit_log(max(limit, 1), user=request.GET.get("user"))}


@endpoint("POST")
def action(request, operation):
    params = parse_body(request)
    return {"audit": admin.perform(request.admin, operation, params,
                                   address=client_address(request), via="api")}
