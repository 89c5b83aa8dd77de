"""Synnefo's ``SNF:`` fields in compute bodies: only for clients that ask for them.

By default a compute answer is exactly Nova's v2.1 shape, which strict clients (Tempest's
response schemas, some SDKs) require: no property the schema does not name. A client
that wants Synnefo's extension fields sends ``X-Synnefo-Extensions: true``
(docs/api.md). The serialisers always produce the fields; they are removed here, from
the already rendered body, so the serialisers stay one shape and a client that opts in
pays nothing extra.

Only the top level of the known resources (server, flavor, image, limits.absolute) is
filtered: user data such as metadata keys or extra specs may start with "SNF:" too and
is left alone.
"""

import json

HEADER = "X-Synnefo-Extensions"
PREFIX = "SNF:"
_MARK = b'"SNF:'
_RESOURCES = ("server", "flavor", "image")


def requested(request):
    return request.headers.get(HEADER, "").strip().lower() in ("1", "true", "yes", "on")


def _strip(item):
    if isinstance(item, dict):
        for key in [k for k in item if isinstance(k, str) and k.startswith(PREFIX)]:
            del item[key]


def strip_body(data):
    """Remove the SNF: fields of every resource in a compute body (in place)."""
    if not isinstance(data, dict):
        return data
    for name in _RESOURCES:
        _strip(data.get(name))
        items = data.get(name + "s")
        if isinstance(items, list):
            for item in items:
                _strip(item)
    limits = data.get("limits")
    if isinstance(limits, dict):
        _strip(limits.get("absolute"))
    return data


def apply(response):
    """Render ``response`` without SNF: fields (a JSON answer that has any)."""
    if response.streaming or not response.get("Content-Type", "").startswith("application/json") \
            or _MARK not in response.content:
        return
    try:
        data = json.loads(response.content)
    except ValueError:
        return
    response.content = json.dumps(strip_body(data), separators=(",", ":")).encode("utf-8")
