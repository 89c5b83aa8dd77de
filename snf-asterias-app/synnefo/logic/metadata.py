"""Validation shared by server and image metadata (key <= 50, value <= 500 characters)."""

from django.conf import settings

from .errors import InvalidInput, OverLimit


def validate_metadata(items, field="metadata"):
    if not isinstance(items, dict):
        raise InvalidInput("'%s' must be an object of string keys and values." % field)
    if len(items) > settings.MAX_METADATA_ITEMS:
        raise OverLimit("At most %d metadata items are allowed, got %d."
                        % (settings.MAX_METADATA_ITEMS, len(items)), resource="metadata")
    for key, value in items.items():
        if not isinstance(key, str) or not key or len(key) > 50:
            raise InvalidInput("Metadata keys in '%s' must be 1-50 characters, got %r."
                               % (field, key))
        if not isinstance(value, str) or len(value) > 500:
            raise InvalidInput("The value of metadata key %r must be a string of at most 500 "
                               "characters." % key)
