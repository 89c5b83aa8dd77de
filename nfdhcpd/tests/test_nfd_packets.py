"""Reply building: scapy-made client packets in, replies checked field by field."""

import pytest
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import (
    DHCP6_Reply,
    DHCP6_Solicit,
    DHCP6OptClientId,
    DHCP6OptDNSDomains,
    DHCP6OptDNSServers,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_RA,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRDNSS,
    IPv6,
)
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from support.packets import BINDING, CFG, MAC, OTHER, TAP, dhcp_request, info_request, ns, rs

from nfdhcpd.binding import parse_binding
from nfdhcpd.config import parse_config
from nfdhcpd.nfqueue import NF_ACCEPT, NF_DROP
from nfdhcpd.packets import build_ra, handle_dhcp, handle_dhcpv6, handle_ns, handle_rs


def opts(frame):
    return {o[0]: (o[1] if len(o) == 2 else o[1:]) for o in dhcp_frame(frame)[DHCP].options
            if isinstance(o, tuple)}


def dhcp_frame(frame):
    """A DHCPv4 reply (bytes, built without scapy) read back by scapy, its IP and UDP
    checksums checked against the ones scapy computes for the same fields."""
    f = Ether(frame)
    again = Ether(frame)
    del again[IP].chksum, again[IP].len, again[UDP].chksum, again[UDP].len
    again = Ether(bytes(again))
    assert (f[IP].chksum, f[UDP].chksum) == (again[IP].chksum, again[UDP].chksum)
    assert len(f[BOOTP]) >= 300  # RFC 1542's minimum
    return f


def test_discover_gets_offer_with_all_options():
    d = handle_dhcp(dhcp_request("discover"), BINDING, CFG, TAP)
    assert d.verdict == NF_DROP
    f = dhcp_frame(d.frame)
    assert f.src == TAP.mac and f.dst == MAC
    assert f[IP].src == "10.251.3.1" and f[IP].dst == "10.251.3.10"
    assert f[UDP].sport == 67 and f[UDP].dport == 68
    assert f[BOOTP].op == 2 and f[BOOTP].xid == 0x1234 and f[BOOTP].yiaddr == "10.251.3.10"
    assert f[BOOTP].htype == 1 and f[BOOTP].hlen == 6 and f[BOOTP].siaddr == "10.251.3.1"
    assert f[BOOTP].chaddr[:6] == bytes.fromhex(MAC.replace(":", ""))
    assert f[IP].ttl == 64 and f[IP].proto == 17
    o = opts(d.frame)
    assert o["message-type"] == 2
    assert o["server_id"] == "10.251.3.1"
    assert o["subnet_mask"] == "255.255.255.0"
    assert o["broadcast_address"] == "10.251.3.255"
    assert o["router"] == "10.251.3.1"
    assert o["name_server"] == ("10.251.3.53", "10.251.3.54")
    assert o["hostname"] == b"vm1.example.test"
    assert o["domain"] == b"example.test"
    assert o["lease_time"] == 604800 and o["renewal_time"] == 3600


def test_broadcast_flag_gives_broadcast_reply():
    f = dhcp_frame(handle_dhcp(dhcp_request("discover", flags=0x8000), BINDING, CFG, TAP).frame)
    assert f.dst == "ff:ff:ff:ff:ff:ff" and f[IP].dst == "255.255.255.255"


def test_request_for_bound_address_gets_ack():
    d = handle_dhcp(dhcp_request("request", extra=[("requested_addr", "10.251.3.10"),
                                                   ("server_id", "10.251.3.1")]),
                    BINDING, CFG, TAP)
    assert d.verdict == NF_DROP and opts(d.frame)["message-type"] == 5
    assert dhcp_frame(d.frame)[BOOTP].yiaddr == "10.251.3.10"


def test_renewal_by_ciaddr_gets_ack():
    d = handle_dhcp(dhcp_request("request", ciaddr="10.251.3.10"), BINDING, CFG, TAP)
    assert opts(d.frame)["message-type"] == 5


def test_request_for_other_address_gets_nak():
    d = handle_dhcp(dhcp_request("request", extra=[("requested_addr", "10.251.3.99")]),
                    BINDING, CFG, TAP)
    assert d.verdict == NF_DROP
    assert opts(d.frame)["message-type"] == 6
    f = dhcp_frame(d.frame)
    assert f[BOOTP].yiaddr == "0.0.0.0" and f.dst == "ff:ff:ff:ff:ff:ff"
    assert f[IP].dst == "255.255.255.255"


