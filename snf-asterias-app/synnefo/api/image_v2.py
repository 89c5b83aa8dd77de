"""The image API under /image/v2, shaped as Glance v2: list, create, show, update
(JSON patch), delete, upload and download of an image's data; and /image/node/...,
the signed links Ganeti nodes fetch image data through without a token.

Image data is streamed in both directions in chunks (never read whole into memory):
the upload goes from the request's input stream through ``logic.images.upload`` into
the image store, the download from the store file into the response.
"""

from django.http import FileResponse

from synnefo.logic import errors as logic_errors
from synnefo.logic import images as logic
from synnefo.logic.ids import parse_uint
from synnefo.logic.image_store import CHUNK

from . import faults, validation
from . import serializers as ser
from .client_address import client_address
from .util import api_view, empty_response, json_response, page, pagination, parse_body

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
# Glance's first patch format, still accepted (Tempest sends it): {"replace": "/name",
# "value": ...}, the operation named by its key.
PATCH_TYPE_V20 = "application/openstack-images-v2.0-json-patch"
PATCH_OPS = ("add", "replace", "remove")
DATA_TYPE = "application/octet-stream"


@api_view(["GET", "POST"])
def images(request):
    if request.method == "POST":
        image = logic.create_image(request.snf_user, parse_body(request))
        return json_response(ser.glance_image(request, image), 201,
                             {"Location": "/v2/images/%d" % image.id})
    params = request.GET
    owner = params.get("owner") or None
    if owner is not None and owner != "system":
        owner = validation.query_id(request, "owner")
    query = logic.glance_images(request.snf_user, name=params.get("name"),
                                visibility=params.get("visibility"), owner=owner,
                                status=params.get("status"))
    size, marker = pagination(request)
    items, next_links = page(query, size, marker, request, "images")
    body = {"images": [ser.glance_image(request, i) for i in items],
            "schema": "/v2/schemas/images", "first": "/v2/images"}
    if next_links:
        href = next_links[0]["href"]
        body["next"] = href[href.index("/v2/images"):]
    return json_response(body)


@api_view(["GET", "PATCH", "DELETE"])
def image(request, image_id):
    user = request.snf_user
    item = logic.get_image(user, image_id)
    if request.method == "DELETE":
        logic.delete_image(user, item)
        return empty_response(204)
    if request.method == "PATCH":
        item = logic.update_image(user, item, _patch_changes(request))
    return json_response(ser.glance_image(request, item))


def _patch_changes(request):
    """The (op, attribute, value) list of a Glance JSON patch body."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type not in (PATCH_TYPE, PATCH_TYPE_V20):
        raise faults.BadMediaType("Image updates must be sent as %s." % PATCH_TYPE)
    ops = validation.load_json(request.body)
    if not isinstance(ops, list):
        raise faults.BadRequest("The request body must be a JSON list of changes.")
    if content_type == PATCH_TYPE_V20:
        ops = [_from_v20(op) for op in ops]
    changes = []
    for op in ops:
        if not isinstance(op, dict) or op.get("op") not in PATCH_OPS:
            raise faults.BadRequest("Each change must be an object with 'op' add, replace or "
                                    "remove.")
        path = op.get("path")
        if not isinstance(path, str) or not path.startswith("/") or "/" in path[1:] \
                or len(path) < 2:
            raise faults.BadRequest("Each change needs a 'path' naming one attribute, as "
                                    "'/name'.")
        if op["op"] != "remove" and "value" not in op:
            raise faults.BadRequest("A change %r needs a 'value'." % op["op"])
        attribute = path[1:].replace("~1", "/").replace("~0", "~")
        changes.append((op["op"], attribute, op.get("value")))
    return changes


def _from_v20(op):
    """A v2.0 change ({"replace": "/name", "value": v}) in the v2.1 shape."""
    if isinstance(op, dict):
        named = [key for key in PATCH_OPS if key in op]
        if len(named) == 1 and set(op) <= {named[0], "value"}:
            return dict(op, op=named[0], path=op[named[0]])
    return op  # refused by the checks that follow


@api_view(["GET", "PUT"])
def image_file(request, image_id):
    user = request.snf_user
    item = logic.get_image(user, image_id)
    if request.method == "PUT":
        content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
        if content_type not in ("", DATA_TYPE):
            raise faults.BadMediaType("Image data must be sent as %s." % DATA_TYPE)
        logic.upload(user, item, _request_chunks(request), _content_length(request))
        return empty_response(204)
    return _data_response(logic.open_data(item))


@api_view(["GET"], auth=False)
def node_image(request, image_id, expires, signature):
    """GET of a signed link (logic.image_links): no token, 403 when forged or expired."""
    return _data_response(logic.open_data_by_link(image_id, expires, signature,
                                                  source=client_address(request)))


class _DataResponse(FileResponse):
    block_size = CHUNK


def _data_response(data):
    """The image data (200, with Glance's Content-MD5), or 204 when there is none."""
    if data is None:
        return empty_response(204)
    stream, size, md5 = data
    response = _DataResponse(stream, content_type=DATA_TYPE)
    response["Content-Length"] = str(size)
    if md5:
        response["Content-MD5"] = md5
    return response


def _content_length(request):
    text = request.META.get("CONTENT_LENGTH") or ""
    if _chunked(request) and not text:
        return None
    length = parse_uint(text, 2 ** 63 - 1)
    if length is None:
        raise faults.BadRequest("The upload needs a Content-Length (or chunked transfer "
                                "encoding), got %r." % text[:30])
    return length


def _chunked(request):
    return "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()


def _request_chunks(request):
    """The request body in chunks. Django reads at most Content-Length bytes; a chunked
    body (no length) is read from the WSGI server's input, which decodes the chunks."""
    stream = request.environ["wsgi.input"] if _chunked(request) and \
        not request.META.get("CONTENT_LENGTH") else request
    while True:
        try:
            chunk = stream.read(CHUNK)
        except (OSError, ValueError) as exc:
            # The client's body failed: a cut connection (Django's UnreadablePostError)
            # or a malformed chunked encoding (gunicorn's NoMoreData, InvalidChunkSize:
            # IOErrors too). Never a server fault.
            raise logic_errors.InvalidInput("The upload was interrupted or malformed (%s): "
                                            "nothing was stored." % type(exc).__name__) from None
        if not chunk:
            return
        yield chunk
