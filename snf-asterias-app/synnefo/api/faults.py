"""OpenStack faults: ``{"<faultName>": {"code", "message", "details"}}``."""

from synnefo.logic import errors


class Fault(Exception):
    code = 500
    name = "computeFault"

    def __init__(self, message, details="", headers=None):
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


def _fault(name, code):
    return type(name[0].upper() + name[1:], (Fault,), {"code": code, "name": name})


BadRequest = _fault("badRequest", 400)
Unauthorized = _fault("unauthorized", 401)
Forbidden = _fault("forbidden", 403)
ItemNotFound = _fault("itemNotFound", 404)
BadMethod = _fault("badMethod", 405)
# Nova has no name of its own for 406 (an unsupported microversion): computeFault.
NotAcceptable = type("NotAcceptable", (Fault,), {"code": 406, "name": "computeFault"})
Conflict = _fault("conflictingRequest", 409)
BuildInProgress = _fault("buildInProgress", 409)
OverLimit = _fault("overLimit", 413)
TooManyRequests = _fault("overLimit", 429)  # a rate limit; carries Retry-After
BadMediaType = _fault("badMediaType", 415)
ComputeFault = _fault("computeFault", 500)
ServiceUnavailable = _fault("serviceUnavailable", 503)

# Most specific first: BuildInProgress is a Conflict.
_LOGIC_MAP = [
    (errors.InvalidInput, BadRequest),
    (errors.NotFound, ItemNotFound),
    (errors.Forbidden, Forbidden),
    (errors.BuildInProgress, BuildInProgress),
    (errors.Conflict, Conflict),
    (errors.OverLimit, OverLimit),
    (errors.BackendUnavailable, ServiceUnavailable),
]


def from_logic(exc):
    for logic_class, fault_class in _LOGIC_MAP:
        if isinstance(exc, logic_class):
            details = exc.details
            if isinstance(exc, errors.OverLimit) and exc.resource and not details:
                details = "resource: %s" % exc.resource
            return fault_class(exc.message, details)
    return ComputeFault("An unexpected error occurred.")
