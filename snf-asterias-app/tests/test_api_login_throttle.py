"""Login throttling per account and per source address, the source address behind
proxies, and unknown users costing one hash verification like wrong passwords."""

import datetime

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import RequestFactory
from django.utils import timezone
from support.api import ApiClient

from synnefo.api.client_address import client_address
from synnefo.db.models import LoginFailure
from synnefo.logic import identity, users

pytestmark = pytest.mark.django_db

PW = "secret-" + "pw"
V2 = "/identity/v2.0/tokens"
V3 = "/identity/v3/auth/tokens"


@pytest.fixture
def limits(settings):
    settings.LOGIN_THROTTLE_WINDOW = 300
    settings.LOGIN_THROTTLE_USER_FAILURES = 3
    settings.LOGIN_THROTTLE_ADDRESS_FAILURES = 5
    settings.LOGIN_THROTTLE_TRUSTED_PROXIES = ["127.0.0.1", "::1", "10.9.0.0/16"]
    return settings


def v3(name, password, by_id=False, **headers):
    user = {"id" if by_id else "name": name, "domain": {"id": "default"}, "password": password}
    return ApiClient().post(V3, {"auth": {"identity": {"methods": ["password"],
                                                       "password": {"user": user}}}},
                            **headers)


def v2(name, password, **headers):
    return ApiClient().post(V2, {"auth": {"passwordCredentials": {
        "username": name, "password": password}}}, **headers)


LOGIN = {"v2": v2, "v3": v3}


def assert_throttled(r, window=300):
    assert r.status_code == 429, r.content
    error = r.json()["error"]
    assert error["code"] == 429 and error["title"] == "Too Many Requests"
    assert "X-Subject-Token" not in r
    assert 1 <= int(r["Retry-After"]) <= window


@pytest.mark.parametrize("version", ["v2", "v3"])
def test_too_many_failures_for_one_account_are_429_with_retry_after(world, limits, version):
    login = LOGIN[version]
    for i in range(3):  # from three addresses: the account's count is what matters
        assert login("alice", "wrong", REMOTE_ADDR="198.51.100.%d" % i).status_code == 401
    assert_throttled(login("alice", "wrong", REMOTE_ADDR="198.51.100.9"))
    # now even the right password waits: the attacker cannot tell it was right
    assert_throttled(login("alice", PW, REMOTE_ADDR="198.51.100.9"))
    # by id too (name and id are one account), and on the other API version
    assert_throttled(v3(str(world.alice.id), PW, by_id=True, REMOTE_ADDR="198.51.100.9"))
    assert_throttled(LOGIN["v3" if version == "v2" else "v2"]("alice", PW,
                                                              REMOTE_ADDR="198.51.100.9"))
    # another account is not affected
    assert login("bob", PW, REMOTE_ADDR="198.51.100.9").status_code in (200, 201)


