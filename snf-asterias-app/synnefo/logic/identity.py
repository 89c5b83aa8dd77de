"""API tokens: issuing, validating and revoking them.

A token is a random string shown to its owner once; the DB keeps only its SHA-256
(``hash_token``), so a copy of the database does not hand out credentials. It is
hexadecimal: it goes on command lines (``snf-admin --token T``, ``openstack --os-token T``),
where a token starting with "-" would be read as an option, and into shells and headers,
where nothing in it needs quoting.
"""

import datetime
import functools
import secrets

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import IntegrityError, transaction
from django.utils import timezone

from synnefo.db.models import Token, User, hash_token

from .errors import InvalidInput, NotFound
from .ids import parse_id


class AuthenticationFailed(Exception):
    """Unknown user, wrong password, expired/unknown token or an inactive account."""


def issue_token(user, lifetime=None, description="", parent=None):
    """A new token for ``user``: (token string, Token row). lifetime in seconds; 0: never
    expires. A token issued in exchange for ``parent`` (a Token row) never outlives it
    and is revoked with it (Token.parent cascades)."""
    if lifetime is None:
        lifetime = settings.TOKEN_LIFETIME
    if not isinstance(lifetime, int) or lifetime < 0:
        raise InvalidInput("A token lifetime must be a non-negative number of seconds, got %r."
                           % (lifetime,))
    secret = secrets.token_hex(32)
    expires = timezone.now() + datetime.timedelta(seconds=lifetime) if lifetime else None
    if parent is not None and parent.expires is not None:
        expires = parent.expires if expires is None else min(expires, parent.expires)
    try:
        with transaction.atomic():
            row = Token.objects.create(user=user, key_hash=hash_token(secret), expires=expires,
                                       description=description[:255], parent=parent)
    except IntegrityError:
        # the parent was revoked between its lookup and this insert
        raise AuthenticationFailed("The token is unknown: log in again for a new one.") \
            from None
    return secret, row


@functools.lru_cache(maxsize=4)
def _dummy_hash(hashers):
    """A hash of a random password made by the configured hasher (``hashers``, the
    PASSWORD_HASHERS setting, keys the cache)."""
    return make_password(secrets.token_urlsafe(16))


def _password_matches(user, password):
    """Whether ``password`` is ``user``'s; every call verifies one hash of the configured
    hasher -- the user's own or, for an unknown user or one without a password, a dummy
    one -- so an unknown user costs as much as a wrong password and timing does not tell
    which user names exist."""
    own = user is not None and bool(user.password)
    encoded = user.password if own else _dummy_hash(tuple(settings.PASSWORD_HASHERS))
    # an empty password is verified too (and then refused), for the same reason
    matches = check_password(password if isinstance(password, str) else "", encoded)
    return own and matches and bool(password)


def login(user, password, lifetime=None):
    """Password login of ``user`` (or None): (token, Token row) or AuthenticationFailed.

    One message for every cause, so the answer does not tell which user names exist.
    """
    matches = _password_matches(user, password)  # first: inactive users cost the same too
    if not matches or not user.is_active:
        raise AuthenticationFailed("The user name or password is wrong, or the account is "
                                   "not active.")
    return issue_token(user, lifetime, description="password login")


def find_login_user(name=None, user_id=None):
    query = User.objects.all()
    try:
        if user_id is not None:
            return query.get(pk=parse_id(user_id))
        return query.get(name=name)
    except (User.DoesNotExist, ValueError, TypeError):
        return None


def lookup_token(secret):
    """The valid Token row (user selected) for this secret; AuthenticationFailed otherwise."""
    if not secret or not isinstance(secret, str) or len(secret) > 512:
        raise AuthenticationFailed("No valid token: log in again for a new one.")
    try:
        row = Token.objects.select_related("user").get(key_hash=hash_token(secret))
    except Token.DoesNotExist:
        raise AuthenticationFailed("The token is unknown: log in again for a new one.") from None
    if row.expires is not None and row.expires <= timezone.now():
        raise AuthenticationFailed("The token has expired: log in again for a new one.")
    if not row.user.is_active:
        raise AuthenticationFailed("The account is %s: ask an administrator."
                                   % row.user.state.lower())
    return row


def revoke_token(secret, by_user):
    """Delete a token; a user may revoke their own tokens, an admin anyone's."""
    row = lookup_token(secret)
    if row.user_id != by_user.id and not by_user.is_admin:
        raise NotFound("No such token.")
    row.delete()
