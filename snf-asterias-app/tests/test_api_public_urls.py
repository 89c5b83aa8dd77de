"""Every URL the API hands out comes from API_PUBLIC_BASE_URL, never from the Host header."""

import json

import pytest
from support.api import ApiClient, create_server

pytestmark = pytest.mark.django_db

EVIL = "evil.example"
BASE = "https://cloud.example.org:8443/api"


def _exposed(response):
    """Everything of a response a client sees: status, headers, body."""
    return "%d\n%s\n%s" % (response.status_code,
                          "\n".join("%s: %s" % item for item in response.items()),
                          response.content.decode("utf-8", "replace"))


def _urls(value):
    """Every string in a JSON document that looks like a URL."""
    if isinstance(value, dict):
        return [u for v in value.values() for u in _urls(v)]
    if isinstance(value, list):
        return [u for v in value for u in _urls(v)]
    return [value] if isinstance(value, str) and "://" in value else []


def test_a_forged_host_is_nowhere_in_any_response(world, fake_backend, settings):
    # the worst an operator can configure: every Host accepted
    settings.ALLOWED_HOSTS = ["*"]
    settings.USE_X_FORWARDED_HOST = True
    settings.API_PUBLIC_BASE_URL = BASE + "/"
    forged = {"HTTP_HOST": EVIL, "HTTP_X_FORWARDED_HOST": EVIL + ":666",
              "HTTP_X_FORWARDED_PROTO": "gopher"}
    anon, alice = ApiClient(), world.a
    responses = []
    login = anon.post("/identity/v3/auth/tokens", {"auth": {"identity": {
        "methods": ["password"], "password": {"user": {
            "name": "alice", "domain": {"id": "default"}, "password": "secret-pw"}}}}},
        **forged)
    assert login.status_code == 201
    responses.append(login)
    responses.append(anon.post("/identity/v2.0/tokens", {"auth": {"passwordCredentials": {
        "username": "alice", "password": "secret-pw"}}}, **forged))
    created = create_server(alice, world, **{})
    assert created.status_code == 202
    for _ in range(2):
        # the forged headers on the request (create_server's keywords go into the body)
        responses.append(alice.post("/compute/v2.1/servers", {"server": {
            "name": "forged", "imageRef": str(world.image.id),
            "flavorRef": str(world.small.id)}}, HTTP_HOST=EVIL, HTTP_X_FORWARDED_HOST=EVIL))
    assert responses[-1]["Location"].startswith(BASE + "/compute/v2.1/")
    server = created.json()["server"]["id"]
    for path in ("/", "/compute/", "/compute/v2.1/", "/compute/v2/", "/identity/",
                 "/identity/v3", "/identity/v2.0", "/image/", "/image/v2/", "/network/",
                 "/network/v2.0/", "/compute/v2.1/servers?limit=1",
                 "/compute/v2.1/servers/detail?limit=1", "/compute/v2.1/servers/%s" % server,
                 "/compute/v2.1/flavors?limit=1", "/compute/v2.1/flavors/detail",
                 "/compute/v2.1/images?limit=1", "/compute/v2.1/images/detail",
                 "/compute/v2.1/images/%d" % world.image.id, "/image/v2/images?limit=1",
                 "/network/v2.0/networks", "/compute/v2.1/nowhere",
                 "/identity/v3/auth/tokens"):
        responses.append(alice.get(path, HTTP_X_SUBJECT_TOKEN=login["X-Subject-Token"],
                                   **forged))
    urls = []
    for r in responses:
        assert r.status_code < 500, _exposed(r)
        assert EVIL not in _exposed(r) and "gopher" not in _exposed(r), _exposed(r)
        if r.get("Content-Type") == "application/json":
            urls += _urls(json.loads(r.content))
    # the catalog, version links and "next" links were all there, all under BASE
    assert len(urls) > 30
    assert all(u.startswith(BASE + "/") or u.startswith("http://docs.openstack.org")
               or u.startswith("https://docs.openstack.org") for u in urls), urls
    catalog = login.json()["token"]["catalog"]
    assert {e["url"] for c in catalog for e in c["endpoints"]} == {
        BASE + "/compute/v2.1", BASE + "/image", BASE + "/identity/v3", BASE + "/network"}


def test_a_host_not_allowed_is_400_on_the_api(world):
    r = world.a.get("/compute/v2.1/servers", HTTP_HOST=EVIL)
    assert r.status_code == 400
    assert EVIL not in _exposed(r)
