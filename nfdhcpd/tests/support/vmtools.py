"""Run inside the VM namespace by the tests (scapy as a DHCP/DHCPv6 client):

    python vmtools.py request IFACE MAC ADDRESS     -> prints the reply type
    python vmtools.py inform IFACE MAC CIADDR       -> prints reply type + options
    python vmtools.py inforeq6 IFACE MAC            -> prints DNS servers + domains
    python vmtools.py countra IFACE SECONDS         -> prints the number of RAs to ff02::1
    python vmtools.py fuzz IFACE MAC COUNT          -> sends COUNT fuzzed frames of each kind
"""
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.config import conf
from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_InfoRequest,
    DHCP6OptClientId,
    DHCP6OptDNSDomains,
    DHCP6OptDNSServers,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import ICMPv6ND_RA, IPv6
from scapy.layers.l2 import Ether
from scapy.sendrecv import sniff, srp1
from scapy.volatile import RandInt

conf.verb = 0
conf.checkIPaddr = False


def main(cmd, iface, mac, *rest):
    if cmd == "fuzz":
        from scapy.layers.inet6 import ICMPv6ND_NS, ICMPv6ND_RS, ICMPv6NDOptSrcLLAddr
        from scapy.packet import fuzz
        chaddr = bytes.fromhex(mac.replace(":", ""))
        eth = Ether(src=mac, dst="ff:ff:ff:ff:ff:ff")
        eth6 = Ether(src=mac, dst="33:33:00:00:00:02")
        ll = "fe80::" + _iid(mac)
        kinds = [
            eth / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
            fuzz(BOOTP(chaddr=chaddr)) / fuzz(DHCP()),
            eth / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
            BOOTP(op=1, chaddr=chaddr) / DHCP(options=[("message-type", "request"), "end"]) /
            fuzz(DHCP()),
            eth6 / IPv6(src=ll, dst="ff02::2", hlim=255) / fuzz(ICMPv6ND_RS()) /
            fuzz(ICMPv6NDOptSrcLLAddr()),
            eth6 / IPv6(src=ll, dst="ff02::1:ff00:1", hlim=255) / fuzz(ICMPv6ND_NS()),
            eth6 / IPv6(src=ll, dst="ff02::1:2") / UDP(sport=546, dport=547) /
            fuzz(DHCP6_InfoRequest()),
        ]
        frames = []
        for template in kinds:
            for _ in range(int(rest[0])):
                try:
                    frames.append(bytes(template))
                except Exception:
                    pass
        # Truncated valid DHCP packets as well.
        base = bytes(eth / IP(src="0.0.0.0", dst="255.255.255.255") / UDP(sport=68, dport=67) /
                     BOOTP(op=1, chaddr=chaddr) /
                     DHCP(options=[("message-type", "discover"), "end"]))
        frames += [base[:n] for n in range(42, len(base), 7)]
        import socket
        sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        sock.bind((iface, 0))
        sent = 0
        for f in frames:
            try:
                sock.send(f[:1514])
                sent += 1
            except OSError:
                pass
        print(sent)
        return
    if cmd == "countra":
        got = sniff(iface=iface, timeout=float(mac),
                    lfilter=lambda p: ICMPv6ND_RA in p and p[IPv6].dst == "ff02::1")
        print(len(got))
        return
    chaddr = bytes.fromhex(mac.replace(":", ""))
    if cmd in ("request", "inform"):
        addr = rest[0]
        if cmd == "request":
            options = [("message-type", "request"), ("requested_addr", addr), "end"]
            ip, ciaddr = IP(src="0.0.0.0", dst="255.255.255.255"), "0.0.0.0"
        else:
            options = [("message-type", "inform"), "end"]
            ip, ciaddr = IP(src=addr, dst="255.255.255.255"), addr
        pkt = (Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / ip / UDP(sport=68, dport=67) /
               BOOTP(op=1, xid=int(RandInt()), ciaddr=ciaddr, chaddr=chaddr) /
               DHCP(options=options))
        reply = srp1(pkt, iface=iface, timeout=5)
        if reply is None:
            print("none")
            return
        opts = {o[0]: o[1:] for o in reply[DHCP].options if isinstance(o, tuple)}
        print({5: "ack", 6: "nak", 2: "offer"}.get(opts["message-type"][0], "?"),
              reply[BOOTP].yiaddr, " ".join(sorted(opts)))
    elif cmd == "inforeq6":
        ll = "fe80::" + _iid(mac)
        pkt = (Ether(src=mac, dst="33:33:00:01:00:02") / IPv6(src=ll, dst="ff02::1:2") /
               UDP(sport=546, dport=547) / DHCP6_InfoRequest(trid=0x4242) /
               DHCP6OptClientId(duid=DUID_LL(lladdr=mac)))
        reply = srp1(pkt, iface=iface, timeout=5)
        if reply is None:
            print("none")
            return
        print("reply", " ".join(reply[DHCP6OptDNSServers].dnsservers),
              " ".join(reply[DHCP6OptDNSDomains].dnsdomains))


def _iid(mac):
    b = bytes.fromhex(mac.replace(":", ""))
    e = bytes([b[0] ^ 2]) + b[1:3] + b"\xff\xfe" + b[3:]
    return ":".join("%x" % int.from_bytes(e[i:i + 2], "big") for i in range(0, 8, 2))


if __name__ == "__main__":
    main(*sys.argv[1:])
