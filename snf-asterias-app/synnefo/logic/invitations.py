"""Invitations: a user with invitations left invites someone by e-mail; the link carries
a signed, expiring token (django.core.signing); accepting it opens an account with the
default quotas. Off unless INVITATIONS_ENABLED.

The functions the API and the administrators' tools share: invitation_quota /
invitations_left / set_invitation_quota (per-user quota), invite, resend, list_invitations,
check_token, accept.
"""

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from synnefo.db.models import Invitation, User

from . import users
from .errors import Conflict, Forbidden, InvalidInput, NotFound, OverLimit

# Tokens signed for invitations verify for nothing else (and other tokens not here).
SALT = "synnefo.logic.invitations"


class InvalidToken(InvalidInput):
    """A forged, damaged, expired, or already used invitation token."""


def enabled():
    return bool(settings.INVITATIONS_ENABLED)


def invitation_quota(user):
    """How many invitations ``user`` may send in all: their own limit or the default."""
    if user.max_invitations is not None:
        return user.max_invitations
    return settings.INVITATIONS_PER_USER


def invitations_left(user):
    return max(0, invitation_quota(user) - Invitation.objects.filter(inviter=user).count())


def set_invitation_quota(user, value):
    """Set ``user``'s invitation quota; None goes back to INVITATIONS_PER_USER."""
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                              or value < 0):
        raise InvalidInput("An invitation quota is a non-negative integer, got %r." % (value,))
    user.max_invitations = value
    user.save(update_fields=["max_invitations", "updated"])
    return user


def make_token(invitation):
    """The signed token of the link: it carries the time it was made (its age is checked
    on use), the address and which sending of the invitation it came with (a resend
    voids the links sent before it)."""
    return signing.dumps({"id": invitation.id, "email": invitation.email,
                          "n": invitation.send_count}, salt=SALT)


def accept_url(token):
    """The link in the e-mail: INVITATION_ACCEPT_URL with {token} filled in, or the
    identity API's accept endpoint."""
    template = settings.INVITATION_ACCEPT_URL
    if not template:
        template = settings.API_PUBLIC_BASE_URL.rstrip("/") + \
            "/identity/v3/invitations/accept?token={token}"
    return template.replace("{token}", token)


def _send(invitation):
    token = make_token(invitation)
    days = settings.INVITATION_LIFETIME / 86400
    body = ("%s invites you to open an account on %s.\n\n"
            "Accept within %g days: %s\n\n"
            "Accepting means choosing a user name and a password: POST "
            '{"name": ..., "password": ...} as JSON to that link (a GET of it tells whether '
            "it is still valid).\n"
            % (invitation.inviter.name, settings.API_PUBLIC_BASE_URL, days, accept_url(token)))
    send_mail("Invitation to %s" % settings.API_PUBLIC_BASE_URL, body,
              settings.DEFAULT_FROM_EMAIL, [invitation.email])
    return token


def _check_email(email):
    try:
        validate_email(email)
    except ValidationError:
        raise InvalidInput("%r is not an e-mail address." % (email,)) from None
    if len(email) > 254:
        raise InvalidInput("An e-mail address has at most 254 characters.")


def invite(inviter, email):
    """Invite ``email`` on behalf of ``inviter`` and send the mail: (Invitation, token).

    The count is checked with the inviter's row locked, so two requests cannot both use
    the last invitation."""
    if not enabled():
        raise Forbidden("Invitations are switched off on this cloud.")
    _check_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise Conflict("There is an account for %s already." % email)
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=inviter.pk).first()
        if Invitation.objects.filter(inviter=inviter, email__iexact=email,
                                     accepted__isnull=True).exists():
            raise Conflict("You have invited %s already; resend that invitation instead."
                           % email)
        if invitations_left(inviter) <= 0:
            raise OverLimit("You have no invitations left (quota %d)."
                            % invitation_quota(inviter), resource="invitations")
        invitation = Invitation.objects.create(inviter=inviter, email=email,
                                               sent=timezone.now())
    return invitation, _send(invitation)


def get_invitation(invitation_id, inviter=None):
    """The invitation with this id (only among ``inviter``'s when given); NotFound."""
    query = Invitation.objects.select_related("inviter", "user")
    if inviter is not None:
        query = query.filter(inviter=inviter)
    try:
        return query.get(pk=int(invitation_id))
    except (Invitation.DoesNotExist, ValueError, TypeError, OverflowError):
        raise NotFound("No invitation %r." % (invitation_id,)) from None


def resend(invitation):
    """Send a pending invitation again with a fresh token (a new validity period);
    -> the token."""
    if invitation.accepted is not None:
        raise Conflict("Invitation %d was accepted already." % invitation.id)
    invitation.sent = timezone.now()
    invitation.send_count += 1
    invitation.save(update_fields=["sent", "send_count"])
    return _send(invitation)


def list_invitations(inviter=None):
    """Invitations, newest first; ``inviter``'s only when given."""
    query = Invitation.objects.select_related("inviter", "user").order_by("-created", "-id")
    if inviter is not None:
        query = query.filter(inviter=inviter)
    return list(query)


def check_token(token):
    """The pending Invitation a token names; InvalidToken for a forged or damaged one,
    one older than INVITATION_LIFETIME seconds, or one already used."""
    if not enabled():
        raise Forbidden("Invitations are switched off on this cloud.")
    if not isinstance(token, str) or not token or len(token) > 1000:
        raise InvalidToken("The invitation token is missing or malformed.")
    try:
        data = signing.loads(token, salt=SALT, max_age=settings.INVITATION_LIFETIME)
    except signing.SignatureExpired:
        raise InvalidToken("The invitation has expired; ask for it to be sent again.") \
            from None
    except signing.BadSignature:
        raise InvalidToken("The invitation token is not valid.") from None
    try:
        invitation = Invitation.objects.select_related("inviter").get(
            pk=data["id"], email=data["email"])
    except (Invitation.DoesNotExist, KeyError, TypeError, ValueError):
        raise InvalidToken("The invitation token is not valid.") from None
    if invitation.accepted is not None:
        raise InvalidToken("The invitation was accepted already.")
    if data.get("n") != invitation.send_count:
        raise InvalidToken("The invitation was sent again since; use the newest link.")
    return invitation


def accept(token, name, password):
    """Open the account an invitation offers: a user ``name`` with ``password`` and the
    invited address, default quotas. The invitation is used up in the same transaction."""
    invitation = check_token(token)
    if not isinstance(password, str) or len(password) < settings.INVITATION_MIN_PASSWORD:
        raise InvalidInput("The password must have at least %d characters."
                           % settings.INVITATION_MIN_PASSWORD)
    with transaction.atomic():
        # the row lock makes two concurrent accepts of one link open one account
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.accepted is not None:
            raise InvalidToken("The invitation was accepted already.")
        user = users.create_user(name, email=invitation.email, password=password)
        locked.accepted = timezone.now()
        locked.user = user
        locked.save(update_fields=["accepted", "user"])
    return user
