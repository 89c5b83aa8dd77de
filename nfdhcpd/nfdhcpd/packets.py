"""Reply building for queued packets (pure functions: bytes in, frame out).

Every handler takes the queued payload (starting at the IP/IPv6 header), the
Binding of the tap it came in on, the Config and a TapInfo, and returns a
Decision: the verdict for the queued packet, an optional Ethernet frame to
write on the tap, and a one-line description for the log.

Only packets from the bound MAC are answered; anything else is accepted
untouched so that, e.g., a second interface on a bridge keeps working.
"""
import functools
import ipaddress
import logging
from dataclasses import dataclass

# scapy complains on import about interfaces without addresses (normal in a
# fresh network namespace); nothing we need to hear about.
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
logging.getLogger("scapy.loading").setLevel(logging.ERROR)

from scapy.layers.dhcp import BOOTP, DHCP
from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_InfoRequest,
    DHCP6_Reply,
    DHCP6OptClientId,
    DHCP6OptDNSDomains,
    DHCP6OptDNSServers,
    DHCP6OptServerId,
)
from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import (
    ICMPv6ND_NA,
    ICMPv6ND_NS,
    ICMPv6ND_RA,
    ICMPv6ND_RS,
    ICMPv6NDOptDstLLAddr,
    ICMPv6NDOptPrefixInfo,
    ICMPv6NDOptRDNSS,
    ICMPv6NDOptSrcLLAddr,
    IPv6,
)
from scapy.layers.l2 import Ether

from .nfqueue import NF_ACCEPT, NF_DROP

BROADCAST_MAC = "ff:ff:ff:ff:ff:ff"
ALL_NODES = "ff02::1"
ALL_NODES_MAC = "33:33:00:00:00:01"
ROUTER_LIFETIME = 14400

DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPDECLINE = 1, 2, 3, 4
DHCPACK, DHCPNAK, DHCPRELEASE, DHCPINFORM = 5, 6, 7, 8
MSG_NAMES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
             7: "RELEASE", 8: "INFORM"}


@dataclass
class TapInfo:
    """The host side of a tap: the MAC and link-local address replies come from."""
    name: str
    mac: str
    ll: ipaddress.IPv6Address = None


@dataclass
class Decision:
    verdict: int
    frame: object = None  # scapy packet to send on the tap, or None
    log: str = ""


def accept(why):
    return Decision(NF_ACCEPT, None, why)


def drop(why, frame=None):
    return Decision(NF_DROP, frame, why)


def _parsed(layer, what):
    """Decorate a handler of ``pkt`` to take the raw payload instead: parsed as ``layer``
    (scapy's IP or IPv6), a malformed one dropped (``what`` names it in the log)."""
    def decorate(handler):
        @functools.wraps(handler)
        def wrapper(payload, binding, cfg, tap, src_mac=None):
            try:
                pkt = layer(payload)
            except Exception as exc:  # scapy raises many types on garbage
                return drop("malformed %s packet (%s)" % (what, type(exc).__name__))
            return handler(pkt, binding, cfg, tap, src_mac)
        return wrapper
    return decorate


def _dhcp_options(pkt):
    opts = {}
    for opt in pkt[DHCP].options:
        if isinstance(opt, tuple) and len(opt) >= 2:
            opts[opt[0]] = opt[1] if len(opt) == 2 else opt[1:]
    return opts


def _chaddr_mac(bootp):
    raw = bytes(bootp.chaddr or b"")[:6]
    if len(raw) < 6:
        return None
    return ":".join("%02x" % b for b in raw)


def _domain(binding, cfg):
    if cfg.domain:
        return cfg.domain
    _, dot, rest = binding.hostname.partition(".")
    return rest if dot else ""


def _server_ip(binding, cfg):
    if cfg.server_ip:
        return cfg.server_ip
    if binding.gateway is not None:
        return str(binding.gateway)
    if binding.subnet is not None:
        return str(next(binding.subnet.hosts()))
    return "169.254.169.254"  # only reached for a binding with no subnet at all


def _common_options(binding, cfg, with_lease):
    opts = []
    if with_lease:
        opts += [("lease_time", cfg.lease_lifetime),
                 ("renewal_time", min(cfg.lease_renewal, cfg.lease_lifetime))]
    if binding.subnet is not None:
        opts += [("subnet_mask", str(binding.subnet.netmask)),
                 ("broadcast_address", str(binding.subnet.broadcast_address))]
    if binding.gateway is not None:
        opts.append(("router", str(binding.gateway)))
    if cfg.nameservers:
        opts.append(tuple(["name_server"] + list(cfg.nameservers)))
    if binding.hostname:
        opts.append(("hostname", binding.hostname.encode()))
    domain = _domain(binding, cfg)
    if domain:
        opts.append(("domain", domain.encode()))
    return opts


