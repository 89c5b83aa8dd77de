"""Validate responses against tempest's Compute v2.1 response schemas.

The schemas forbid unknown properties; Synnefo's own extension fields all start with
"SNF:", so the one change made to a copy of each schema is to allow properties of
that prefix (patternProperties) wherever the schema has additionalProperties false.
Everything else -- required fields, types, formats -- is tempest's.
"""

import copy
import json

from tempest.lib.api_schema.response.compute.v2_1 import flavors, images, keypairs, limits, servers
from tempest.lib.common.rest_client import RestClient

__all__ = ["validate", "servers", "flavors", "images", "keypairs", "limits"]


def _allow_snf(node):
    if isinstance(node, dict):
        if node.get("additionalProperties") is False and "properties" in node:
            node.setdefault("patternProperties", {})["^SNF:"] = {}
        for value in node.values():
            _allow_snf(value)
    elif isinstance(node, list):
        for value in node:
            _allow_snf(value)
    return node


class _Resp(dict):
    def __init__(self, status):
        super().__init__()
        self.status = status


def validate(schema, response):
    """Raise tempest's InvalidHTTPResponseBody when the Django response does not match."""
    schema = _allow_snf(copy.deepcopy(schema))
    body = json.loads(response.content) if response.content else None
    RestClient.validate_response(schema, _Resp(response.status_code), body)
    return body
