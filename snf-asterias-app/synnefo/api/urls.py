"""URL patterns of the public APIs (compute, identity, image), mounted at the site root.

Trailing slashes are explicit (APPEND_SLASH is off): collection roots accept an
optional one. /compute/v2, /compute/v2.0 and /compute/v2.1 share the handlers.
"""

from django.urls import include, re_path

from . import flavors, identity, images, keypairs, limits, notfound, servers, versions

C = r"^compute/(?:v2|v2\.0|v2\.1)/"
ID = r"(?P<server_id>[^/]+)"

urlpatterns = [
    # versions
    re_path(r"^compute/?$", versions.compute_versions),
    re_path(r"^compute/(?P<version>v2|v2\.0|v2\.1)/?$", versions.compute_version),
    # servers
    re_path(C + r"servers/?$", servers.servers_collection),
    re_path(C + r"servers/detail/?$", servers.servers_detail),
    re_path(C + r"servers/%s/?$" % ID, servers.server_item),
    re_path(C + r"servers/%s/action/?$" % ID, servers.server_action),
    re_path(C + r"servers/%s/metadata/?$" % ID, servers.server_metadata),
    re_path(C + r"servers/%s/metadata/(?P<key>[^/]+)/?$" % ID, servers.server_metadata_item),
    re_path(C + r"servers/%s/ips/?$" % ID, servers.server_ips),
    re_path(C + r"servers/%s/ips/(?P<network>[^/]+)/?$" % ID, servers.server_ips_network),
    # flavors
    re_path(C + r"flavors/?$", flavors.flavors_collection),
    re_path(C + r"flavors/detail/?$", flavors.flavors_detail),
    re_path(C + r"flavors/(?P<flavor_id>[^/]+)/?$", flavors.flavor_item),
    re_path(C + r"flavors/(?P<flavor_id>[^/]+)/os-extra_specs/?$", flavors.flavor_extra_specs),
    # images
    re_path(C + r"images/?$", images.images_collection),
    re_path(C + r"images/detail/?$", images.images_detail),
    re_path(C + r"images/(?P<image_id>[^/]+)/?$", images.image_item),
    re_path(C + r"images/(?P<image_id>[^/]+)/metadata/?$", images.image_metadata),
    re_path(C + r"images/(?P<image_id>[^/]+)/metadata/(?P<key>[^/]+)/?$",
            images.image_metadata_item),
    # keypairs, limits, extensions
    re_path(C + r"os-keypairs/?$", keypairs.keypairs_collection),
    re_path(C + r"os-keypairs/(?P<name>[^/]+)/?$", keypairs.keypair_item),
    re_path(C + r"limits/?$", limits.limits),
    re_path(C + r"extensions/?$", limits.extensions),
    # Glance v2 shaped image API
    re_path(r"^image/?$", versions.image_versions),
    re_path(r"^image/versions/?$", versions.image_versions),
    re_path(r"^image/v2/images/?$", images.glance_images),
    re_path(r"^image/v2/images/(?P<image_id>[^/]+)/?$", images.glance_image),
    # identity
    re_path(r"^identity/?$", identity.versions),
    re_path(r"^identity/v3/?$", identity.v3_root),
    re_path(r"^identity/v3/auth/tokens/?$", identity.v3_tokens),
    re_path(r"^identity/v2\.0/?$", identity.v2_root),
    re_path(r"^identity/v2\.0/tokens/?$", identity.v2_tokens),
    # networks: /network/v2.0/ and /compute/v2.x/servers/<id>/os-interface
    re_path(r"", include("synnefo.api.network.urls")),
    # anything else under the API prefixes
    re_path(r"^(?:compute|identity|image)/(?P<rest>.*)$", notfound.unknown),
]
