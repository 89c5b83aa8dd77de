"""Invitations: the logic (quota, tokens, accept) and the identity API endpoints, with
Django's locmem mail backend (mail.outbox). The live run with the file backend is
test_invitations_live.py."""

import re
from unittest import mock

import pytest
from django.core import mail, signing
from django.core.management import call_command
from django.core.management.base import CommandError
from support.api import ApiClient

from synnefo.db.models import Invitation, User
from synnefo.logic import invitations, quotas
from synnefo.logic.errors import Conflict, Forbidden, InvalidInput, OverLimit

pytestmark = pytest.mark.django_db

URL = "/identity/v3/invitations"


@pytest.fixture
def on(settings):
    settings.INVITATIONS_ENABLED = True
    settings.INVITATIONS_PER_USER = 2
    settings.API_PUBLIC_BASE_URL = "https://cloud.example.org"
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "cloud@example.org"
    return settings


def link_token(message):
    match = re.search(r"https://cloud\.example\.org/identity/v3/invitations/accept\?token=(\S+)",
                      message.body)
    assert match, message.body
    return match.group(1)


def test_off_by_default_every_endpoint_is_404(world, settings):
    assert settings.INVITATIONS_ENABLED is False
    assert world.a.get(URL).status_code == 404
    assert world.a.post(URL, {"invitation": {"email": "x@example.org"}}).status_code == 404
    assert ApiClient().get(URL + "/accept?token=abc").status_code == 404
    assert world.a.post(URL + "/1/resend").status_code == 404
    with pytest.raises(Forbidden):
        invitations.invite(world.alice, "x@example.org")
    assert not mail.outbox and not Invitation.objects.exists()


def test_invite_sends_a_mail_whose_link_opens_an_account(world, on):
    r = world.a.post(URL, {"invitation": {"email": "carol@example.net"}})
    assert r.status_code == 201, r.content
    assert r.json()["invitations_left"] == 1
    assert r.json()["invitation"]["status"] == "pending"
    [message] = mail.outbox
    assert message.to == ["carol@example.net"] and message.from_email == "cloud@example.org"
    assert "alice" in message.body
    token = link_token(message)
    r = ApiClient().get(URL + "/accept?token=" + token)
    assert r.status_code == 200
    assert r.json()["invitation"]["email"] == "carol@example.net"
    assert r.json()["invitation"]["inviter"] == "alice"
    r = ApiClient().post(URL + "/accept?token=" + token, {"name": "carol",
                                                            "password": "carol-password"})
    assert r.status_code == 201, r.content
    carol = User.objects.get(name="carol")
    assert carol.email == "carol@example.net" and carol.is_active and not carol.is_admin
    # default quotas: no per-user overrides
    assert quotas.limits(carol)["servers"] == on.QUOTA_MAX_SERVERS
    assert carol.max_servers is None and carol.max_invitations is None
    login = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "carol", "domain": {"name": "Default"}, "password": "carol-password"}}}}}
    r = ApiClient().post("/identity/v3/auth/tokens", login)
    assert r.status_code == 201
    assert ApiClient(r["X-Subject-Token"]).get("/compute/v2.1/servers").status_code == 200
    listing = world.a.get(URL).json()
    assert listing["invitations"][0]["status"] == "accepted"
    assert listing["invitations"][0]["user_id"] == str(carol.id)
    # the link works once
    r = ApiClient().post(URL + "/accept", {"token": token, "name": "carol2",
                                           "password": "carol-password"})
    assert r.status_code == 400 and "accepted already" in r.json()["error"]["message"]
    assert not User.objects.filter(name="carol2").exists()


def test_quota_counts_every_invitation_sent(world, on):
    for n in range(2):
        assert world.a.post(URL, {"invitation": {"email": "p%d@example.net" % n}}) \
            .status_code == 201
    r = world.a.post(URL, {"invitation": {"email": "p9@example.net"}})
    assert r.status_code == 413 and "no invitations left" in r.json()["error"]["message"]
    assert len(mail.outbox) == 2
    # the administrator raises alice's quota
    invitations.set_invitation_quota(world.alice, 3)
    assert world.a.post(URL, {"invitation": {"email": "p9@example.net"}}).status_code == 201
    assert world.a.get(URL).json()["invitations_left"] == 0
    invitations.set_invitation_quota(world.alice, None)
    assert invitations.invitation_quota(world.alice) == 2
    with pytest.raises(InvalidInput):
        invitations.set_invitation_quota(world.alice, -1)


def test_quota_zero_refuses(world, on):
    invitations.set_invitation_quota(world.bob, 0)
    with pytest.raises(OverLimit):
        invitations.invite(world.bob, "z@example.net")


@pytest.mark.parametrize("body, status", [
    ({"invitation": {"email": "not an address"}}, 400),
    ({"invitation": {"email": 5}}, 400),
    ({"invitation": {}}, 400),
    ({"email": "a@b.example"}, 400),
    ({"invitation": {"email": "bob@example.org"}}, 409),   # bob has an account
])
def test_bad_invites(world, on, body, status):
    r = world.a.post(URL, body)
    assert r.status_code == status, r.content
    assert not mail.outbox