def test_request_to_another_server_is_ignored():
    d = handle_dhcp(dhcp_request("request", extra=[("requested_addr", "10.251.3.10"),
                                                   ("server_id", "10.251.3.2")]),
                    BINDING, CFG, TAP)
    assert d.verdict == NF_DROP and d.frame is None


def test_inform_gets_ack_without_lease():
    d = handle_dhcp(dhcp_request("inform", ciaddr="10.251.3.10"), BINDING, CFG, TAP)
    o = opts(d.frame)
    assert o["message-type"] == 5 and "lease_time" not in o and "router" not in o
    assert o["name_server"] == ("10.251.3.53", "10.251.3.54") and o["domain"] == b"example.test"
    f = dhcp_frame(d.frame)
    assert f[IP].dst == "10.251.3.10" and f[BOOTP].yiaddr == "0.0.0.0"


@pytest.mark.parametrize("mtype, word", [("release", "RELEASE"), ("decline", "DECLINE")])
def test_release_and_decline_are_logged_and_dropped(mtype, word):
    d = handle_dhcp(dhcp_request(mtype, ciaddr="10.251.3.10"), BINDING, CFG, TAP)
    assert d.verdict == NF_DROP and d.frame is None and word in d.log


def test_other_mac_is_accepted_untouched():
    d = handle_dhcp(dhcp_request("discover", mac=OTHER), BINDING, CFG, TAP)
    assert d.verdict == NF_ACCEPT and d.frame is None
    d = handle_dhcp(dhcp_request("discover"), BINDING, CFG, TAP, src_mac=OTHER)
    assert d.verdict == NF_ACCEPT and d.frame is None


def test_configured_server_ip_and_domain():
    cfg = parse_config("[dhcp]\nserver_ip = 10.251.3.250\ndomain = cloud.test\n")
    o = opts(handle_dhcp(dhcp_request("discover"), BINDING, cfg, TAP).frame)
    assert o["server_id"] == "10.251.3.250" and o["domain"] == b"cloud.test"


def raw_options(options):
    """A BOOTREQUEST from MAC whose DHCP options are the given bytes, as they are."""
    return bytes(IP(dst="255.255.255.255") / UDP(sport=68, dport=67) /
                 BOOTP(op=1, chaddr=bytes.fromhex(MAC.replace(":", "")),
                       options=b"\x63\x82\x53\x63") / Raw(options))


def test_options_without_end_padding_and_unknown_codes_are_read():
    # pad bytes, an unknown option, the message type twice (the first counts), no END
    d = handle_dhcp(raw_options(b"\0\0\xfa\x02ab\x35\x01\x03\x32\x04\x0a\xfb\x03\x0a"
                                b"\x35\x01\x01"), BINDING, CFG, TAP)
    assert opts(d.frame)["message-type"] == 5


def test_truncated_or_odd_options_are_never_answered_wrongly():
    # a server_id of the wrong length is not ours
    d = handle_dhcp(raw_options(b"\x35\x01\x03\x36\x02\x0a\xfb\xff"), BINDING, CFG, TAP)
    assert d.verdict == NF_DROP and d.frame is None and "not us" in d.log
    # no message type at all: ignored
    no_type = bytes(IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
                    BOOTP(op=1, chaddr=bytes.fromhex(MAC.replace(":", ""))) /
                    DHCP(options=["end"]))
    d = handle_dhcp(no_type, BINDING, CFG, TAP)
    assert d.verdict == NF_DROP and d.frame is None and "ignored" in d.log
    # BOOTP without the DHCP magic cookie, and UDP to another port
    plain = bytes(IP() / UDP(sport=68, dport=67) / BOOTP(op=1))
    assert "not a DHCP packet" in handle_dhcp(plain, BINDING, CFG, TAP).log
    other = bytes(IP() / UDP(sport=68, dport=68) / BOOTP(op=1) / DHCP(options=["end"]))
    assert "not a DHCP packet" in handle_dhcp(other, BINDING, CFG, TAP).log


def test_ip_options_and_trailing_bytes_are_handled():
    base = IP(dst="255.255.255.255", options=b"\x01\x01\x01\x00") / UDP(sport=68, dport=67)
    p = base / BOOTP(op=1, xid=7, chaddr=bytes.fromhex(MAC.replace(":", ""))) / DHCP(
        options=[("message-type", "discover"), "end"])
    d = handle_dhcp(bytes(p) + b"trailing ethernet padding", BINDING, CFG, TAP)
    f = dhcp_frame(d.frame)
    assert opts(d.frame)["message-type"] == 2 and f[BOOTP].xid == 7