@_parsed(IP, "IPv4")
def handle_dhcp(pkt, binding, cfg, tap, src_mac=None):
    """DHCPv4: DISCOVER/REQUEST/INFORM answered, RELEASE/DECLINE logged."""
    if UDP not in pkt or BOOTP not in pkt or DHCP not in pkt:
        return drop("not a DHCP packet: %s" % pkt.summary())
    bootp = pkt[BOOTP]
    client_mac = _chaddr_mac(bootp)
    if src_mac is not None and src_mac != binding.mac:
        return accept("DHCP sent from %s, not the bound MAC %s" % (src_mac, binding.mac))
    if client_mac != binding.mac:
        return accept("DHCP from %s, not the bound MAC %s" % (client_mac, binding.mac))
    if bootp.op != 1:
        return drop("DHCP packet from %s is not a BOOTREQUEST" % client_mac)
    opts = _dhcp_options(pkt)
    mtype = opts.get("message-type")
    name = MSG_NAMES.get(mtype, str(mtype))
    who = "%s on %s" % (client_mac, tap.name)
    if binding.ip is None:
        return accept("DHCP %s from %s: the binding has no IPv4 address" % (name, who))
    server_ip = _server_ip(binding, cfg)

    if mtype == DHCPRELEASE:
        return drop("DHCP RELEASE of %s from %s" % (bootp.ciaddr, who))
    if mtype == DHCPDECLINE:
        return drop("DHCP DECLINE of %s from %s: the address is in use on that link"
                    % (opts.get("requested_addr", bootp.ciaddr), who))

    if mtype == DHCPINFORM:
        reply_type, yiaddr, with_lease = DHCPACK, "0.0.0.0", False
    elif mtype == DHCPDISCOVER:
        reply_type, yiaddr, with_lease = DHCPOFFER, str(binding.ip), True
    elif mtype == DHCPREQUEST:
        sid = opts.get("server_id")
        if sid is not None and str(sid) != server_ip:
            return drop("DHCP REQUEST from %s for server %s, not us" % (who, sid))
        wanted = opts.get("requested_addr") or bootp.ciaddr
        if str(wanted) != str(binding.ip):
            reply_type, yiaddr, with_lease = DHCPNAK, "0.0.0.0", False
        else:
            reply_type, yiaddr, with_lease = DHCPACK, str(binding.ip), True
    else:
        return drop("DHCP message type %s from %s ignored" % (name, who))

    if reply_type == DHCPNAK:
        options = [("message-type", DHCPNAK), ("server_id", server_ip),
                   ("error_message", b"address not bound to this MAC"), "end"]
    elif reply_type == DHCPACK and mtype == DHCPINFORM:
        options = [("message-type", DHCPACK), ("server_id", server_ip)]
        options += [o for o in _common_options(binding, cfg, False)
                    if o[0] in ("hostname", "domain", "name_server")]
        options.append("end")
    else:
        options = [("message-type", reply_type), ("server_id", server_ip)]
        options += _common_options(binding, cfg, with_lease) + ["end"]

    # RFC 2131 4.1: NAKs and replies to clients that asked for it are
    # broadcast; INFORM replies go to ciaddr; the rest to the client's MAC.
    if reply_type == DHCPNAK or (bootp.flags & 0x8000):
        eth_dst, ip_dst = BROADCAST_MAC, "255.255.255.255"
    elif mtype == DHCPINFORM and bootp.ciaddr != "0.0.0.0":
        eth_dst, ip_dst = client_mac, bootp.ciaddr
    else:
        eth_dst, ip_dst = client_mac, yiaddr
    reply = (Ether(src=tap.mac, dst=eth_dst) /
             IP(src=server_ip, dst=ip_dst) /
             UDP(sport=67, dport=68) /
             BOOTP(op=2, xid=bootp.xid, flags=bootp.flags, ciaddr=bootp.ciaddr,
                   yiaddr=yiaddr, siaddr=server_ip, chaddr=bootp.chaddr) /
             DHCP(options=options))
    what = "%s %s" % (MSG_NAMES[reply_type], yiaddr if reply_type != DHCPNAK else "")
    return drop("DHCP %s from %s -> %s" % (name, who, what.strip()), reply)


def _src_lladdr_option(pkt):
    opt = pkt.getlayer(ICMPv6NDOptSrcLLAddr)
    return opt.lladdr.lower() if opt is not None else None


def build_ra(binding, cfg, tap, dst_ip=ALL_NODES, dst_mac=ALL_NODES_MAC):
    """A router advertisement with the tap's /64 (SLAAC) and RDNSS."""
    ra = (Ether(src=tap.mac, dst=dst_mac) /
          IPv6(src=str(tap.ll), dst=dst_ip, hlim=255) /
          ICMPv6ND_RA(chlim=64, routerlifetime=ROUTER_LIFETIME, M=0,
                      O=1 if cfg.enable_dhcpv6 else 0) /
          ICMPv6NDOptSrcLLAddr(lladdr=tap.mac) /
          ICMPv6NDOptPrefixInfo(prefix=str(binding.subnet6.network_address),
                                prefixlen=binding.subnet6.prefixlen, L=1, A=1,
                                validlifetime=2592000, preferredlifetime=604800))
    if cfg.nameservers6:
        ra = ra / ICMPv6NDOptRDNSS(dns=list(cfg.nameservers6), lifetime=3 * cfg.ra_period)
    return ra


