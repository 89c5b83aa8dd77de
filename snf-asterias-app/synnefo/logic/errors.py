"""Errors of the business operations.

The logic layer raises these; the API maps each to an OpenStack fault and the
management commands print their message. Messages are meant for the person who
made the request: they say what is wrong with which input and what to do.
"""


class LogicError(Exception):
    """Base class; ``message`` is safe to show to the requester."""

    def __init__(self, message, details=""):
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(LogicError):
    """A request field is missing or has a value we cannot accept (400)."""


class NotFound(LogicError):
    """The item does not exist or the requester may not see it (404)."""


class Forbidden(LogicError):
    """The requester sees the item but may not do this to it (403)."""


class Conflict(LogicError):
    """The item's current state forbids the operation (409)."""


class BuildInProgress(Conflict):
    """Only deletion is allowed while a server is being built (409)."""


class OverLimit(LogicError):
    """A quota or size limit would be exceeded; ``resource`` names it (413)."""

    def __init__(self, message, resource="", details=""):
        super().__init__(message, details)
        self.resource = resource


class BackendUnavailable(LogicError):
    """The compute cluster could not take the request right now (503)."""


class NoBackendAvailable(BackendUnavailable):
    """No Ganeti backend can take a new server: none is configured, or none is online,
    undrained and offers the flavor's disk template (503). A decision of logic's
    allocator, not a failure of the RAPI transport."""

