"""Binding files: what the ifup script tells nfdhcpd about one tap.

One file per tap in the state directory, named after the tap, with shell-style
KEY=value lines (values may be quoted):

    IP=10.0.0.5            (space-separated list allowed; the first is used)
    MAC=aa:00:00:12:34:56
    LINK=snf_public        (Ganeti link / policy-routing table)
    HOSTNAME=vm1.example.org
    TAGS="synnefo:network:0:protected"
    INDEV=br0              (bridged taps: the bridge the packets arrive on)
    SUBNET=10.0.0.0/24
    GATEWAY=10.0.0.1
    SUBNET6=2001:db8:1::/64
    GATEWAY6=2001:db8:1::1
    EUI64=2001:db8:1::a800:ff:fe12:3456

Lines starting with '#' and blank lines are ignored; unknown keys are kept in
`extra` so newer ifup scripts do not break an older daemon.
"""
import ipaddress
import shlex
import subprocess
from dataclasses import dataclass, field

from synnefo.common.protocol import eui64_address, normalize_mac

KNOWN_KEYS = ("IP", "MAC", "LINK", "HOSTNAME", "TAGS", "INDEV", "SUBNET", "GATEWAY",
              "SUBNET6", "GATEWAY6", "EUI64")


class BindingError(ValueError):
    """A binding file that cannot be used (the message names file and line)."""


@dataclass
class Binding:
    tap: str
    mac: str
    ip: ipaddress.IPv4Address = None
    link: str = ""
    hostname: str = ""
    tags: list = field(default_factory=list)
    indev: str = ""
    subnet: ipaddress.IPv4Network = None
    gateway: ipaddress.IPv4Address = None
    subnet6: ipaddress.IPv6Network = None
    gateway6: ipaddress.IPv6Address = None
    eui64: ipaddress.IPv6Address = None
    extra: dict = field(default_factory=dict)

    @property
    def ipv6_enabled(self):
        return self.subnet6 is not None


def parse_lines(text, source):
    values = {}
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise BindingError("%s:%d: expected KEY=value, got %r" % (source, lineno, raw))
        try:
            parts = shlex.split(value, comments=False)
        except ValueError as exc:
            raise BindingError("%s:%d: %s" % (source, lineno, exc)) from None
        values[key] = " ".join(parts)
    return values


def _parse(kind, value, key, source):
    try:
        return kind(value)
    except ValueError:
        raise BindingError("%s: %s=%r is not valid" % (source, key, value)) from None


def routes_from_table(table):
    """(subnet, gateway) from `ip -4 route list table TABLE`, the 2011 fallback
    for binding files written without SUBNET/GATEWAY."""
    try:
        out = subprocess.run(["ip", "-4", "route", "list", "table", table],
                             capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return None, None
    return parse_route_table(out)


def parse_route_table(text):
    subnet = gateway = None
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "default" and "via" in words:
            gateway = ipaddress.IPv4Address(words[words.index("via") + 1])
        elif "/" in words[0] and subnet is None:
            net = ipaddress.IPv4Network(words[0], strict=False)
            if net.prefixlen < 32:
                subnet = net
    return subnet, gateway


def parse_binding(tap, text, source=None, route_lookup=routes_from_table):
    source = source or tap
    v = parse_lines(text, source)
    if "MAC" not in v:
        raise BindingError("%s: no MAC= line" % source)
    try:
        mac = normalize_mac(v["MAC"])
    except ValueError:
        raise BindingError("%s: MAC=%r is not a MAC address" % (source, v["MAC"])) from None
    b = Binding(tap=tap, mac=mac)
    if v.get("IP"):
        b.ip = _parse(ipaddress.IPv4Address, v["IP"].split()[0], "IP", source)
    b.link = v.get("LINK", "")
    b.hostname = v.get("HOSTNAME", "")
    b.tags = v.get("TAGS", "").split()
    b.indev = v.get("INDEV", "")
    if v.get("SUBNET"):
        b.subnet = _parse(lambda s: ipaddress.IPv4Network(s, strict=False), v["SUBNET"],
                          "SUBNET", source)
    if v.get("GATEWAY"):
        b.gateway = _parse(ipaddress.IPv4Address, v["GATEWAY"], "GATEWAY", source)
    if b.ip is not None and b.subnet is None and b.link and route_lookup:
        subnet, gateway = route_lookup(b.link)
        if subnet is not None and b.ip in subnet:
            b.subnet = subnet
            b.gateway = b.gateway or gateway
    if b.ip is not None and b.subnet is not None and b.ip not in b.subnet:
        raise BindingError("%s: IP %s is not inside SUBNET %s" % (source, b.ip, b.subnet))
    if v.get("SUBNET6"):
        b.subnet6 = _parse(lambda s: ipaddress.IPv6Network(s, strict=False), v["SUBNET6"],
                           "SUBNET6", source)
        if b.subnet6.prefixlen != 64:
            raise BindingError("%s: SUBNET6 %s must be a /64 for SLAAC" % (source, b.subnet6))
        b.eui64 = eui64_address(b.subnet6, mac)
    if v.get("GATEWAY6"):
        b.gateway6 = _parse(ipaddress.IPv6Address, v["GATEWAY6"], "GATEWAY6", source)
    if v.get("EUI64"):
        given = _parse(ipaddress.IPv6Address, v["EUI64"], "EUI64", source)
        if b.eui64 is not None and given != b.eui64:
            raise BindingError("%s: EUI64 %s is not the EUI-64 of MAC %s in %s (%s)"
                               % (source, given, mac, b.subnet6, b.eui64))
        b.eui64 = given
    b.extra = {k: val for k, val in v.items() if k not in KNOWN_KEYS}
    return b


def load_binding(path, tap):
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read(65536)
    return parse_binding(tap, text, source=path)
