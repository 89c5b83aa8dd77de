"""The network API's root: versions, the resource list, extensions (none) and the
answer for anything else under /network."""

from .. import faults
from ..util import api_view, base_url, json_response


@api_view(["GET"], auth=False)
def versions(request):
    href = "%s/network/v2.0/" % base_url(request)
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT",
                                        "links": [{"rel": "self", "href": href}]}]})


@api_view(["GET"])
def v2_root(request):
    base = "%s/network/v2.0" % base_url(request)
    return json_response({"resources": [
        {"name": name, "collection": name + "s",
         "links": [{"rel": "self", "href": "%s/%ss" % (base, name)}]}
        for name in ("network", "subnet", "port")]})


@api_view(["GET"])
def extensions(request):
    return json_response({"extensions": []})


@api_view(["GET"])
def extension_item(request, alias):
    raise faults.ItemNotFound("Extension %s is not supported." % alias)


@api_view(["GET", "POST", "PUT", "DELETE", "PATCH"], auth=False)
def unknown(request, rest=""):
    raise faults.ItemNotFound("No such resource: %s. The network API offers "
                              "/network/v2.0/networks, subnets and ports." % request.path)
