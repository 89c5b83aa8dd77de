"""Images in the compute API (/compute/v2.x/images); the image API is image_v2.py."""

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
    parse_body,
)


def _compute_list(request, detail):
    since = changes_since(request)
    query = logic.filter_images(request.snf_user, since=since, name=request.GET.get("name"),
                                status=request.GET.get("status"), with_metadata=detail)
    render = ser.image_detail if detail else ser.image_brief
    return list_response(request, query, "images", render, since)


@api_view(["GET", "POST"])
def images_collection(request):
    if request.method == "POST":
        # A method this resource does not offer (405), not a server failure (501).
        raise faults.BadMethod("Images are created through the image API (POST "
                               "/image/v2/images) or by an administrator (snf-manage "
                               "image-register).",
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
