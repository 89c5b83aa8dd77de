"""What every API view shares: authentication, JSON in and out, faults, headers.

``api_view`` wraps each view so that (1) only the listed methods are served (405
otherwise), (2) the X-Auth-Token is checked (401), (3) the path and query pass the
edge rules of ``validation`` (404/400), (4) logic errors become their faults, a body
over DATA_UPLOAD_MAX_MEMORY_SIZE 413 and Django's other refusals of a request 400, and
(5) any other exception is logged with its traceback and answered with a generic 500
that carries the request id -- never a traceback.
"""

import contextvars
import datetime
import functools
import json
import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.csrf import csrf_exempt

from synnefo.logic import errors as logic_errors
from synnefo.logic import paging
from synnefo.logic.identity import AuthenticationFailed, lookup_token
from synnefo.logic.ids import parse_id
from synnefo.logic.servers import parse_changes_since
from synnefo.webproject.requestid import new_request_id

from . import extensions, faults, microversion, validation

log = logging.getLogger("synnefo.api")

JSON_TYPE = "application/json"


# True while api_view runs a view: json_response leaves the encoding to _finish.
_DEFERRED = contextvars.ContextVar("snf_json_deferred", default=False)


def encode_json(data):
    return json.dumps(data, separators=(",", ":")).encode("utf-8")


def json_response(data, status=200, headers=None):
    deferred = data is not None and _DEFERRED.get()
    body = b"" if data is None or deferred else encode_json(data)
    response = HttpResponse(body, status=status,
                            content_type=JSON_TYPE if data is not None else None)
    # Inside api_view the body is encoded once, by _finish, after the SNF: fields are
    # filtered out of the data: a 1,000-server list is 1 MB of JSON, and encoding it,
    # parsing it back and encoding it again was most of the request's time.
    response.json_data = data if deferred else None
    if data is None:
        del response["Content-Type"]
    for key, value in (headers or {}).items():
        response[key] = value
    return response


def empty_response(status=204, headers=None):
    return json_response(None, status, headers)


KEYSTONE_TITLES = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
                   405: "Method Not Allowed", 409: "Conflict", 413: "Request Entity Too Large",
                   415: "Unsupported Media Type", 429: "Too Many Requests",
                   500: "Internal Server Error", 503: "Service Unavailable"}


def fault_response(fault, style="compute"):
    if style == "keystone":
        # The identity API's own error shape, which keystoneauth parses.
        data = {"error": {"code": fault.code, "message": fault.message,
                          "title": KEYSTONE_TITLES.get(fault.code, fault.name)}}
    else:
        data = {fault.name: {"code": fault.code, "message": fault.message,
                             "details": fault.details or ""}}
    return json_response(data, fault.code, fault.headers)


def _finish(request, response):
    add_never_cache_headers(response)
    patch_vary_headers(response, ["X-Auth-Token"])
    data = getattr(response, "json_data", None)
    if data is not None:
        # a json_response made inside the view: filter the data, then encode it once
        if is_compute(request) and not extensions.requested(request):
            extensions.strip_body(data)
        response.content = encode_json(data)
        response.json_data = None
    if is_compute(request):
        if not extensions.requested(request):
            extensions.apply(response)  # other responses: parsed, filtered if they need it
        patch_vary_headers(response, [extensions.HEADER])
        if microversion.is_microversioned(request):
            microversion.announce(response)
            patch_vary_headers(response, [microversion.HEADER, microversion.LEGACY_HEADER])
    response["X-Openstack-Request-Id"] = request.request_id
    response["X-Compute-Request-Id"] = request.request_id
    return response


def is_compute(request):
    return request.path_info.startswith("/compute/")


def authenticate(request):
    token = request.META.get("HTTP_X_AUTH_TOKEN")
    if not token:
        raise faults.Unauthorized("No X-Auth-Token header: get a token from "
                                  "/identity/v3/auth/tokens.")
    try:
        row = lookup_token(token)
    except AuthenticationFailed as exc:
        raise faults.Unauthorized(str(exc)) from None
    request.token = row
    return row.user


def answer_or_fault(request, handle, style="compute"):
    """``handle()``'s response, or the fault its failure maps to: the one mapping of
    failures to answers for every JSON front end (the public APIs and the admin API).
    A client's mistake is a 4xx; anything else is logged with the request id and answered
    500 without a traceback."""
    try:
        return handle()
    except faults.Fault as fault:
        return fault_response(fault, style)
    except logic_errors.LogicError as exc:
        return fault_response(faults.from_logic(exc), style)
    except RequestDataTooBig:
        return fault_response(faults.OverLimit(
            "The request body is larger than %d bytes."
            % settings.DATA_UPLOAD_MAX_MEMORY_SIZE), style)
    except SuspiciousOperation as exc:
        # e.g. more query parameters than DATA_UPLOAD_MAX_NUMBER_FIELDS
        return fault_response(faults.BadRequest("Request refused: %s" % exc), style)
    except Exception:
        log.exception("unexpected error in %s %s (request %s)", request.method,
                      request.path, request.request_id)
        return fault_response(faults.ComputeFault(
            "An unexpected error occurred; it has been logged. Quote request id %s "
            "when reporting it." % request.request_id), style)


