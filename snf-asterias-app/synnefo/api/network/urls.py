"""URL patterns of the Neutron-shaped network API (/network/v2.0/) and the compute
API's os-interface (server NIC attach/detach)."""

urlpatterns = []
