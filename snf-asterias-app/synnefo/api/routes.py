"""URL pattern helpers shared by the compute, image and network URL confs."""

from django.urls import re_path

# /compute/v2, /compute/v2.0 and /compute/v2.1 share the handlers.
COMPUTE = r"^compute/(?:v2|v2\.0|v2\.1)/"


def collection(prefix, name, list_view, item_view, key, detail_view=None):
    """The patterns of a REST collection: ``<name>``, ``<name>/detail`` when there is a
    detail view (before the item, which would otherwise take "detail" for an id) and
    ``<name>/<key>``; each with an optional trailing slash (APPEND_SLASH is off)."""
    patterns = [re_path(prefix + name + r"/?$", list_view)]
    if detail_view is not None:
        patterns.append(re_path(prefix + name + r"/detail/?$", detail_view))
    patterns.append(re_path(prefix + name + r"/(?P<%s>[^/]+)/?$" % key, item_view))
    return patterns
