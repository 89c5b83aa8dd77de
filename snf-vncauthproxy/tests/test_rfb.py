"""synnefo.vncauthproxy.rfb: the VNC DES key, responses, version parsing; the rate."""

import pytest

from synnefo.vncauthproxy import rfb
from synnefo.vncauthproxy.forwarding import SourceRate
from synnefo.vncauthproxy.proxy import ConfigError, RequestError, parse_control, validate_request


def test_des_key_reverses_the_bits_of_the_first_eight_bytes():
    assert rfb.des_key("\x01\x80") == bytes([0x80, 0x01]) + bytes(6)
    assert rfb.des_key("abcdefghXYZ") == rfb.des_key("abcdefgh")
    assert rfb.des_key("a") == bytes([0x86]) + bytes(7)  # 0x61 = 01100001 -> 10000110


def test_response_depends_on_password_and_challenge():
    challenge = bytes(range(16))
    r = rfb.vnc_response("s3cret", challenge)
    assert len(r) == 16 and r != challenge
    assert rfb.check_response("s3cret", challenge, r)
    assert not rfb.check_response("s3creT", challenge, r)
    assert not rfb.check_response("s3cret", bytes(16), r)
    # ECB: the two 8-byte halves are encrypted independently
    assert rfb.vnc_response("s3cret", challenge[:8] * 2)[:8] == r[:8]


def test_challenges_are_random():
    assert len({rfb.new_challenge() for _ in range(100)}) == 100


@pytest.mark.parametrize("line,minor", [(b"RFB 003.008\n", 8), (b"RFB 003.007\n", 7),
                                        (b"RFB 003.003\n", 3), (b"RFB 003.889\n", 8),
                                        (b"RFB 003.005\n", 3)])
def test_client_versions(line, minor):
    assert rfb.client_minor(line) == minor


@pytest.mark.parametrize("line", [b"HTTP/1.1 200", b"RFB 004.000\n", b"RFB 00x.008\n"])
def test_bad_versions(line):
    with pytest.raises(rfb.RFBError):
        rfb.client_minor(line)


def test_source_rate():
    rate = SourceRate(2, 10)
    assert rate.allow("a", 0) and rate.allow("a", 1) and not rate.allow("a", 2)
    assert rate.allow("b", 2)  # per source
    assert rate.allow("a", 10.5)  # the first one left the window


def test_parse_control():
    assert parse_control("unix:/run/x.sock") == ("unix", "/run/x.sock")
    assert parse_control("tcp:127.0.0.1:24999") == ("tcp", "127.0.0.1", 24999)
    assert parse_control("tcp:[::1]:24999") == ("tcp", "::1", 24999)
    for bad in ("/run/x.sock", "unix:relative", "tcp:host", "udp:1.2.3.4:5"):
        with pytest.raises(ConfigError):
            parse_control(bad)


GOOD = {"destination_address": "node1", "destination_port": 11000, "password": "pw"}


@pytest.mark.parametrize("change,reason", [
    ({"destination_port": 0}, "destination_port"),
    ({"destination_port": "11000"}, "destination_port"),
    ({"destination_port": True}, "destination_port"),
    ({"destination_address": ""}, "destination_address"),
    ({"password": ""}, "password"),
    ({"password": None}, "password"),
    ({"source_port": -1}, "source_port"),
    ({"type": "spice"}, "type"),
])
def test_validate_request_names_the_bad_field(change, reason):
    with pytest.raises(RequestError, match=reason):
        validate_request(dict(GOOD, **change))


def test_validate_request_defaults():
    req = validate_request(GOOD)
    assert req == {"source_port": 0, "destination": ("node1", 11000), "password": "pw",
                   "type": "vnc"}
    with pytest.raises(RequestError):
        validate_request([GOOD])
