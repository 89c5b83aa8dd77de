"""URL patterns of the public APIs (compute, identity, image), mounted at the site root.

Trailing slashes are explicit (APPEND_SLASH is off): every pattern accepts an
optional one. /compute/v2, /compute/v2.0 and /compute/v2.1 share the handlers.
"""

from django.urls import include, re_path

from . import (
               flavors,
               identity,
               image_schemas,
               image_v2,
               images,
               invitations,
               keypairs,
               limits,
               notfound,
               servers,
               versions,
)
from .routes import COMPUTE as C
from .routes import collection

ID = r"(?P<server_id>[^/]+)"

urlpatterns = [
    # versions
    re_path(r"^compute/?$", versions.compute_versions),
    re_path(r"^compute/(?P<version>v2|v2\.0|v2\.1)/?$", versions.compute_version),
    # servers
    *collection(C, "servers", servers.servers_collection, servers.server_item, "server_id",
                detail_view=servers.servers_detail),
    re_path(C + r"servers/%s/action/?$" % ID, servers.server_action),
    re_path(C + r"servers/%s/metadata/?$" % ID, servers.server_metadata),
    re_path(C + r"servers/%s/metadata/(?P<key>[^/]+)/?$" % ID, servers.server_metadata_item),
    re_path(C + r"servers/%s/ips/?$" % ID, servers.server_ips),
    re_path(C + r"servers/%s/ips/(?P<network>[^/]+)/?$" % ID, servers.server_ips_network),
    # flavors
    *collection(C, "flavors", flavors.flavors_collection, flavors.flavor_item, "flavor_id",
                detail_view=flavors.flavors_detail),
    re_path(C + r"flavors/(?P<flavor_id>[^/]+)/os-extra_specs/?$", flavors.flavor_extra_specs),
    # images
    *collection(C, "images", images.images_collection, images.image_item, "image_id",
                detail_view=images.images_detail),
    re_path(C + r"images/(?P<image_id>[^/]+)/metadata/?$", images.image_metadata),
    re_path(C + r"images/(?P<image_id>[^/]+)/metadata/(?P<key>[^/]+)/?$",
            images.image_metadata_item),
    # keypairs, limits, extensions
    *collection(C, "os-keypairs", keypairs.keypairs_collection, keypairs.keypair_item, "name"),
    re_path(C + r"limits/?$", limits.limits),
    re_path(C + r"extensions/?$", limits.extensions),
    # Glance v2 shaped image API
    re_path(r"^image/?$", versions.image_versions),
    re_path(r"^image/versions/?$", versions.image_versions),
    *collection(r"^image/v2/", "images", image_v2.images, image_v2.image, "image_id"),
    re_path(r"^image/v2/images/(?P<image_id>[^/]+)/file/?$", image_v2.image_file),
    re_path(r"^image/v2/schemas/image/?$", image_schemas.image_schema),
    re_path(r"^image/v2/schemas/images/?$", image_schemas.images_schema),
    re_path(r"^image/node/(?P<image_id>[^/]+)/(?P<expires>[^/]+)/(?P<signature>[^/]+)$",
            image_v2.node_image),
    # identity
    re_path(r"^identity/?$", identity.versions),
    re_path(r"^identity/v3/?$", identity.v3_root),
    re_path(r"^identity/v3/auth/tokens/?$", identity.v3_tokens),
    re_path(r"^identity/v3/invitations/?$", invitations.invitations_collection),
    re_path(r"^identity/v3/invitations/accept/?$", invitations.invitation_accept),
    re_path(r"^identity/v3/invitations/(?P<invitation_id>[^/]+)/resend/?$",
            invitations.invitation_resend),
    re_path(r"^identity/v2\.0/?$", identity.v2_root),
    re_path(r"^identity/v2\.0/tokens/?$", identity.v2_tokens),
    # networks: /network/v2.0/ and /compute/v2.x/servers/<id>/os-interface
    re_path(r"", include("synnefo.api.network.urls")),
    # anything else under the API prefixes (any character: "." would stop at a newline)
    re_path(r"^(?:compute|identity|image)/(?P<rest>[\s\S]*)$", notfound.unknown),
]
