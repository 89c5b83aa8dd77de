"""URL patterns of the Neutron-shaped network API (/network/v2.0/) and the compute
API's os-interface (server NIC attach/detach)."""

from django.urls import re_path

from ..routes import COMPUTE as C
from ..routes import collection
from . import networks, ports, root, subnets

N = r"^network/v2\.0/"
SERVER = r"servers/(?P<server_id>[^/]+)/"

urlpatterns = [
    re_path(r"^network/?$", root.versions),
    re_path(r"^network/v2\.0/?$", root.v2_root),
    re_path(N + r"extensions/?$", root.extensions),
    re_path(N + r"extensions/(?P<alias>[^/]+)/?$", root.extension_item),
    *collection(N, "networks", networks.networks_collection, networks.network_item, "network_id"),
    *collection(N, "subnets", subnets.subnets_collection, subnets.subnet_item, "subnet_id"),
    *collection(N, "ports", ports.ports_collection, ports.port_item, "port_id"),
    re_path(r"^network/(?P<rest>[\s\S]*)$", root.unknown),
    re_path(C + SERVER + r"os-interface/?$", ports.interfaces_collection),
    re_path(C + SERVER + r"os-interface/(?P<port_id>[^/]+)/?$", ports.interface_item),
]
