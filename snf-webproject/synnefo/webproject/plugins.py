"""What installed distributions contribute to the web project (entry points, group "synnefo").

- ``web_apps``: a list of Django app names for INSTALLED_APPS
- ``web_middleware``: a list of middleware class paths, appended in distribution order
- ``urls``: a list of URL patterns, mounted at the site root
"""

import functools
from importlib import metadata

from .apps import WEB_APPS

GROUP = "synnefo"


@functools.lru_cache(maxsize=None)
def _entry_points():
    # one scan of the installed distributions' metadata serves every kind of contribution
    return tuple(metadata.entry_points(group=GROUP))


def _load(name):
    eps = [ep for ep in _entry_points() if ep.name == name]
    eps.sort(key=lambda ep: (ep.dist.name if ep.dist else "", ep.value))
    return [ep.load() for ep in eps]


def _merge(lists):
    merged = []
    for items in lists:
        for item in items:
            if item not in merged:
                merged.append(item)
    return merged


def web_apps():
    # the web project's own apps come first: others may depend on them
    lists = _load("web_apps")
    return _merge([WEB_APPS] + lists)


def web_middleware():
    return _merge(_load("web_middleware"))


def url_patterns():
    patterns = []
    for items in _load("urls"):
        patterns.extend(items)
    return patterns
