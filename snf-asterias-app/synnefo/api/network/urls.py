"""URL patterns of the Neutron-shaped network API (/network/v2.0/) and the compute
API's os-interface (server NIC attach/detach)."""

from django.urls import re_path

from . import views

N = r"^network/v2\.0/"
C = r"^compute/(?:v2|v2\.0|v2\.1)/"
SERVER = r"servers/(?P<server_id>[^/]+)/"

urlpatterns = [
    re_path(r"^network/?$", views.versions),
    re_path(r"^network/v2\.0/?$", views.v2_root),
    re_path(N + r"extensions/?$", views.extensions),
    re_path(N + r"extensions/(?P<alias>[^/]+)/?$", views.extension_item),
    re_path(N + r"networks/?$", views.networks_collection),
    re_path(N + r"networks/(?P<network_id>[^/]+)/?$", views.network_item),
    re_path(N + r"subnets/?$", views.subnets_collection),
    re_path(N + r"subnets/(?P<subnet_id>[^/]+)/?$", views.subnet_item),
    re_path(N + r"ports/?$", views.ports_collection),
    re_path(N + r"ports/(?P<port_id>[^/]+)/?$", views.port_item),
    re_path(r"^network/(?P<rest>.*)$", views.unknown),
    re_path(C + SERVER + r"os-interface/?$", views.interfaces_collection),
    re_path(C + SERVER + r"os-interface/(?P<port_id>[^/]+)/?$", views.interface_item),
]
