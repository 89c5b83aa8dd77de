"""Packets and bindings the reply-building tests share (test_nfd_packets.py,
test_nfd_fuzz.py): one VM's binding and tap, the daemon's config, and scapy-made
client packets."""
import ipaddress

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import DUID_LL, DHCP6_InfoRequest, DHCP6OptClientId
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6ND_RS, ICMPv6NDOptSrcLLAddr, IPv6

from nfdhcpd.binding import parse_binding
from nfdhcpd.config import parse_config
from nfdhcpd.packets import TapInfo

MAC = "aa:00:00:01:02:03"
OTHER = "aa:00:00:09:09:09"
TAP = TapInfo("tap3", "cc:47:52:4e:45:54", ipaddress.IPv6Address("fe80::ce47:52ff:fe4e:4554"))
BINDING = parse_binding("tap3", """IP=10.251.3.10
MAC=%s
HOSTNAME=vm1.example.test
SUBNET=10.251.3.0/24
GATEWAY=10.251.3.1
SUBNET6=fd00:3::/64
""" % MAC, route_lookup=None)
CFG = parse_config("[dhcp]\nnameservers = 10.251.3.53 10.251.3.54\n"
                   "[ipv6]\nnameservers = fd00:3::53\nra_period = 100\n")


def dhcp_request(mtype, mac=MAC, flags=0, ciaddr="0.0.0.0", extra=()):
    chaddr = bytes.fromhex(mac.replace(":", "")) + b"\0" * 10
    return bytes(IP(src=ciaddr, dst="255.255.255.255") / UDP(sport=68, dport=67) /
                 BOOTP(op=1, xid=0x1234, flags=flags, ciaddr=ciaddr, chaddr=chaddr) /
                 DHCP(options=[("message-type", mtype)] + list(extra) + ["end"]))


def rs(src="fe80::a800:ff:fe01:203", lladdr=MAC):
    p = IPv6(src=src, dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    if lladdr:
        p = p / ICMPv6NDOptSrcLLAddr(lladdr=lladdr)
    return bytes(p)


def ns(target, src="fd00:3::a800:ff:fe01:203"):
    return bytes(IPv6(src=src, dst="ff02::1:ff00:1", hlim=255) / ICMPv6ND_NS(tgt=target) /
                 ICMPv6NDOptSrcLLAddr(lladdr=MAC))


def info_request():
    return bytes(IPv6(src="fe80::a800:ff:fe01:203", dst="ff02::1:2") /
                 UDP(sport=546, dport=547) / DHCP6_InfoRequest(trid=0xabc) /
                 DHCP6OptClientId(duid=DUID_LL(lladdr=MAC)))
