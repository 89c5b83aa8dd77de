"""Unknown URLs under the API prefixes answer a 404 fault, not an HTML page."""

from . import faults
from .util import api_view


@api_view(["GET", "POST", "PUT", "DELETE", "PATCH"], auth=False)
def unknown(request, rest=""):
    raise faults.ItemNotFound("No such resource: %s. The compute API is at /compute/v2.1/, "
                              "identity at /identity/v3/, images at /image/v2/." % request.path)