def test_same_address_twice_is_409_resend_instead(world, on):
    first = world.a.post(URL, {"invitation": {"email": "d@example.net"}}).json()
    assert world.a.post(URL, {"invitation": {"email": "D@example.net"}}).status_code == 409
    old = link_token(mail.outbox[0])
    # only the inviter can resend it
    assert world.b.post(URL + "/%s/resend" % first["invitation"]["id"]).status_code == 404
    r = world.a.post(URL + "/%s/resend" % first["invitation"]["id"])
    assert r.status_code == 202 and r.json()["invitation"]["send_count"] == 2
    new = link_token(mail.outbox[1])
    assert new != old
    # the resend voids the first link
    r = ApiClient().get(URL + "/accept?token=" + old)
    assert r.status_code == 400 and "sent again" in r.json()["error"]["message"]
    assert ApiClient().get(URL + "/accept?token=" + new).status_code == 200
    assert world.a.post(URL + "/99999/resend").status_code == 404
    assert world.a.post(URL + "/x/resend").status_code == 404


def test_expired_token_refused(world, on):
    invitation, _ = invitations.invite(world.alice, "e@example.net")
    with mock.patch("django.core.signing.time.time",
                    return_value=invitation.sent.timestamp() - on.INVITATION_LIFETIME - 10):
        token = invitations.make_token(invitation)
    r = ApiClient().post(URL + "/accept", {"token": token, "name": "eve", "password": "x" * 10})
    assert r.status_code == 400 and "expired" in r.json()["error"]["message"]
    assert not User.objects.filter(name="eve").exists()


@pytest.mark.parametrize("token", [
    "", "garbage", "a:b:c", "\u00e9" * 20, "x" * 5000,
    signing.dumps({"id": 1, "email": "e@example.net", "n": 1}, salt="another-salt"),
    signing.dumps({"id": 1, "email": "e@example.net", "n": 1}, key="not-our-secret",
                  salt=invitations.SALT),
])
def test_forged_tokens_refused(world, on, token):
    invitations.invite(world.alice, "e@example.net")
    r = ApiClient().post(URL + "/accept", {"token": token, "name": "eve", "password": "x" * 10})
    assert r.status_code == 400, r.content
    assert ApiClient().client.get(URL + "/accept", {"token": token}).status_code == 400
    assert not User.objects.filter(name="eve").exists()


def test_token_of_another_address_refused(world, on):
    invitation, _ = invitations.invite(world.alice, "e@example.net")
    # signed with the right key (a leak of it is out of scope) but naming another address
    moved = signing.dumps({"id": invitation.id, "email": "mallory@example.net", "n": 1},
                          salt=invitations.SALT)
    assert ApiClient().post(URL + "/accept", {"token": moved, "name": "m",
                                              "password": "x" * 10}).status_code == 400


@pytest.mark.parametrize("body", [
    {"name": "f", "password": "short"},
    {"name": "bob", "password": "long-enough"},        # taken
    {"name": "123", "password": "long-enough"},        # all digits
    {"name": 5, "password": "long-enough"},
    {"name": "f"},
    [],
])
def test_bad_accepts_leave_the_invitation_pending(world, on, body):
    _invitation, token = invitations.invite(world.alice, "f@example.net")
    r = ApiClient().post(URL + "/accept?token=" + token, body)
    assert r.status_code == 400, r.content
    assert Invitation.objects.get().accepted is None
    assert ApiClient().get(URL + "/accept?token=" + token).status_code == 200


def test_anonymous_cannot_invite(world, on):
    assert ApiClient().post(URL, {"invitation": {"email": "g@example.net"}}).status_code == 401
    assert ApiClient().get(URL).status_code == 401


def test_manage_command_sets_quota_lists_and_resends(world, on, capsys):
    invitations.invite(world.alice, "h@example.net")
    call_command("user-invitations", "alice", "--quota", "7")
    out = capsys.readouterr().out
    assert "alice: quota 7, 6 left" in out and "h@example.net" in out
    world.alice.refresh_from_db()
    assert world.alice.max_invitations == 7
    inv = Invitation.objects.get()
    call_command("user-invitations", "alice", "--resend", str(inv.id), "--quota", "-1")
    inv.refresh_from_db()
    assert inv.send_count == 2 and len(mail.outbox) == 2
    world.alice.refresh_from_db()
    assert world.alice.max_invitations is None
    with pytest.raises(CommandError):
        call_command("user-invitations", "bob", "--resend", str(inv.id))
    with pytest.raises(CommandError):
        call_command("user-invitations", "alice", "--quota", "-5")


def test_resend_of_accepted_is_conflict(world, on):
    invitation, token = invitations.invite(world.alice, "i@example.net")
    invitations.accept(token, "ivan", "ivan-password")
    invitation.refresh_from_db()
    with pytest.raises(Conflict):
        invitations.resend(invitation)
