"""What a packet handler returns, and the tap it answers from (shared by the
DHCPv4 fast path in dhcp4.py and the scapy-based IPv6 handlers in packets.py)."""
import ipaddress
from dataclasses import dataclass

from .nfqueue import NF_ACCEPT, NF_DROP


@dataclass
class TapInfo:
    """The host side of a tap: the MAC and link-local address replies come from."""
    name: str
    mac: str
    ll: ipaddress.IPv6Address = None


@dataclass
class Decision:
    verdict: int
    frame: object = None  # Ethernet frame to send on the tap (bytes or a scapy packet), or None
    log: str = ""


def accept(why):
    return Decision(NF_ACCEPT, None, why)


def drop(why, frame=None):
    return Decision(NF_DROP, frame, why)
