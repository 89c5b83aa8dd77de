"""/compute/v2.1/flavors: list, detail, show (deleted flavors stay resolvable by id)."""

from synnefo.logic import flavors as logic

from . import serializers as ser
from .util import api_view, json_response, page, pagination
from .validation import query_uint


def _list(request, render):
    query = logic.list_flavors(min_ram=query_uint(request, "minRam"),
                               min_disk=query_uint(request, "minDisk"))
    size, marker = pagination(request)
    items, next_links = page(query, size, marker, request, "flavors")
    items.sort(key=lambda f: (f.cpu, f.ram, f.disk, f.disk_template))
    body = {"flavors": [render(request, f) for f in items]}
    if next_links:
        body["flavors_links"] = next_links
    return json_response(body)


@api_view(["GET"])
def flavors_collection(request):
    return _list(request, ser.flavor_brief)


@api_view(["GET"])
def flavors_detail(request):
    return _list(request, ser.flavor_detail)


@api_view(["GET"])
def flavor_item(request, flavor_id):
    return json_response({"flavor": ser.flavor_detail(request, logic.get_flavor(flavor_id))})


@api_view(["GET"])
def flavor_extra_specs(request, flavor_id):
    flavor = logic.get_flavor(flavor_id)
    return json_response({"extra_specs": {"SNF:disk_template": flavor.disk_template}})
