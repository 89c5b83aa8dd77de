"""Login throttling on the real web stack: two API servers (gunicorn, two workers each)
on one database count the same failures, per account and per forwarded source address,
and answer 429 with Retry-After in the identity API's error shape."""

import http.client
import json

import pytest
from support.live import Gunicorn, live_settings, snf_manage

pytestmark = pytest.mark.integration

PASSWORD = "alice-pass-" + "2"


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("throttle-live")
    environ = live_settings(tmp, BACKEND_PREFIX_ID="snfthr-",
                            LOGIN_THROTTLE_USER_FAILURES=3, LOGIN_THROTTLE_ADDRESS_FAILURES=5,
                            LOGIN_THROTTLE_WINDOW=600)
    snf_manage(environ, "migrate", "-v0")
    for name in ("alice", "bob"):
        snf_manage(environ, "user-create", name, "--password-stdin", stdin=PASSWORD + "\n")
    started = []
    try:
        for name in ("a", "b"):
            started.append(Gunicorn("synnefo.webproject.wsgi:application", environ,
                                    str(tmp / ("gunicorn-%s.log" % name)), workers=2,
                                    threads=1))
        yield started
    finally:
        for server in started:
            server.stop()


def login(server, version, name, password, forwarded=None):
    """(status, headers, JSON body) of a password login; from loopback, the packaged
    trusted proxy, so X-Forwarded-For names the client."""
    if version == "v2":
        path, body = "/identity/v2.0/tokens", {"auth": {"passwordCredentials": {
            "username": name, "password": password}}}
    else:
        path, body = "/identity/v3/auth/tokens", {"auth": {"identity": {
            "methods": ["password"], "password": {"user": {
                "name": name, "domain": {"id": "default"}, "password": password}}}}}
    headers = {"Content-Type": "application/json"}
    if forwarded:
        headers["X-Forwarded-For"] = forwarded
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request("POST", path, json.dumps(body), headers)
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), json.loads(r.read() or b"null")
    finally:
        conn.close()


def assert_throttled(answer):
    status, headers, body = answer
    assert status == 429, answer
    assert body["error"]["code"] == 429 and body["error"]["title"] == "Too Many Requests"
    assert 1 <= int(headers["Retry-After"]) <= 600, headers
    assert "X-Subject-Token" not in headers


def test_failures_on_one_server_throttle_the_account_on_the_other(servers):
    a, b = servers
    for version, client in (("v3", "198.51.100.1"), ("v2", "198.51.100.2"),
                            ("v3", "198.51.100.3")):
        assert login(a, version, "alice", "wrong", client)[0] == 401
    assert_throttled(login(b, "v3", "alice", PASSWORD, "198.51.100.4"))
    assert_throttled(login(b, "v2", "alice", PASSWORD, "198.51.100.4"))
    assert login(b, "v3", "bob", PASSWORD, "198.51.100.4")[0] == 201


def test_failures_from_one_forwarded_address_throttle_it_on_both_servers(servers):
    a, b = servers
    for i in range(5):  # five unknown names, over both servers
        server = (a, b)[i % 2]
        status = login(server, ("v2", "v3")[i % 2], "guess%d" % i, "x",
                       "192.0.2.%d, 203.0.113.5" % i)[0]
        assert status == 401
    for server in (a, b):
        assert_throttled(login(server, "v3", "bob", PASSWORD, "203.0.113.5"))
    # another client behind the same proxy logs in
    assert login(a, "v2", "bob", PASSWORD, "203.0.113.6")[0] == 200
