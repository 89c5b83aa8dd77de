"""Identity endpoints (Keystone v3 and v2.0 shapes), token checks and versions."""

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone
from support.api import ApiClient

from synnefo.db.models import Token
from synnefo.logic import identity

pytestmark = pytest.mark.django_db

PW = "secret-" + "pw"


def v3_body(name="alice", password=PW, project="alice"):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": name, "domain": {"name": "Default"}, "password": password}}}}}
    if project:
        body["auth"]["scope"] = {"project": {"name": project, "domain": {"name": "Default"}}}
    return body


def test_v3_password_login_gives_token_and_catalog(world, settings):
    settings.API_PUBLIC_BASE_URL = "https://cloud.example.org/"
    r = ApiClient().post("/identity/v3/auth/tokens", v3_body())
    assert r.status_code == 201
    token = r["X-Subject-Token"]
    body = r.json()["token"]
    assert body["user"]["name"] == "alice" and body["project"]["id"] == str(world.alice.id)
    urls = {c["type"]: c["endpoints"][0]["url"] for c in body["catalog"]}
    assert urls == {"compute": "https://cloud.example.org/compute/v2.1",
                    "image": "https://cloud.example.org/image",
                    "identity": "https://cloud.example.org/identity/v3",
                    "network": "https://cloud.example.org/network"}
    assert {"public", "internal", "admin"} == {e["interface"]
                                               for e in body["catalog"][0]["endpoints"]}
    assert ApiClient(token).get("/compute/v2.1/servers").status_code == 200
    # the DB keeps only the hash
    assert not Token.objects.filter(key_hash=token).exists()


@pytest.mark.parametrize("body", [
    v3_body(password="wrong"), v3_body(name="nobody"), v3_body(project="bob")])
def test_v3_refusals_are_401_in_keystone_shape(world, body):
    r = ApiClient().post("/identity/v3/auth/tokens", body)
    assert r.status_code == 401
    assert r.json()["error"]["code"] == 401 and "X-Subject-Token" not in r


def test_v3_suspended_user_cannot_log_in(world):
    world.alice.state = "SUSPENDED"
    world.alice.save()
    assert ApiClient().post("/identity/v3/auth/tokens", v3_body()).status_code == 401
    assert world.a.get("/compute/v2.1/servers").status_code == 401


def test_v3_bad_bodies_are_400(world):
    for body in ({}, {"auth": {}}, {"auth": {"identity": {"methods": ["password"]}}}):
        r = ApiClient().post("/identity/v3/auth/tokens", body)
        assert r.status_code == 400, body


def test_v3_validate_head_and_revoke(world):
    token = ApiClient().post("/identity/v3/auth/tokens", v3_body())["X-Subject-Token"]
    r = world.a.get("/identity/v3/auth/tokens", HTTP_X_SUBJECT_TOKEN=token)
    assert r.status_code == 200 and r.json()["token"]["user"]["name"] == "alice"
    assert world.a.head("/identity/v3/auth/tokens", HTTP_X_SUBJECT_TOKEN=token).status_code == 200
    # bob may not look at alice's token; the admin may
    assert world.b.get("/identity/v3/auth/tokens", HTTP_X_SUBJECT_TOKEN=token).status_code == 404
    assert world.r.get("/identity/v3/auth/tokens", HTTP_X_SUBJECT_TOKEN=token).status_code == 200
    assert world.a.get("/identity/v3/auth/tokens",
                       HTTP_X_SUBJECT_TOKEN="nope").status_code == 404
    assert world.a.delete("/identity/v3/auth/tokens", HTTP_X_SUBJECT_TOKEN=token).status_code == 204
    assert ApiClient(token).get("/compute/v2.1/servers").status_code == 401


def test_v3_token_method_rescopes(world):
    token = ApiClient().post("/identity/v3/auth/tokens", v3_body())["X-Subject-Token"]
    r = ApiClient().post("/identity/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["token"], "token": {"id": token}}}})
    assert r.status_code == 201 and r["X-Subject-Token"] != token


def test_v2_tokens(world):
    r = ApiClient().post("/identity/v2.0/tokens", {"auth": {"passwordCredentials": {
        "username": "alice", "password": PW}, "tenantName": "alice"}})
    assert r.status_code == 200
    access = r.json()["access"]
    assert access["user"]["name"] == "alice"
    assert {s["type"] for s in access["serviceCatalog"]} == {"compute", "image", "identity",
                                                             "network"}
    assert ApiClient(access["token"]["id"]).get("/compute/v2.1/flavors").status_code == 200
    r = ApiClient().post("/identity/v2.0/tokens", {"auth": {"passwordCredentials": {
        "username": "alice", "password": "x"}}})
    assert r.status_code == 401
    r = ApiClient().post("/identity/v2.0/tokens", {"auth": {"passwordCredentials": {
        "username": "alice", "password": PW}, "tenantName": "bob"}})
    assert r.status_code == 401


def test_missing_unknown_and_expired_tokens_are_401(world):
    assert world.anon.get("/compute/v2.1/servers").status_code == 401
    assert ApiClient("garbage").get("/compute/v2.1/servers").status_code == 401
    token, row = identity.issue_token(world.alice)
    Token.objects.filter(pk=row.pk).update(expires=timezone.now() - datetime.timedelta(1))
    r = ApiClient(token).get("/compute/v2.1/servers")
    assert r.status_code == 401 and "expired" in r.json()["unauthorized"]["message"]


def test_tokens_are_hexadecimal_so_a_command_line_never_reads_one_as_an_option(world):
    """A token once began with "-" (urlsafe base64 does, one time in 64) and
    ``snf-admin --token T`` read it as an option: every token issued is 64 hex digits."""
    issued = {identity.issue_token(world.alice)[0] for _ in range(200)}
    assert len(issued) == 200
    assert all(re.fullmatch(r"[0-9a-f]{64}", token) for token in issued), issued


def test_version_documents(world):
    c = Client()
    versions = c.get("/compute/").json()["versions"]
    assert {v["id"]: v["status"] for v in versions} == {"v2.0": "SUPPORTED", "v2.1": "CURRENT"}
    assert {v["id"]: (v["min_version"], v["version"]) for v in versions} == {
        "v2.0": ("", ""), "v2.1": ("2.1", "2.1")}
    for prefix, version in (("v2.1", "2.1"), ("v2.0", ""), ("v2", "")):
        doc = c.get("/compute/%s/" % prefix).json()["version"]
        assert doc["links"][0]["rel"] == "self" and doc["version"] == version
    assert c.get("/identity/v3").json()["version"]["id"].startswith("v3")
    assert c.get("/identity/").status_code == 300
    r = c.get("/image/")  # 300 Multiple Choices, as Glance
    assert r.status_code == 300 and r.json()["versions"][0]["links"][0]["href"].endswith(
        "/image/v2/")