def api_view(methods, auth=True, style="compute"):
    methods = tuple(m.upper() for m in methods)

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request, *args, **kwargs):
            # The id RequestIdMiddleware gave the request (and puts on its log lines).
            request.request_id = getattr(request, "request_id", None) or new_request_id()
            def handle():
                method = request.method.upper()
                allowed = methods + (("HEAD",) if "GET" in methods else ())
                if method not in allowed:
                    raise faults.BadMethod("Method %s is not allowed here; use %s."
                                           % (method, ", ".join(methods)),
                                           headers={"Allow": ", ".join(methods)})
                request.snf_user = authenticate(request) if auth else None
                if microversion.is_microversioned(request):
                    microversion.check(request)
                validation.check_path(kwargs)
                validation.check_query(request)
                token = _DEFERRED.set(True)
                try:
                    return view(request, *args, **kwargs)
                finally:
                    _DEFERRED.reset(token)

            response = answer_or_fault(request, handle, style)
            if request.method.upper() == "HEAD":
                if response.streaming:  # image data: keep its Content-Length, send none
                    response.streaming_content = []
                else:
                    response.content = b""
                    response.json_data = None
            return _finish(request, response)
        return wrapper
    return decorate


def parse_body(request, required_key=None):
    """The JSON request body (a dict); badRequest naming what is wrong."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type and content_type not in (JSON_TYPE, "text/plain") \
            and not content_type.endswith("+json"):
        raise faults.BadMediaType("Request bodies must be JSON (Content-Type: %s), not %s."
                                  % (JSON_TYPE, content_type))
    data = validation.load_json(request.body)
    if not isinstance(data, dict):
        raise faults.BadRequest("The request body must be a JSON object.")
    if required_key is not None:
        if required_key not in data:
            raise faults.BadRequest("The request body must contain '%s'." % required_key)
        if not isinstance(data[required_key], dict):
            raise faults.BadRequest("'%s' must be an object." % required_key)
        return data[required_key]
    return data


def isotime(value):
    """OpenStack's time format: UTC, seconds, a Z."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def base_url(request):
    """Where clients reach this service: API_PUBLIC_BASE_URL, never the request's Host
    header (a forged Host would otherwise put the attacker's host in catalogs and links)."""
    return settings.API_PUBLIC_BASE_URL.rstrip("/")


def compute_url(request, version="v2.1"):
    return "%s/compute/%s" % (base_url(request), version)


def request_version(request):
    """The compute API version prefix the request came in with (for self links)."""
    parts = request.path.split("/")
    if len(parts) > 2 and parts[1] == "compute" and parts[2].startswith("v2"):
        return parts[2]
    return "v2.1"


def pagination(request):
    """(limit, marker) from the query string; badRequest on bad values."""
    size = validation.query_uint(request, "limit")
    max_size = settings.API_MAX_PAGE_SIZE
    size = max_size if size is None else min(size, max_size)
    marker = request.GET.get("marker") or None
    if marker is not None and parse_id(marker) is None:
        raise faults.BadRequest("marker [%s] not found." % marker)
    return size, marker


def page(query, size, marker, request, what, complete=None):
    """Items after ``marker`` (id) in newest-first order and the "next" link list;
    ``complete``, if given, turns the page's rows into the items (see list_response)."""
    items = paging.page(query, size, marker)
    if complete is not None:
        items = complete(items)
    links = []
    if size and len(items) == size:
        params = request.GET.copy()
        params["marker"] = str(items[-1].id)
        params["limit"] = str(size)
        links.append({"rel": "next", "href": "%s%s?%s" % (base_url(request), request.path,
                                                            params.urlencode())})
    return items, links


def changes_since(request):
    """The ``changes-since`` query parameter as an aware datetime, or None when absent."""
    value = request.GET.get("changes-since")
    if not value:
        return None
    return parse_changes_since(value)


def list_response(request, query, what, render, since=None, complete=None):
    """One page of a compute list as ``{what: [...], what_links: [next]}``; a
    changes-since list with nothing new answers 304 (Not Modified). ``complete``
    turns one page of ``query``'s rows into what ``render`` takes (e.g. fetches
    what belongs to them, in a constant number of queries)."""
    size, marker = pagination(request)
    items, next_links = page(query, size, marker, request, what, complete)
    if since is not None and not items:
        return empty_response(304)
    body = {what: [render(request, item) for item in items]}
    if next_links:
        body[what + "_links"] = next_links
    return json_response(body)


def metadata_item(meta, key, owner):
    """GET .../metadata/<key>: ``{"meta": {key: value}}``, itemNotFound naming ``owner``
    (e.g. "Server 42") when ``meta`` has no such key."""
    if key not in meta:
        raise faults.ItemNotFound("%s has no metadata item %r." % (owner, key))
    return json_response({"meta": {key: meta[key]}})


def metadata_item_body(request, key):
    """The body of PUT .../metadata/<key>: ``{"meta": {key: value}}``, exactly that key."""
    meta = parse_body(request, "meta")
    if list(meta) != [key]:
        raise faults.BadRequest("'meta' must have exactly one key, the one in the URL (%r)."
                                % key)
    return meta
