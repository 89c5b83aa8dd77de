"""Compute API microversions: we serve exactly 2.1 and say so, as Nova does.

A client may ask for a version with ``OpenStack-API-Version: compute X.Y`` (since Nova's
2.27) or ``X-OpenStack-Nova-API-Version: X.Y``; the first wins when both are sent.
No header, or ``latest``, means 2.1. A well-formed version other than 2.1 is 406 (Nova's
InvalidGlobalAPIVersion), a malformed one 400. Every answer under /compute/v2.1/ names
the version it was served at in both headers and varies on both. The legacy prefixes
/compute/v2 and /compute/v2.0 behave like Nova's v2.0 compatibility endpoint: request
headers are ignored and no version is announced.
"""

import re

from . import faults

VERSION = "2.1"
MIN_VERSION = MAX_VERSION = VERSION
HEADER = "OpenStack-API-Version"
LEGACY_HEADER = "X-OpenStack-Nova-API-Version"
SERVICE = "compute"
_VERSION_RE = re.compile(r"^([1-9]\d*)\.([1-9]\d*|0)$")


def is_microversioned(request):
    """True for the v2.1 endpoint (the only one that speaks microversions)."""
    return request.path_info.startswith("/compute/v2.1/") or request.path_info == "/compute/v2.1"


def _requested(request):
    """The version string the client asked for, or None."""
    for value in request.headers.get(HEADER, "").split(","):
        parts = value.split()
        if len(parts) == 2 and parts[0].lower() == SERVICE:
            return parts[1]
    return request.headers.get(LEGACY_HEADER) or None


def check(request):
    """Refuse a request for a version we do not serve (406) or cannot parse (400)."""
    wanted = _requested(request)
    if wanted is None or wanted.strip().lower() == "latest":
        return
    match = _VERSION_RE.match(wanted.strip())
    if not match:
        raise faults.BadRequest("API Version String %s is of invalid format. Must be of "
                                "format MajorNum.MinorNum." % wanted[:32])
    if (int(match.group(1)), int(match.group(2))) != (2, 1):
        raise faults.NotAcceptable("Version %s is not supported by the API. Minimum is %s "
                                   "and maximum is %s." % (wanted.strip(), MIN_VERSION,
                                                           MAX_VERSION))


def announce(response):
    response[HEADER] = "%s %s" % (SERVICE, VERSION)
    response[LEGACY_HEADER] = VERSION
