"""Benchmark DHCP client (runs inside the client netns): sequential
DISCOVER->OFFER->REQUEST->ACK exchanges on a raw socket for SECONDS.

    python dhcp_client.py IFACE MAC ADDRESS SECONDS    -> prints "N SECONDS p50 p99 FAILS" (ms)
and a second line with every exchange's latency (ms), for the caller to pool rounds.

Frames are built once with scapy; per exchange only the xid changes (UDP
checksum 0 = none, valid for IPv4), so the client is not the bottleneck.
"""
import logging
import os
import socket
import statistics
import struct
import sys
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.layers.dhcp import BOOTP, DHCP  # noqa: E402
from scapy.layers.inet import IP, UDP  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402

XID_OFF = 14 + 20 + 8 + 4


def template(mac, mtype, extra=()):
    chaddr = bytes.fromhex(mac.replace(":", ""))
    return bytearray(bytes(
        Ether(src=mac, dst="ff:ff:ff:ff:ff:ff") / IP(src="0.0.0.0", dst="255.255.255.255") /
        UDP(sport=68, dport=67, chksum=0) /
        BOOTP(op=1, xid=0, flags=0x8000, chaddr=chaddr) /
        DHCP(options=[("message-type", mtype)] + list(extra) + ["end"])))


def reply_type(frame, xid):
    """DHCP message type of frame if it is a BOOTREPLY for xid, else None."""
    if len(frame) < 282 or frame[12:14] != b"\x08\x00" or frame[23] != 17:
        return None
    ihl = (frame[14] & 0x0F) * 4
    udp = 14 + ihl
    if frame[udp + 2:udp + 4] != b"\x00\x44":
        return None
    bootp = udp + 8
    if frame[bootp] != 2 or frame[bootp + 4:bootp + 8] != struct.pack("!I", xid):
        return None
    i = bootp + 240
    while i + 1 < len(frame) and frame[i] != 255:
        if frame[i] == 0:
            i += 1
            continue
        if frame[i] == 53:
            return frame[i + 2]
        i += 2 + frame[i + 1]
    return None


def main(iface, mac, address, seconds):
    seconds = float(seconds)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((iface, 0))
    s.settimeout(2.0)
    disc = template(mac, "discover")
    req = template(mac, "request", [("requested_addr", address),
                                    ("server_id", address.rsplit(".", 1)[0] + ".1")])
    lat, n, fails = [], 0, 0
    xid = int.from_bytes(os.urandom(4), "big")
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        xid = (xid + 1) & 0xFFFFFFFF
        t0 = time.monotonic()
        ok = True
        for frame, want in ((disc, 2), (req, 5)):
            frame[XID_OFF:XID_OFF + 4] = struct.pack("!I", xid)
            s.send(frame)
            try:
                while reply_type(s.recv(2048), xid) != want:
                    pass
            except socket.timeout:
                ok = False
                break
        if ok:
            n += 1
            lat.append((time.monotonic() - t0) * 1000)
        else:
            fails += 1
    elapsed = time.monotonic() - start
    q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else [0] * 99
    print(n, "%.3f" % elapsed, "%.2f" % q[49], "%.2f" % q[98], fails)
    print(" ".join("%.4f" % x for x in lat))


if __name__ == "__main__":
    main(*sys.argv[1:])
