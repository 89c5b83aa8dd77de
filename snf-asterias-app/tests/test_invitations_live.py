"""Invitations on the real web stack: gunicorn with the packaged settings loader, Django's
file mail backend writing the real mail into a directory, the link from that file
accepted over HTTP, the new account used through openstacksdk; an expired and a forged
token refused with 4xx."""

import glob
import http.client
import json
import re
from unittest import mock

import pytest
from django.core import signing
from support.live import Gunicorn, live_settings, sdk_password, snf_manage

from synnefo.logic.invitations import SALT

pytestmark = pytest.mark.integration

SECRET = "integration-test-only"   # support.live.live_settings's SECRET_KEY


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("invitations-live")
    mails = tmp / "mail"
    environ = live_settings(tmp, BACKEND_PREFIX_ID="snfinv-", INVITATIONS_ENABLED=True,
                            INVITATIONS_PER_USER=1, DEFAULT_FROM_EMAIL="cloud@example.org",
                            EMAIL_BACKEND="django.core.mail.backends.filebased.EmailBackend",
                            EMAIL_FILE_PATH=str(mails))
    snf_manage(environ, "migrate", "-v0")
    snf_manage(environ, "user-create", "alice", "--password-stdin", stdin="alice-pass-3\n")
    token = snf_manage(environ, "token-create", "alice").strip()
    server = Gunicorn("synnefo.webproject.wsgi:application", environ,
                      str(tmp / "gunicorn.log"))
    yield server, token, mails, environ
    server.stop()


def call(server, method, path, body=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["X-Auth-Token"] = token
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, path, json.dumps(body) if body is not None else None, headers)
        r = conn.getresponse()
        return r.status, json.loads(r.read() or b"null")
    finally:
        conn.close()


def test_mailed_link_opens_a_working_account(live):
    server, token, mails, environ = live
    status, body = call(server, "POST", "/identity/v3/invitations",
                        {"invitation": {"email": "carol@example.net"}}, token)
    assert status == 201, body
    [path] = glob.glob(str(mails / "*.log"))
    with open(path) as f:
        text = f.read()
    assert "To: carol@example.net" in text and "From: cloud@example.org" in text
    match = re.search(re.escape(server.base) + r"(/identity/v3/invitations/accept\?token=\S+)",
                      text)
    assert match, text
    link = match.group(1)
    status, body = call(server, "GET", link)
    assert status == 200 and body["invitation"]["email"] == "carol@example.net", body
    status, body = call(server, "POST", link, {"name": "carol", "password": "carol-pass-9"})
    assert status == 201, body
    # the new account logs in through a real client and works with the default quotas
    conn = sdk_password(server.base, "carol", "carol-pass-9")
    assert list(conn.compute.servers()) == []
    limits = conn.compute.get_limits().absolute
    assert limits.instances == 3   # QUOTA_MAX_SERVERS's default
    # used up: the link, and alice's one invitation
    assert call(server, "POST", link, {"name": "carol2", "password": "carol-pass-9"})[0] == 400
    status, body = call(server, "POST", "/identity/v3/invitations",
                        {"invitation": {"email": "dave@example.net"}}, token)
    assert status == 413, body
    assert "carol@example.net" in snf_manage(environ, "user-invitations", "alice")


def test_expired_and_forged_tokens_are_refused(live):
    server, token, _mails, environ = live
    snf_manage(environ, "user-invitations", "alice", "--quota", "5")
    status, body = call(server, "POST", "/identity/v3/invitations",
                        {"invitation": {"email": "erin@example.net"}}, token)
    assert status == 201, body
    claims = {"id": int(body["invitation"]["id"]), "email": "erin@example.net", "n": 1}
    # signed with the server's key, but eight days ago (INVITATION_LIFETIME: 7 days)
    with mock.patch("django.core.signing.time.time",
                    return_value=signing.time.time() - 8 * 86400):
        expired = signing.dumps(claims, key=SECRET, salt=SALT)
    forged = signing.dumps(claims, key="guessed-" + SECRET, salt=SALT)
    for bad in (expired, forged, expired[:-2] + "xx"):
        status, body = call(server, "POST", "/identity/v3/invitations/accept",
                            {"token": bad, "name": "erin", "password": "erin-pass-99"})
        assert status == 400, body
        assert body["error"]["code"] == 400
    assert "expired" in call(server, "GET", "/identity/v3/invitations/accept?token=" +
                             expired)[1]["error"]["message"]
    # a correctly signed fresh token for the same claims works: only age and key differ
    fresh = signing.dumps(claims, key=SECRET, salt=SALT)
    status, body = call(server, "POST", "/identity/v3/invitations/accept",
                        {"token": fresh, "name": "erin", "password": "erin-pass-99"})
    assert status == 201, body
