"""Request ids: one per HTTP request, in the response headers and on every log line.

RequestIdMiddleware (first in MIDDLEWARE) gives each request ``request.request_id``
("req-<uuid4>", never taken from the client), returns it in X-Openstack-Request-Id and
X-Compute-Request-Id, and makes it the ``request_id`` attribute of every log record
emitted while the request runs ("-" outside requests), so that a log format may use
``%(request_id)s`` whatever handlers LOGGING configures. ``server_error`` is Django's
handler500: a JSON fault that quotes the id, never a traceback; Django's own
django.request logger has already written the traceback with the same id.
"""

import contextvars
import logging
import uuid

from django.http import JsonResponse

HEADERS = ("X-Openstack-Request-Id", "X-Compute-Request-Id")
NO_REQUEST = "-"

_current = contextvars.ContextVar("synnefo_request_id", default=NO_REQUEST)


def new_request_id():
    return "req-" + str(uuid.uuid4())


def current_request_id():
    return _current.get()


def install_log_record_factory():
    """Give every log record a ``request_id`` (idempotent)."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "adds_request_id", False):
        return

    def record_with_request_id(*args, **kwargs):
        record = factory(*args, **kwargs)
        record.request_id = _current.get()
        return record
    record_with_request_id.adds_request_id = True
    logging.setLogRecordFactory(record_with_request_id)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.request_id = new_request_id()
        token = _current.set(request.request_id)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        for header in HEADERS:
            if header not in response:
                response[header] = request.request_id
        return response


def server_error(request, *args, **kwargs):
    """handler500: the compute API's fault shape, with the id the log line carries."""
    request_id = getattr(request, "request_id", None) or current_request_id()
    return JsonResponse({"computeFault": {
        "code": 500,
        "message": "An unexpected error occurred; it has been logged. Quote request id %s "
                   "when reporting it." % request_id,
        "details": ""}}, status=500)
