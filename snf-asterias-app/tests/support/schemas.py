"""Validate responses against tempest's Compute v2.1 response schemas, unchanged.

The schemas forbid unknown properties: a default answer (no X-Synnefo-Extensions
header) must match them exactly, Synnefo's "SNF:" fields included.
"""

import json

from tempest.lib.api_schema.response.compute.v2_1 import flavors, images, keypairs, limits, servers
from tempest.lib.common.rest_client import RestClient

__all__ = ["validate", "servers", "flavors", "images", "keypairs", "limits"]


class _Resp(dict):
    def __init__(self, status):
        super().__init__()
        self.status = status


def validate(schema, response):
    """Raise tempest's InvalidHTTPResponseBody when the Django response does not match."""
    body = json.loads(response.content) if response.content else None
    RestClient.validate_response(schema, _Resp(response.status_code), body)
    return body
