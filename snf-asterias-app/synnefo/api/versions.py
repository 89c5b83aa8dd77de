"""Version documents of the compute and image APIs, shaped as keystoneauth expects.

v2.1 states its one microversion as both "min_version" and "version" (2.1, see
``microversion``); v2.0, like Nova's, has none (both empty).
"""

from . import microversion
from .util import api_view, base_url, json_response

COMPUTE_VERSIONS = [
    ("v2.0", "SUPPORTED", "2011-01-21T11:33:21Z", "v2"),
    ("v2.1", "CURRENT", "2013-07-23T11:33:21Z", "v2.1"),
]


def _compute_version(request, vid, status, updated, path):
    micro = (microversion.MAX_VERSION, microversion.MIN_VERSION) if vid == "v2.1" else ("", "")
    return {"id": vid, "status": status, "version": micro[0], "min_version": micro[1],
            "updated": updated,
            "links": [{"rel": "self", "href": "%s/compute/%s/" % (base_url(request), path)}]}


@api_view(["GET"], auth=False)
def compute_versions(request):
    return json_response({"versions": [_compute_version(request, *v) for v in COMPUTE_VERSIONS]})


@api_view(["GET"], auth=False)
def compute_version(request, version):
    vid = "v2.0" if version in ("v2", "v2.0") else "v2.1"
    vid, status, updated, path = next(v for v in COMPUTE_VERSIONS if v[0] == vid)
    doc = _compute_version(request, vid, status, updated, path)
    doc["links"].append({"rel": "describedby", "type": "text/html",
                         "href": "https://docs.openstack.org/api-ref/compute/"})
    doc["media-types"] = [{"base": "application/json",
                           "type": "application/vnd.openstack.compute+json;version=2.1"}]
    return json_response({"version": doc})


@api_view(["GET"], auth=False)
def image_versions(request):
    href = "%s/image/v2/" % base_url(request)
    versions = [{"id": vid, "status": status, "links": [{"rel": "self", "href": href}]}
                for vid, status in (("v2.6", "CURRENT"), ("v2.0", "SUPPORTED"))]
    # 300 Multiple Choices, as Glance answers it (Tempest checks the status)
    return json_response({"versions": versions}, status=300)
