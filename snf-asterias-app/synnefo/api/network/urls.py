"""URL patterns of the Neutron-shaped network API (/network/v2.0/) and the compute
API's os-interface (server NIC attach/detach)."""

from django.urls import re_path

from ..routes import COMPUTE as C
from ..routes import collection
from . import views

N = r"^network/v2\.0/"
SERVER = r"servers/(?P<server_id>[^/]+)/"

urlpatterns = [
    re_path(r"^network/?$", views.versions),
    re_path(r"^network/v2\.0/?$", views.v2_root),
    re_path(N + r"extensions/?$", views.extensions),
    re_path(N + r"extensions/(?P<alias>[^/]+)/?$", views.extension_item),
    *collection(N, "networks", views.networks_collection, views.network_item, "network_id"),
    *collection(N, "subnets", views.subnets_collection, views.subnet_item, "subnet_id"),
    *collection(N, "ports", views.ports_collection, views.port_item, "port_id"),
    re_path(r"^network/(?P<rest>[\s\S]*)$", views.unknown),
    re_path(C + SERVER + r"os-interface/?$", views.interfaces_collection),
    re_path(C + SERVER + r"os-interface/(?P<port_id>[^/]+)/?$", views.interface_item),
]
