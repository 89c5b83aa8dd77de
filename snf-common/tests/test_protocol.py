"""synnefo.common.protocol: the shared vocabulary (firewall tags, job statuses, EUI-64)."""

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synnefo.common import protocol as P

MACS = st.binary(min_size=6, max_size=6).map(lambda b: ":".join("%02x" % x for x in b))
PREFIXES = st.integers(0, 2**64 - 1).map(
    lambda high: ipaddress.IPv6Network((high << 64, 64)))
# No per-example deadline (Hypothesis' default is 200 ms): a loaded machine may pause the
# process for that long inside any example, and the run would fail as "unreliable".
UNTIMED = settings(deadline=None)


# -- firewall --------------------------------------------------------------------------

def test_firewall_tags_are_the_ones_kvm_vif_bridge_reads():
    assert [P.firewall_tag(1, p) for p in P.FIREWALL_PROFILES] == [
        "synnefo:network:1:protected", "synnefo:network:1:unprotected",
        "synnefo:network:1:limited"]


@UNTIMED
@given(st.integers(0, 64), st.sampled_from(P.FIREWALL_PROFILES))
def test_firewall_tag_round_trip(index, profile):
    assert P.firewall_profiles([P.firewall_tag(index, profile)]) == {index: profile}


def test_firewall_tag_refuses_an_unknown_profile():
    with pytest.raises(ValueError, match="ENABLED"):
        P.firewall_tag(0, "enabled")


def test_firewall_profiles_ignore_other_and_malformed_tags():
    tags = ["synnefo:network:0:protected", "synnefo:network:2:limited", "owner:x",
            "synnefo:network:x:protected", "synnefo:network:1:open", "synnefo:network:3",
            "synnefo:network:\u0663:limited", "synnefo:network:4:unprotected:x", 7, None]
    assert P.firewall_profiles(tags) == {0: "ENABLED", 2: "PROTECTED"}


def test_the_two_tag_maps_are_inverse():
    assert {P.FIREWALL_TAG_KIND[v]: v for v in P.FIREWALL_PROFILE_OF_KIND.values()} == \
        P.FIREWALL_PROFILE_OF_KIND
    assert sorted(P.FIREWALL_TAG_KIND) == sorted(P.FIREWALL_PROFILES)


# -- job statuses ------------------------------------------------------------------------

def test_final_statuses_rank_highest_and_every_status_has_a_rank():
    assert set(P.JOB_STATUS_RANK) == set(P.JOB_STATUSES)
    top = max(P.JOB_STATUS_RANK.values())
    assert {s for s, r in P.JOB_STATUS_RANK.items() if r == top} == set(P.FINAL_JOB_STATUSES)
    assert set(P.FINAL_JOB_STATUSES) - set(P.FAILED_JOB_STATUSES) == {"success"}


# -- EUI-64 ------------------------------------------------------------------------------

def test_eui64_known_value():
    # RFC 4291 appendix A: flip the U/L bit, insert ff:fe
    assert str(P.eui64_address("2001:db8::/64", "00:11:22:33:44:55")) == \
        "2001:db8::211:22ff:fe33:4455"
    assert str(P.eui64_address("fd00:1::", "AA-00-00-01-01-10")) == "fd00:1::a800:ff:fe01:110"


@UNTIMED
@given(PREFIXES, MACS)
def test_eui64_round_trip(net, mac):
    """The address lies in the /64, has ff:fe in the middle, and gives the MAC back."""
    addr = P.eui64_address(str(net), mac)
    assert addr in net
    iid = (int(addr) & (2**64 - 1)).to_bytes(8, "big")
    assert iid[3:5] == b"\xff\xfe"
    back = bytes([iid[0] ^ 0x02]) + iid[1:3] + iid[5:]
    assert ":".join("%02x" % x for x in back) == mac
    assert P.interface_id(mac.upper()) == int(addr) & (2**64 - 1)


@pytest.mark.parametrize("mac", ["", "00:11:22:33:44", "00:11:22:33:44:55:66", "0g:11:22:33:44:55",
                                 "001:1:22:33:44:55", "00:11:22:33:44:", None])
def test_eui64_refuses_bad_macs(mac):
    with pytest.raises(ValueError):
        P.eui64_address("fd00::/64", mac)


def test_eui64_refuses_prefixes_longer_than_64():
    with pytest.raises(ValueError, match="/64"):
        P.eui64_address("fd00::/80", "aa:00:00:01:01:10")


def test_os_fault_takes_the_last_marked_line():
    text = ("OpExecError: OS create script failed, last lines in the log file:\n"
            "snf-image error: [404] first\nother\nsnf-image error: [400] image too large\n")
    assert P.os_fault(text) == (400, "image too large")
    assert P.os_fault("snf-image error: no code given") == (500, "no code given")
    assert P.os_fault("snf-image error: [200] out of range") == (500, "[200] out of range")
    assert P.os_fault("OpPrereqError: no memory") is None
    assert P.os_fault(None) is None
