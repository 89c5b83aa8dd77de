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

# scapy complains on import about interfaces without addresses (normal in a
# fresh network namespace); nothing we need to hear about.
logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
logging.getLogger("scapy.loading").setLevel(logging.ERROR)

from scapy.layers.dhcp6 import (
    DUID_LL,
    DHCP6_InfoRequest,
    DHCP6_Reply,
    DHCP6OptClientId,
    DHCP6OptDNSDomains,
    DHCP6OptDNSServers,
    DHCP6OptServerId,
)
from scapy.layers.inet import UDP
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

from .decision import TapInfo, accept, drop  # noqa: F401 (TapInfo: the handlers' API)
from .dhcp4 import handle_dhcp, search_domain

ALL_NODES = "ff02::1"
ALL_NODES_MAC = "33:33:00:00:00:01"
ROUTER_LIFETIME = 14400


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
    domains = list(cfg.domains6) or [d for d in [search_domain(binding, cfg)] if d]
    if domains:
        reply = reply / DHCP6OptDNSDomains(dnsdomains=[d.rstrip(".") + "." for d in domains])
    frame = (Ether(src=tap.mac, dst=binding.mac) /
             IPv6(src=str(tap.ll), dst=pkt[IPv6].src) /
             UDP(sport=547, dport=546) / reply)
    return drop("DHCPv6 Information-Request from %s on %s -> Reply" % (pkt[IPv6].src, tap.name),
                frame)


HANDLERS = {"dhcp": handle_dhcp, "rs": handle_rs, "ns": handle_ns, "dhcpv6": handle_dhcpv6}
