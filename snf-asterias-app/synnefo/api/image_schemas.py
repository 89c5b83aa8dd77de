"""JSON schemas of the image API (/image/v2/schemas/image, /schemas/images).

glanceclient builds its image objects from them and validates every image it sends or
receives against them, so they describe exactly what serializers.glance_image writes:
the core attributes, and any other property as a string (``additionalProperties``).
"""

from .util import api_view, json_response

_NULLABLE_STRING = {"type": ["null", "string"]}
_READ_ONLY_STRING = {"type": "string", "readOnly": True}

IMAGE = {
    "name": "image",
    "additionalProperties": {"type": "string"},
    "links": [{"rel": "self", "href": "{self}"}, {"rel": "enclosure", "href": "{file}"},
              {"rel": "describedby", "href": "{schema}"}],
    "properties": {
        "id": _READ_ONLY_STRING,
        "name": dict(_NULLABLE_STRING, maxLength=255),
        "status": {"type": "string", "readOnly": True,
                   "enum": ["queued", "saving", "active", "deleted"]},
        "visibility": {"type": "string", "enum": ["public", "private"]},
        "protected": {"type": "boolean"},
        "os_hidden": {"type": "boolean"},
        "checksum": dict(_NULLABLE_STRING, readOnly=True),
        "os_hash_algo": dict(_NULLABLE_STRING, readOnly=True),
        "os_hash_value": dict(_NULLABLE_STRING, readOnly=True),
        "owner": dict(_NULLABLE_STRING, readOnly=True),
        "size": {"type": ["null", "integer"], "readOnly": True},
        "virtual_size": {"type": ["null", "integer"], "readOnly": True},
        "container_format": dict(_NULLABLE_STRING, enum=[None, "bare"]),
        "disk_format": _NULLABLE_STRING,
        "synnefo_format": {"type": "string"},
        "created_at": _READ_ONLY_STRING,
        "updated_at": _READ_ONLY_STRING,
        "tags": {"type": "array", "items": {"type": "string"}},
        "min_ram": {"type": "integer"},
        "min_disk": {"type": "integer"},
        "self": _READ_ONLY_STRING,
        "file": _READ_ONLY_STRING,
        "schema": _READ_ONLY_STRING,
    },
}

IMAGES = {
    "name": "images",
    "properties": {"images": {"type": "array", "items": IMAGE},
                   "schema": {"type": "string"}, "first": {"type": "string"},
                   "next": {"type": "string"}},
    "links": [{"rel": "first", "href": "{first}"}, {"rel": "next", "href": "{next}"},
              {"rel": "describedby", "href": "{schema}"}],
}


@api_view(["GET"])
def image_schema(request):
    return json_response(IMAGE)


@api_view(["GET"])
def images_schema(request):
    return json_response(IMAGES)
