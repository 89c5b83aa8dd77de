"""The API's edge rules: what a request must be before any view or database sees it.

One place for every rule on raw client input, so that no malformed value reaches the
database or a codec (whose errors would be 500s):

- JSON bodies (``load_json``): UTF-8, no NaN/Infinity, at most MAX_JSON_DEPTH levels of
  nesting (deeper input used to exhaust the recursion limit), and no lone surrogate or
  NUL in any key or string (no database stores them, UTF-8 cannot encode a surrogate
  for the password and token hashes).
- Path parameters (``check_path``): ids are ASCII decimal within the id column's range,
  anything else is 404 before a lookup; other path parts may not hold NUL.
- Query parameters (``check_query``, ``query_uint``, ``query_id``): no NUL; numbers are
  ASCII decimal within their column's range, 400 otherwise.
- Bodies over DATA_UPLOAD_MAX_MEMORY_SIZE: api_view answers 413 overLimit.
"""

import json
import re

from synnefo.logic.ids import MAX_ID, parse_id, parse_uint

from . import faults

MAX_JSON_DEPTH = 32
# Lone surrogates (json.loads joins valid pairs into one code point) and NUL.
_UNSTORABLE = re.compile("[\ud800-\udfff\x00]")

# URL keyword -> what it names, for the 404 message.
PATH_IDS = {"server_id": "Server", "image_id": "Image", "flavor_id": "Flavor",
            "network_id": "Network", "port_id": "Port", "invitation_id": "Invitation"}


def _check_text(value, where):
    if _UNSTORABLE.search(value):
        raise faults.BadRequest("%s contains a NUL character or an unpaired UTF-16 "
                                "surrogate, which this service cannot store." % where)


def _reject_constant(name):
    raise ValueError("%s is not a JSON number" % name)


def load_json(raw):
    """The JSON document in the bytes ``raw`` (empty: None); badRequest naming the problem."""
    try:
        data = json.loads(raw.decode("utf-8") or "null", parse_constant=_reject_constant)
    except RecursionError:
        raise faults.BadRequest("The request body is nested more than %d levels deep."
                                % MAX_JSON_DEPTH) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise faults.BadRequest("The request body is not valid JSON: %s." % exc) from None
    # Iterative walk: a recursive one would fail on the very input it guards against.
    stack = [(data, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth >= MAX_JSON_DEPTH:
                raise faults.BadRequest("The request body is nested more than %d levels deep."
                                        % MAX_JSON_DEPTH)
            if isinstance(item, dict):
                for key, value in item.items():
                    _check_text(key, "A key of the request body")
                    stack.append((value, depth + 1))
            else:
                stack.extend((value, depth + 1) for value in item)
        elif isinstance(item, str):
            _check_text(item, "A string in the request body")
    return data


def check_path(kwargs):
    """404 for a path id that cannot name a row, or a path part holding NUL."""
    for key, value in kwargs.items():
        what = PATH_IDS.get(key)
        if what is not None and parse_id(value) is None:
            raise faults.ItemNotFound("%s %s not found." % (what, value))
        if key == "subnet_id":
            network, _, version = value.rpartition("-v")
            if version not in ("4", "6") or parse_id(network) is None:
                raise faults.ItemNotFound("Subnet %s not found." % value)
        if "\x00" in value:
            raise faults.ItemNotFound("No such item: the URL contains a NUL character.")


def check_query(request):
    """badRequest for a NUL in any query parameter (Django already replaced bad UTF-8)."""
    for key, values in request.GET.lists():
        for text in [key] + values:
            if "\x00" in text:
                raise faults.BadRequest("Query parameter %r contains a NUL character." % key)


def query_uint(request, name, maximum=MAX_ID):
    """The query parameter ``name`` as a non-negative integer (None when absent or empty);
    badRequest unless it is ASCII decimal digits within ``maximum``."""
    text = request.GET.get(name)
    if text is None or text == "":
        return None
    number = parse_uint(text, maximum)
    if number is None:
        raise faults.BadRequest("'%s' must be a whole number from 0 to %d, got %r."
                                % (name, maximum, text))
    return number


def query_id(request, name, links=False):
    """The query parameter ``name`` as an id (None when absent or empty); with ``links``
    a URL ending in /<id> is taken too. badRequest for anything else."""
    text = request.GET.get(name)
    if text is None or text == "":
        return None
    ref = text.rstrip("/").rsplit("/", 1)[-1] if links else text
    number = parse_id(ref)
    if number is None:
        raise faults.BadRequest("'%s' must be an id (a whole number from 1 to %d)%s, got %r."
                                % (name, MAX_ID, " or a link to one" if links else "", text))
    return number
