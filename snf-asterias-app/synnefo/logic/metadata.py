"""Validation shared by server and image metadata (key <= 50, value <= 500 characters,
at most MAX_METADATA_ITEMS stored per item)."""

from django.conf import settings

from .errors import InvalidInput, OverLimit
from .text import check_no_control

# Nova's limit on a server's metadata values (images keep Synnefo's 500 characters).
SERVER_VALUE_MAX = 255


def validate_metadata(items, field="metadata", max_value=500):
    if not isinstance(items, dict):
        raise InvalidInput("'%s' must be an object of string keys and values." % field)
    check_total(len(items))
    for key, value in items.items():
        if not isinstance(key, str) or not key or len(key) > 50:
            raise InvalidInput("Metadata keys in '%s' must be 1-50 characters, got %r."
                               % (field, key))
        if not isinstance(value, str) or len(value) > max_value:
            raise InvalidInput("The value of metadata key %r must be a string of at most %d "
                               "characters." % (key, max_value))
        check_no_control(key, "Metadata key %r" % key)
        check_no_control(value, "The value of metadata key %r" % key)


def check_total(total, owner="A request"):
    """OverLimit (413, as Nova answers) when ``owner`` would hold more than
    MAX_METADATA_ITEMS items: the limit is on what is stored, not on one request."""
    if total > settings.MAX_METADATA_ITEMS:
        raise OverLimit("%s would have %d metadata items; at most %d are allowed "
                        "(MAX_METADATA_ITEMS). Delete some first."
                        % (owner, total, settings.MAX_METADATA_ITEMS), resource="metadata")


def total_after(current_keys, items, replace):
    """How many items there are once ``items`` are written (merged, or replacing all)."""
    return len(items) if replace else len(set(current_keys) | set(items))
