"""Tokens derived from other tokens (v2.0 and v3 token auth): never outliving their
parent, revoked with it."""

import datetime

import pytest
from django.utils import timezone
from support.api import ApiClient

from synnefo.db.models import Token, hash_token
from synnefo.logic import identity

pytestmark = pytest.mark.django_db

V2 = "/identity/v2.0/tokens"
V3 = "/identity/v3/auth/tokens"


def derive(version, parent, scoped=False, user="alice"):
    """(token, expiry as the response states it) of a token derived from ``parent``."""
    if version == "v2":
        body = {"auth": {"token": {"id": parent}}}
        if scoped:
            body["auth"]["tenantName"] = user
        r = ApiClient().post(V2, body)
        assert r.status_code == 200, r.content
        token = r.json()["access"]["token"]
        return token["id"], token["expires"]
    body = {"auth": {"identity": {"methods": ["token"], "token": {"id": parent}}}}
    if scoped:
        body["auth"]["scope"] = {"project": {"name": user, "domain": {"id": "default"}}}
    r = ApiClient().post(V3, body)
    assert r.status_code == 201, r.content
    return r["X-Subject-Token"], r.json()["token"]["expires_at"]


def row(token):
    return Token.objects.get(key_hash=hash_token(token))


def works(token):
    return ApiClient(token).get("/compute/v2.1/flavors").status_code == 200


@pytest.mark.parametrize("version", ["v2", "v3"])
@pytest.mark.parametrize("scoped", [False, True])
def test_a_derived_token_never_outlives_its_parent(world, version, scoped):
    parent, parent_row = identity.issue_token(world.alice, lifetime=20)
    child, stated = derive(version, parent, scoped)
    child_row = row(child)
    assert child_row.expires == parent_row.expires
    assert child_row.parent_id == parent_row.id
    assert stated.startswith(parent_row.expires.strftime("%Y-%m-%dT%H:%M:%S"))
    # and a token derived from that one inherits the same bound, on the other version
    grandchild, _ = derive("v3" if version == "v2" else "v2", child, scoped)
    assert row(grandchild).expires == parent_row.expires


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_a_token_derived_from_a_longer_lived_one_keeps_its_own_lifetime(world, version,
                                                                        settings):
    settings.TOKEN_LIFETIME = 600
    parent, parent_row = identity.issue_token(world.alice, lifetime=0)  # never expires
    before = timezone.now()
    child, _ = derive(version, parent)
    expires = row(child).expires
    assert before + datetime.timedelta(seconds=600) <= expires
    assert expires <= timezone.now() + datetime.timedelta(seconds=600)


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_an_expired_parent_derives_nothing(world, version):
    parent, parent_row = identity.issue_token(world.alice)
    Token.objects.filter(pk=parent_row.pk).update(
        expires=timezone.now() - datetime.timedelta(seconds=1))
    count = Token.objects.count()
    if version == "v2":
        r = ApiClient().post(V2, {"auth": {"token": {"id": parent}}})
    else:
        r = ApiClient().post(V3, {"auth": {"identity": {"methods": ["token"],
                                                        "token": {"id": parent}}}})
    assert r.status_code == 401
    assert Token.objects.count() == count


def _login():
    r = ApiClient().post(V3, {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {"name": "alice", "domain": {"id": "default"}, "password": "secret-pw"}}}}})
    assert r.status_code == 201, r.content
    return r["X-Subject-Token"]


def _tree():
    """root -> (v2 child -> v3 grandchild), (v3 child -> v2 grandchild)."""
    root = _login()
    a, _ = derive("v2", root)
    a1, _ = derive("v3", a, scoped=True)
    b, _ = derive("v3", root)
    b1, _ = derive("v2", b, scoped=True)
    return root, a, a1, b, b1


def _revoke_v3(by, token):
    return ApiClient(by).delete(V3, HTTP_X_SUBJECT_TOKEN=token).status_code


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_revoking_a_token_revokes_every_token_derived_from_it(world, version):
    root, a, a1, b, b1 = _tree()
    assert all(works(t) for t in (root, a, a1, b, b1))
    # revoking one branch leaves its parent and the other branch alone
    branch, leaf = (a, a1) if version == "v2" else (b, b1)
    other = (b, b1) if version == "v2" else (a, a1)
    assert _revoke_v3(root, branch) == 204
    assert not works(branch) and not works(leaf)
    assert works(root) and all(works(t) for t in other)
    # revoking the root (here by the token itself) revokes the rest of the tree
    assert _revoke_v3(root, root) == 204
    assert not any(works(t) for t in (root, a, a1, b, b1))
    # a revoked token derives nothing any more
    r = ApiClient().post(V2, {"auth": {"token": {"id": other[1]}}})
    assert r.status_code == 401


def test_revoke_token_of_the_logic_layer_revokes_the_chain(world):
    root, a, a1, b, b1 = _tree()
    identity.revoke_token(root, world.alice)
    assert not Token.objects.filter(user=world.alice, description="token rescope").exists()
    assert not any(works(t) for t in (root, a, a1, b, b1))


@pytest.mark.django_db(transaction=True)  # as in a request: the insert commits on its own
def test_a_parent_revoked_while_its_child_is_issued_gives_401_not_500(world):
    parent, parent_row = identity.issue_token(world.alice)
    Token.objects.filter(pk=parent_row.pk).delete()  # revoked after the lookup
    with pytest.raises(identity.AuthenticationFailed):
        identity.issue_token(world.alice, parent=parent_row)
    assert not Token.objects.filter(parent_id=parent_row.pk).exists()
