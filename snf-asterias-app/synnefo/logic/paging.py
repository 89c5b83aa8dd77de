"""One page of a list: newest first, after a marker (the id of the last item seen)."""

from .errors import InvalidInput
from .ids import parse_id


def page(query, size, marker):
    """Up to ``size`` items of ``query`` with ids below ``marker``'s, newest first;
    InvalidInput when the marker is not one of the items ``query`` holds."""
    query = query.order_by("-id")
    if marker is not None:
        marker_id = parse_id(marker)
        if not query.filter(pk=marker_id).exists():
            raise InvalidInput("marker [%s] not found." % marker)
        query = query.filter(pk__lt=marker_id)
    return list(query[:size]) if size else []