@_parsed(IPv6, "IPv6")
def handle_rs(pkt, binding, cfg, tap, src_mac=None):
    """ICMPv6 router solicitation -> unicast RA."""
    if ICMPv6ND_RS not in pkt:
        return accept("not a router solicitation: %s" % pkt.summary())
    mac = _src_lladdr_option(pkt) or src_mac
    if mac is not None and mac != binding.mac:
        return accept("RS from %s, not the bound MAC %s" % (mac, binding.mac))
    if not binding.ipv6_enabled:
        return accept("RS on %s: the binding has no SUBNET6" % tap.name)
    if tap.ll is None:
        return accept("RS on %s: the tap has no link-local address yet" % tap.name)
    src = pkt[IPv6].src
    dst = src if src != "::" else ALL_NODES
    ra = build_ra(binding, cfg, tap, dst_ip=dst, dst_mac=binding.mac)
    return drop("RS from %s on %s -> RA %s" % (src, tap.name, binding.subnet6), ra)


@_parsed(IPv6, "IPv6")
def handle_ns(pkt, binding, cfg, tap, src_mac=None):
    """Neighbour solicitation -> NA for addresses the host routes for the VM
    (userspace proxy NDP): anything in the tap's /64 but the VM's own address,
    and the tap's link-local address."""
    if ICMPv6ND_NS not in pkt:
        return accept("not a neighbour solicitation: %s" % pkt.summary())
    if not binding.ipv6_enabled:
        return accept("NS on %s: the binding has no SUBNET6" % tap.name)
    src = pkt[IPv6].src
    if src == "::":
        return accept("DAD probe on %s" % tap.name)  # never defend the VM's own address
    mac = _src_lladdr_option(pkt) or src_mac
    if mac is not None and mac != binding.mac:
        return accept("NS from %s, not the bound MAC %s" % (mac, binding.mac))
    try:
        target = ipaddress.IPv6Address(pkt[ICMPv6ND_NS].tgt)
    except ValueError:
        return drop("NS with a bad target on %s" % tap.name)
    ours = (target in binding.subnet6 and target != binding.eui64) or target == tap.ll
    if not ours:
        return accept("NS for %s on %s: not proxied" % (target, tap.name))
    na = (Ether(src=tap.mac, dst=binding.mac) /
          IPv6(src=str(target), dst=src, hlim=255) /
          ICMPv6ND_NA(tgt=str(target), R=1, S=1, O=1) /
          ICMPv6NDOptDstLLAddr(lladdr=tap.mac))
    return drop("NS for %s from %s on %s -> NA" % (target, src, tap.name), na)


@_parsed(IPv6, "IPv6")
def handle_dhcpv6(pkt, binding, cfg, tap, src_mac=None):
    """DHCPv6 Information-Request -> Reply with DNS servers and search list."""
    if UDP not in pkt:
        return accept("not DHCPv6: %s" % pkt.summary())
    if DHCP6_InfoRequest not in pkt:
        return accept("DHCPv6 %s on %s: only Information-Request is answered"
                      % (pkt[UDP].payload.name, tap.name))
    if src_mac is not None and src_mac != binding.mac:
        return accept("DHCPv6 from %s, not the bound MAC %s" % (src_mac, binding.mac))
    if not binding.ipv6_enabled or tap.ll is None:
        return accept("DHCPv6 on %s: no IPv6 on this tap" % tap.name)
    req = pkt[DHCP6_InfoRequest]
    reply = DHCP6_Reply(trid=req.trid) / DHCP6OptServerId(duid=DUID_LL(lladdr=tap.mac))
    client_id = pkt.getlayer(DHCP6OptClientId)
    if client_id is not None:
        reply = reply / DHCP6OptClientId(duid=client_id.duid)
    if cfg.nameservers6:
        reply = reply / DHCP6OptDNSServers(dnsservers=list(cfg.nameservers6))
    domains = list(cfg.domains6) or [d for d in [_domain(binding, cfg)] if d]
    if domains:
        reply = reply / DHCP6OptDNSDomains(dnsdomains=[d.rstrip(".") + "." for d in domains])
    frame = (Ether(src=tap.mac, dst=binding.mac) /
             IPv6(src=str(tap.ll), dst=pkt[IPv6].src) /
             UDP(sport=547, dport=546) / reply)
    return drop("DHCPv6 Information-Request from %s on %s -> Reply" % (pkt[IPv6].src, tap.name),
                frame)


HANDLERS = {"dhcp": handle_dhcp, "rs": handle_rs, "ns": handle_ns, "dhcpv6": handle_dhcpv6}