def test_garbage_is_dropped_not_raised():
    for payload in (b"", b"\x45", b"\x45\0\0\x14" + b"\0" * 16, b"\xff" * 300,
                    bytes(IP() / UDP(dport=67) / b"short")):
        assert handle_dhcp(payload, BINDING, CFG, TAP).verdict in (NF_DROP, NF_ACCEPT)


def test_rs_gets_unicast_ra_with_prefix_and_rdnss():
    d = handle_rs(rs(), BINDING, CFG, TAP)
    assert d.verdict == NF_DROP
    f = d.frame
    assert f.dst == MAC and f[IPv6].dst == "fe80::a800:ff:fe01:203"
    assert f[IPv6].src == str(TAP.ll) and f[IPv6].hlim == 255
    ra = f[ICMPv6ND_RA]
    assert ra.routerlifetime == 14400 and ra.O == 1 and ra.M == 0
    pi = f[ICMPv6NDOptPrefixInfo]
    assert pi.prefix == "fd00:3::" and pi.prefixlen == 64 and pi.A == 1
    assert f[ICMPv6NDOptRDNSS].dns == ["fd00:3::53"] and f[ICMPv6NDOptRDNSS].lifetime == 300
    # the frame survives a build/parse round trip (checksums are right)
    again = f.__class__(bytes(f))
    assert again[ICMPv6NDOptPrefixInfo].prefix == "fd00:3::"


def test_rs_from_other_mac_or_without_ipv6_passes():
    assert handle_rs(rs(lladdr=OTHER), BINDING, CFG, TAP).verdict == NF_ACCEPT
    v4only = parse_binding("tap3", "MAC=%s\nIP=10.251.3.10\n" % MAC, route_lookup=None)
    assert handle_rs(rs(), v4only, CFG, TAP).verdict == NF_ACCEPT


def test_periodic_ra_goes_to_all_nodes_and_no_o_flag_without_dhcpv6():
    cfg = parse_config("[ipv6]\nenable_dhcpv6 = no\n")
    f = build_ra(BINDING, cfg, TAP)
    assert f.dst == "33:33:00:00:00:01" and f[IPv6].dst == "ff02::1"
    assert f[ICMPv6ND_RA].O == 0 and ICMPv6NDOptRDNSS not in f


def test_ns_for_gateway_gets_router_na():
    d = handle_ns(ns("fd00:3::1"), BINDING, CFG, TAP)
    assert d.verdict == NF_DROP
    na = d.frame[ICMPv6ND_NA]
    assert na.tgt == "fd00:3::1" and na.R == 1 and na.S == 1
    assert d.frame[IPv6].dst == "fd00:3::a800:ff:fe01:203" and d.frame[IPv6].hlim == 255


def test_ns_for_host_link_local_is_answered():
    assert handle_ns(ns(str(TAP.ll), src="fe80::a800:ff:fe01:203"), BINDING, CFG,
                     TAP).frame is not None


def test_ns_never_answered_for_vm_own_address_or_dad_or_outside():
    assert handle_ns(ns(str(BINDING.eui64)), BINDING, CFG, TAP).verdict == NF_ACCEPT
    assert handle_ns(ns("fd00:3::1", src="::"), BINDING, CFG, TAP).verdict == NF_ACCEPT
    assert handle_ns(ns("fd00:4::1"), BINDING, CFG, TAP).verdict == NF_ACCEPT


def test_dhcpv6_information_request_gets_dns_and_search():
    d = handle_dhcpv6(info_request(), BINDING, CFG, TAP, src_mac=MAC)
    assert d.verdict == NF_DROP
    f = d.frame
    assert f[DHCP6_Reply].trid == 0xabc
    assert f[DHCP6OptDNSServers].dnsservers == ["fd00:3::53"]
    assert f[DHCP6OptDNSDomains].dnsdomains == ["example.test."]
    assert f[DHCP6OptClientId].duid.lladdr == MAC
    assert f[UDP].sport == 547 and f[UDP].dport == 546


def test_dhcpv6_solicit_passes():
    p = bytes(IPv6(src="fe80::1", dst="ff02::1:2") / UDP(sport=546, dport=547) /
              DHCP6_Solicit(trid=1))
    assert handle_dhcpv6(p, BINDING, CFG, TAP).verdict == NF_ACCEPT
