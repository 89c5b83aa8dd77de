"""Images: the compute API's /images and a Glance-v2-shaped read API under /image/v2."""

from synnefo.logic import images as logic

from . import faults
from . import serializers as ser
from .util import (
    api_view,
    changes_since,
    empty_response,
    json_response,
    list_response,
    metadata_item,
    metadata_item_body,
    page,
    pagination,
    parse_body,
)
from .validation import query_id


def _compute_list(request, detail):
    since = changes_since(request)
    query = logic.visible_images(request.snf_user, include_deleted=since is not None)
    if since is not None:
        query = query.filter(updated__gte=since)
    if request.GET.get("name"):
        query = query.filter(name=request.GET["name"])
    if request.GET.get("status"):
        query = query.filter(state=request.GET["status"].upper())
    if detail:
        query = query.prefetch_related("metadata")
    render = ser.image_detail if detail else ser.image_brief
    return list_response(request, query, "images", render, since)


@api_view(["GET", "POST"])
def images_collection(request):
    if request.method == "POST":
        # A method this resource does not offer (405), not a server failure (501).
        raise faults.BadMethod("Creating images through the API is not supported: an "
                               "administrator registers them (snf-manage image-register).",
                               headers={"Allow": "GET"})
    return _compute_list(request, detail=False)


@api_view(["GET"])
def images_detail(request):
    return _compute_list(request, detail=True)


@api_view(["GET", "DELETE"])
def image_item(request, image_id):
    image = logic.get_image(request.snf_user, image_id)
    if request.method == "DELETE":
        logic.delete_image(request.snf_user, image)
        return empty_response(204)
    return json_response({"image": ser.image_detail(request, image)})


@api_view(["GET", "POST", "PUT"])
def image_metadata(request, image_id):
    image = logic.get_image(request.snf_user, image_id)
    if request.method == "GET":
        return json_response({"metadata": logic.image_metadata(image)})
    items = parse_body(request, "metadata")
    result = logic.update_metadata(request.snf_user, image, items,
                                   replace=request.method == "PUT")
    return json_response({"metadata": result})


@api_view(["GET", "PUT", "DELETE"])
def image_metadata_item(request, image_id, key):
    user = request.snf_user
    image = logic.get_image(user, image_id)
    if request.method == "GET":
        return metadata_item(logic.image_metadata(image), key, "Image %s" % image_id)
    if request.method == "DELETE":
        logic.delete_metadata_item(user, image, key)
        return empty_response(204)
    meta = metadata_item_body(request, key)
    logic.update_metadata(user, image, meta)
    return json_response({"meta": meta})


# -- Glance v2 (read, plus delete) ---------------------------------------------------------

GLANCE_STATUS = {"active": "ACTIVE", "saving": "SAVING", "deleted": "DELETED"}


@api_view(["GET"])
def glance_images(request):
    user = request.snf_user
    query = logic.visible_images(user).prefetch_related("metadata")
    params = request.GET
    if params.get("name"):
        query = query.filter(name=params["name"])
    if params.get("visibility") in ("public", "private"):
        query = query.filter(public=params["visibility"] == "public")
    if params.get("owner"):
        owner = params["owner"]
        query = query.filter(owner__isnull=True) if owner == "system" else \
            query.filter(owner_id=query_id(request, "owner"))
    if params.get("status"):
        state = GLANCE_STATUS.get(params["status"].lower())
        query = query.filter(state=state) if state else query.none()
    size, marker = pagination(request)
    items, next_links = page(query, size, marker, request, "images")
    body = {"images": [ser.glance_image(request, i) for i in items],
            "schema": "/v2/schemas/images", "first": "/v2/images"}
    if next_links:
        href = next_links[0]["href"]
        body["next"] = href[href.index("/v2/images"):]
    return json_response(body)


@api_view(["GET", "DELETE"])
def glance_image(request, image_id):
    image = logic.get_image(request.snf_user, image_id)
    if request.method == "DELETE":
        logic.delete_image(request.snf_user, image)
        return empty_response(204)
    image = type(image).objects.prefetch_related("metadata").get(pk=image.pk)
    return json_response(ser.glance_image(request, image))