def test_unknown_user_names_are_throttled_like_known_ones(world, limits):
    for _ in range(3):
        assert v3("nobody", "x", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert_throttled(v3("nobody", "x", REMOTE_ADDR="198.51.100.2"))
    assert_throttled(v2("nobody", "x", REMOTE_ADDR="198.51.100.3"))


def test_retry_after_counts_down_to_when_the_oldest_failure_leaves_the_window(world, limits):
    for _ in range(3):
        v3("alice", "wrong")
    start = timezone.now()
    old = start - datetime.timedelta(seconds=200)
    first = LoginFailure.objects.order_by("id").first()
    LoginFailure.objects.filter(created=first.created).update(created=old)
    r = v3("alice", "wrong")
    # 100 s less the time the request took from `start` (seconds on a loaded machine)
    taken = (timezone.now() - start).total_seconds()
    assert_throttled(r)
    assert 99 - taken <= int(r["Retry-After"]) <= 101
    # once it has left the window, one more attempt is allowed
    LoginFailure.objects.filter(created=old).update(
        created=timezone.now() - datetime.timedelta(seconds=301))
    assert v3("alice", PW).status_code == 201


def test_a_correct_password_clears_the_accounts_count_not_the_addresses(world, limits):
    for _ in range(2):
        assert v3("alice", "wrong", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert v3("alice", PW, REMOTE_ADDR="198.51.100.1").status_code == 201
    for _ in range(2):  # two more for alice: she starts from zero again
        assert v3("alice", "wrong", REMOTE_ADDR="198.51.100.1").status_code == 401
    # but the address has had 4 failures; a 5th (at another account) reaches its limit
    assert v3("bob", "wrong", REMOTE_ADDR="198.51.100.1").status_code == 401
    assert_throttled(v3("bob", PW, REMOTE_ADDR="198.51.100.1"))
    assert v3("bob", PW, REMOTE_ADDR="198.51.100.2").status_code == 201


def test_too_many_failures_from_one_address_are_429(world, limits):
    for i in range(5):  # five different (unknown) names: below each name's limit
        assert v2("guess%d" % i, "x", REMOTE_ADDR="203.0.113.5").status_code == 401
    assert_throttled(v2("alice", PW, REMOTE_ADDR="203.0.113.5"))
    assert_throttled(v3("alice", PW, REMOTE_ADDR="203.0.113.5"))
    assert v3("alice", PW, REMOTE_ADDR="203.0.113.6").status_code == 201


def test_behind_a_trusted_proxy_the_forwarded_client_counts(world, limits):
    # nginx on this host (127.0.0.1) appends the client it saw to X-Forwarded-For; what
    # the client wrote itself (here a different address each time) is not believed
    for i in range(5):
        r = v3("guess%d" % i, "x", REMOTE_ADDR="127.0.0.1",
               HTTP_X_FORWARDED_FOR="192.0.2.%d, 203.0.113.5" % i)
        assert r.status_code == 401
    assert_throttled(v3("alice", PW, REMOTE_ADDR="127.0.0.1",
                        HTTP_X_FORWARDED_FOR="203.0.113.5"))
    # another client behind the same proxy is not affected
    assert v3("alice", PW, REMOTE_ADDR="127.0.0.1",
              HTTP_X_FORWARDED_FOR="203.0.113.6").status_code == 201


def test_an_untrusted_peer_cannot_choose_its_address(world, limits):
    for i in range(5):
        r = v3("guess%d" % i, "x", REMOTE_ADDR="198.51.100.7",
               HTTP_X_FORWARDED_FOR="192.0.2.%d" % i)
        assert r.status_code == 401
    assert_throttled(v3("alice", PW, REMOTE_ADDR="198.51.100.7",
                        HTTP_X_FORWARDED_FOR="192.0.2.99"))


def test_a_limit_of_zero_is_off(world, limits):
    limits.LOGIN_THROTTLE_USER_FAILURES = 0
    limits.LOGIN_THROTTLE_ADDRESS_FAILURES = 0
    for _ in range(8):
        assert v3("alice", "wrong").status_code == 401
    assert v3("alice", PW).status_code == 201
    assert not LoginFailure.objects.exists()


def test_failures_older_than_the_window_are_pruned(world, limits):
    v3("alice", "wrong")
    LoginFailure.objects.update(created=timezone.now() - datetime.timedelta(seconds=301))
    v3("bob", "wrong")
    assert LoginFailure.objects.count() == 2  # bob's, by account and by address


@pytest.mark.parametrize("user", [{"name": {"x": 1}}, {"name": ["alice"]}, {"id": True},
                                  {"id": [1]}])
def test_malformed_names_and_ids_are_400_not_counted(world, limits, user):
    r = ApiClient().post(V3, {"auth": {"identity": {"methods": ["password"], "password": {
        "user": dict(user, password=PW)}}}})
    assert r.status_code == 400
    assert not LoginFailure.objects.exists()


@pytest.mark.parametrize("forwarded,remote,expected", [
    (None, "198.51.100.1", "198.51.100.1"),
    ("192.0.2.1", "198.51.100.1", "198.51.100.1"),       # untrusted peer: header ignored
    (None, "127.0.0.1", "127.0.0.1"),                     # the proxy itself
    ("203.0.113.5", "127.0.0.1", "203.0.113.5"),
    ("192.0.2.1, 203.0.113.5", "127.0.0.1", "203.0.113.5"),
    ("203.0.113.5, 10.9.1.1", "127.0.0.1", "203.0.113.5"),  # LB (trusted) then nginx
    ("10.9.1.1", "127.0.0.1", "10.9.1.1"),                # only proxies: the farthest
    ("garbage, 203.0.113.5", "127.0.0.1", "203.0.113.5"),
    ("203.0.113.5, garbage", "127.0.0.1", "127.0.0.1"),   # a proxy wrote nonsense
    ("2001:db8::5", "::1", "2001:db8::5"),
    ("203.0.113.5", "::ffff:127.0.0.1", "203.0.113.5"),   # IPv4 peer on an IPv6 socket
    (None, "::ffff:198.51.100.1", "198.51.100.1"),
    (None, "", ""),
])
def test_client_address(limits, forwarded, remote, expected):
    meta = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        meta["HTTP_X_FORWARDED_FOR"] = forwarded
    assert client_address(RequestFactory().get("/", **meta)) == expected


class CountingHasher(MD5PasswordHasher):
    """The configured hasher of these tests, counting what it verifies."""
    algorithm = "counting_md5"
    verified = []

    def verify(self, password, encoded):
        CountingHasher.verified.append(encoded)
        return super().verify(password, encoded)


@pytest.mark.parametrize("case", ["wrong password", "unknown user", "suspended user",
                                  "user without a password", "empty password", "right"])
def test_every_login_verifies_exactly_one_hash_of_the_configured_hasher(world, settings,
                                                                        case):
    """Timing does not tell unknown users: each attempt does the same hashing work."""
    settings.PASSWORD_HASHERS = ["test_api_login_throttle.CountingHasher"]
    user = users.create_user("carol", password="carol-pw")
    name, password = "carol", "carol-pw"
    if case == "wrong password":
        password = "nope"
    elif case == "unknown user":
        name = "nobody"
    elif case == "suspended user":
        users.modify_user(user, state="SUSPENDED")
    elif case == "user without a password":
        user.password = ""
        user.save()
    elif case == "empty password":
        password = ""
    CountingHasher.verified.clear()
    if case == "right":
        identity.login(user, password)
    else:
        with pytest.raises(identity.AuthenticationFailed):
            identity.login(identity.find_login_user(name=name), password)
    assert len(CountingHasher.verified) == 1
    assert CountingHasher.verified[0].startswith("counting_md5$")
