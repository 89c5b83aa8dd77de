"""Invitations under the identity API (synnefo.logic.invitations; docs/api.md).

Every endpoint answers 404 while INVITATIONS_ENABLED is off, as for any unknown URL, so
a cloud without invitations shows no trace of them.
"""

import datetime

from django.conf import settings

from synnefo.logic import invitations

from . import faults
from .util import api_view, isotime, json_response, parse_body


def _check_enabled():
    if not invitations.enabled():
        raise faults.ItemNotFound("The resource could not be found.")


def _view(invitation):
    return {"id": str(invitation.id), "email": invitation.email,
            "created_at": isotime(invitation.created), "sent_at": isotime(invitation.sent),
            "send_count": invitation.send_count,
            "accepted_at": isotime(invitation.accepted),
            "user_id": str(invitation.user_id) if invitation.user_id else None,
            "status": "accepted" if invitation.accepted else "pending"}


def _listing(user):
    return {"invitations": [_view(i) for i in invitations.list_invitations(user)],
            "invitations_left": invitations.invitations_left(user),
            "invitation_quota": invitations.invitation_quota(user)}


@api_view(["GET", "POST"], style="keystone")
def invitations_collection(request):
    _check_enabled()
    user = request.snf_user
    if request.method == "POST":
        body = parse_body(request, "invitation")
        email = body.get("email")
        if not isinstance(email, str):
            raise faults.BadRequest("'invitation.email' is required.")
        invitation, _token = invitations.invite(user, email.strip())
        return json_response({"invitation": _view(invitation),
                              "invitations_left": invitations.invitations_left(user)},
                             status=201)
    return json_response(_listing(user))


@api_view(["POST"], style="keystone")
def invitation_resend(request, invitation_id):
    _check_enabled()
    invitation = invitations.get_invitation(invitation_id, inviter=request.snf_user)
    invitations.resend(invitation)
    return json_response({"invitation": _view(invitation)}, status=202)


def _token(request, body):
    token = body.get("token") if body else None
    if token is None:
        token = request.GET.get("token")
    return token


@api_view(["GET", "POST"], auth=False, style="keystone")
def invitation_accept(request):
    """GET: whether the link's token is valid (and for which address); POST {"name",
    "password"[, "token"]}: open the account."""
    _check_enabled()
    if request.method == "POST":
        body = parse_body(request)
        name, password = body.get("name"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            raise faults.BadRequest("'name' and 'password' (strings) are required.")
        user = invitations.accept(_token(request, body), name, password)
        return json_response({"user": {"id": str(user.id), "name": user.name,
                                       "email": user.email}}, status=201)
    invitation = invitations.check_token(_token(request, None))
    expires = invitation.sent + datetime.timedelta(seconds=settings.INVITATION_LIFETIME)
    return json_response({"invitation": {"email": invitation.email,
                                         "inviter": invitation.inviter.name,
                                         "expires_at": isotime(expires)}})
