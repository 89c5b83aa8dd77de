"""Login throttling: too many failed password logins for one user name, or from one
source address, within LOGIN_THROTTLE_WINDOW seconds refuse further attempts for a while.

Failures are rows of db_loginfailure, so every gunicorn worker of every API server counts
the same ones (the packaged cache is per process, so it cannot hold shared counters).
The window slides: an attempt is refused while the last ``limit`` failures of a key all
lie within the window, and Retry-After says when the oldest of them leaves it. Refused
attempts are not recorded, so a client that keeps trying is not locked out for longer
than one window, and what it learns is only that it was refused.
"""

import datetime
import hashlib
import math

from django.conf import settings
from django.utils import timezone

from synnefo.db.models import LoginFailure


class Throttled(Exception):
    """Too many failures; ``retry_after`` is in whole seconds (at least 1)."""

    def __init__(self, retry_after):
        super().__init__("Too many failed logins; retry after %d seconds." % retry_after)
        self.retry_after = retry_after


def _digest(kind, value):
    text = "%s:%s" % (kind, value)
    # "surrogatepass": a key is only hashed, so any string a client sent is accepted here
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def user_key(user, name=None, user_id=None):
    """The key of a login attempt's account: the user's id when the name or id names one
    (so name and id cannot be alternated to double the attempts), else what was given."""
    if user is not None:
        return _digest("user", user.id)
    if name is not None:
        return _digest("name", name)
    return _digest("id", user_id)


def address_key(address):
    return _digest("address", address)


def _limits(user_key_, address_key_):
    return [(user_key_, settings.LOGIN_THROTTLE_USER_FAILURES),
            (address_key_, settings.LOGIN_THROTTLE_ADDRESS_FAILURES)]


def _window():
    return datetime.timedelta(seconds=settings.LOGIN_THROTTLE_WINDOW)


def check(user_key_, address_key_):
    """Throttled if either key has reached its limit of failures within the window."""
    now = timezone.now()
    since = now - _window()
    waits = []
    for key, limit in _limits(user_key_, address_key_):
        if not limit:
            continue  # 0: this limit is off
        recent = list(LoginFailure.objects.filter(key=key, created__gt=since)
                      .order_by("-created").values_list("created", flat=True)[:limit])
        if len(recent) >= limit:
            # allowed again once the limit-th latest failure has left the window
            waits.append((recent[-1] + _window() - now).total_seconds())
    if waits:
        raise Throttled(max(1, math.ceil(max(waits))))


def record_failure(user_key_, address_key_):
    now = timezone.now()
    LoginFailure.objects.bulk_create([LoginFailure(key=key, created=now)
                                      for key, limit in _limits(user_key_, address_key_)
                                      if limit])
    # keep the table to one window's worth (one indexed range delete)
    LoginFailure.objects.filter(created__lte=now - _window()).delete()


def record_success(user_key_):
    """A correct password clears its account's failures; the address keeps its own (one
    valid account must not let an address guess on at other accounts)."""
    LoginFailure.objects.filter(key=user_key_).delete()
