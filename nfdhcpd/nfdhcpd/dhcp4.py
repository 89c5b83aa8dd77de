"""DHCPv4 without scapy: the hot path of a boot storm.

A queued DHCP packet is parsed with struct (only the fields and options the
decision needs) and the reply frame is built as bytes, so one exchange costs
tens of microseconds of Python instead of scapy's milliseconds of layer
objects.  The tests still read every reply back with scapy (an independent
parser), and the fuzz tests feed it scapy-made garbage.

Same decisions as before (RFC 2131): DISCOVER -> OFFER, REQUEST -> ACK/NAK,
INFORM -> ACK without a lease, RELEASE/DECLINE logged and dropped; packets
from any MAC other than the bound one are accepted untouched.
"""
import socket
import struct

from .decision import accept, drop

DHCPDISCOVER, DHCPOFFER, DHCPREQUEST, DHCPDECLINE = 1, 2, 3, 4
DHCPACK, DHCPNAK, DHCPRELEASE, DHCPINFORM = 5, 6, 7, 8
MSG_NAMES = {1: "DISCOVER", 2: "OFFER", 3: "REQUEST", 4: "DECLINE", 5: "ACK", 6: "NAK",
             7: "RELEASE", 8: "INFORM"}

OPT_PAD, OPT_SUBNET_MASK, OPT_ROUTER, OPT_DNS, OPT_HOSTNAME, OPT_DOMAIN = 0, 1, 3, 6, 12, 15
OPT_BROADCAST, OPT_REQUESTED, OPT_LEASE_TIME, OPT_MSG_TYPE = 28, 50, 51, 53
OPT_SERVER_ID, OPT_MESSAGE, OPT_RENEWAL_TIME, OPT_END = 54, 56, 58, 255
# the options a decision reads; the rest are skipped without being copied
WANTED = frozenset((OPT_MSG_TYPE, OPT_SERVER_ID, OPT_REQUESTED))

MAGIC = b"\x63\x82\x53\x63"
ZERO_IP = b"\0\0\0\0"
BROADCAST_IP = b"\xff\xff\xff\xff"
BROADCAST_MAC = b"\xff" * 6
# op htype hlen hops xid secs flags ciaddr yiaddr siaddr giaddr chaddr (sname, file: zeros)
_BOOTP = struct.Struct("!BBBBIHH4s4s4s4s16s")
BOOTP_LEN = 236
MIN_BOOTP_LEN = 300  # RFC 1542 2.1: some clients drop shorter replies
_IP = struct.Struct("!BBHHHBBH4s4s")
_UDP = struct.Struct("!HHHH")
_PSEUDO = struct.Struct("!4s4sxBH")
_U32 = struct.Struct("!I")
BOOTP_TAIL = bytes(64 + 128)  # sname and file, empty


class Request:
    """The fields of a BOOTREQUEST that a decision reads (raw bytes for addresses)."""
    __slots__ = ("op", "xid", "flags", "ciaddr", "chaddr", "options")


def checksum(data):
    """RFC 1071 Internet checksum.  The one's-complement sum of 16-bit words is the
    number the bytes spell modulo 0xffff (2**16 == 1 mod 0xffff), which int does in C."""
    if len(data) & 1:
        data += b"\0"
    s = int.from_bytes(data, "big") % 0xffff or 0xffff  # nonzero data sums to 0xffff, not 0
    return ~s & 0xffff


def parse(payload):
    """The BOOTREQUEST in an IPv4/UDP payload; None if it is not DHCP;
    ValueError if it is too broken to tell."""
    n = len(payload)
    if n < 20 or payload[0] >> 4 != 4:
        raise ValueError("not IPv4")
    ihl = (payload[0] & 0x0f) * 4
    if ihl < 20 or n < ihl + 8:
        raise ValueError("truncated header")
    total = (payload[2] << 8) | payload[3]
    end = total if ihl + 8 <= total <= n else n
    if payload[9] != socket.IPPROTO_UDP:
        return None
    _sport, dport, _len, _csum = _UDP.unpack_from(payload, ihl)
    off = ihl + 8
    cookie = off + BOOTP_LEN
    if dport != 67 or end < cookie + 4 or payload[cookie:cookie + 4] != MAGIC:
        return None
    req = Request()
    (req.op, _htype, _hlen, _hops, req.xid, _secs, req.flags, req.ciaddr, _yiaddr, _siaddr,
     _giaddr, req.chaddr) = _BOOTP.unpack_from(payload, off)
    options = {}
    i = cookie + 4
    while i < end:
        code = payload[i]
        if code == OPT_PAD:
            i += 1
            continue
        if code == OPT_END or i + 1 >= end:
            break
        length = payload[i + 1]
        if i + 2 + length > end:
            break  # a truncated option ends the list, like a missing END
        if code in WANTED and code not in options:
            options[code] = payload[i + 2:i + 2 + length]
        i += 2 + length
    req.options = options
    return req


def _opt(code, value):
    return bytes((code, len(value))) + value


def _ip_list(code, addresses):
    """An option of IPv4 addresses given as dotted strings (the config's form)."""
    return _opt(code, b"".join(socket.inet_aton(a) for a in addresses))


def search_domain(binding, cfg):
    """The DNS search domain: configured, else the part of the hostname after its first dot."""
    if cfg.domain:
        return cfg.domain
    _, dot, rest = binding.hostname.partition(".")
    return rest if dot else ""


def server_ip(binding, cfg):
    """The address we answer from (str): configured, else the gateway, else the subnet's first."""
    if cfg.server_ip:
        return cfg.server_ip
    if binding.gateway is not None:
        return str(binding.gateway)
    if binding.subnet is not None:
        return str(next(binding.subnet.hosts()))
    return "169.254.169.254"  # only reached for a binding with no subnet at all


def _options(reply_type, server, binding, cfg, mtype):
    """The reply's option list (bytes, END included), in the order clients are used to."""
    opts = [_opt(OPT_MSG_TYPE, bytes((reply_type,))), _opt(OPT_SERVER_ID, server)]
    if reply_type == DHCPNAK:
        opts.append(_opt(OPT_MESSAGE, b"address not bound to this MAC"))
    else:
        full = mtype != DHCPINFORM  # an INFORM gets DNS and names only (no lease, no routing)
        if full:
            lease = cfg.lease_lifetime
            opts += [_opt(OPT_LEASE_TIME, _U32.pack(lease)),
                     _opt(OPT_RENEWAL_TIME, _U32.pack(min(cfg.lease_renewal, lease)))]
            if binding.subnet is not None:
                opts += [_opt(OPT_SUBNET_MASK, binding.subnet.netmask.packed),
                         _opt(OPT_BROADCAST, binding.subnet.broadcast_address.packed)]
            if binding.gateway is not None:
                opts.append(_opt(OPT_ROUTER, binding.gateway.packed))
        if cfg.nameservers:
            opts.append(_ip_list(OPT_DNS, cfg.nameservers))
        if binding.hostname:
            opts.append(_opt(OPT_HOSTNAME, binding.hostname.encode()[:255]))
        domain = search_domain(binding, cfg)
        if domain:
            opts.append(_opt(OPT_DOMAIN, domain.encode()[:255]))
    opts.append(b"\xff")
    return b"".join(opts)


def build_reply(req, reply_type, yiaddr, server, options, src_mac, dst_mac, dst_ip):
    """Ethernet + IPv4 + UDP 67->68 + BOOTREPLY frame, checksums included."""
    bootp = (_BOOTP.pack(2, 1, 6, 0, req.xid, 0, req.flags, req.ciaddr, yiaddr, server,
                         ZERO_IP, req.chaddr) + BOOTP_TAIL + MAGIC + options)
    if len(bootp) < MIN_BOOTP_LEN:
        bootp += bytes(MIN_BOOTP_LEN - len(bootp))
    udp_len = 8 + len(bootp)
    udp_sum = checksum(_PSEUDO.pack(server, dst_ip, socket.IPPROTO_UDP, udp_len) +
                       _UDP.pack(67, 68, udp_len, 0) + bootp)
    ip_hdr = _IP.pack(0x45, 0, 20 + udp_len, 0, 0, 64, socket.IPPROTO_UDP, 0, server, dst_ip)
    ip_hdr = ip_hdr[:10] + checksum(ip_hdr).to_bytes(2, "big") + ip_hdr[12:]
    return b"".join((dst_mac, src_mac, b"\x08\x00", ip_hdr,
                     _UDP.pack(67, 68, udp_len, udp_sum or 0xffff), bootp))


def handle_dhcp(payload, binding, cfg, tap, src_mac=None):
    """DHCPv4: DISCOVER/REQUEST/INFORM answered, RELEASE/DECLINE logged."""
    try:
        req = parse(payload)
    except ValueError as exc:
        return drop("malformed IPv4 packet (%s)" % exc)
    if req is None:
        return drop("not a DHCP packet (%d bytes)" % len(payload))
    client_mac = req.chaddr[:6].hex(":")
    if src_mac is not None and src_mac != binding.mac:
        return accept("DHCP sent from %s, not the bound MAC %s" % (src_mac, binding.mac))
    if client_mac != binding.mac:
        return accept("DHCP from %s, not the bound MAC %s" % (client_mac, binding.mac))
    if req.op != 1:
        return drop("DHCP packet from %s is not a BOOTREQUEST" % client_mac)
    opts = req.options
    raw_type = opts.get(OPT_MSG_TYPE)
    mtype = raw_type[0] if raw_type else None
    name = MSG_NAMES.get(mtype, str(mtype))
    who = "%s on %s" % (client_mac, tap.name)
    if binding.ip is None:
        return accept("DHCP %s from %s: the binding has no IPv4 address" % (name, who))
    server = socket.inet_aton(server_ip(binding, cfg))
    bound = binding.ip.packed

    if mtype == DHCPRELEASE:
        return drop("DHCP RELEASE of %s from %s" % (_ntoa(req.ciaddr), who))
    if mtype == DHCPDECLINE:
        return drop("DHCP DECLINE of %s from %s: the address is in use on that link"
                    % (_ntoa(opts.get(OPT_REQUESTED, req.ciaddr)), who))
    if mtype == DHCPINFORM:
        reply_type, yiaddr = DHCPACK, ZERO_IP
    elif mtype == DHCPDISCOVER:
        reply_type, yiaddr = DHCPOFFER, bound
    elif mtype == DHCPREQUEST:
        sid = opts.get(OPT_SERVER_ID)
        if sid is not None and sid != server:
            return drop("DHCP REQUEST from %s for server %s, not us" % (who, _ntoa(sid)))
        wanted = opts.get(OPT_REQUESTED) or req.ciaddr
        if wanted != bound:
            reply_type, yiaddr = DHCPNAK, ZERO_IP
        else:
            reply_type, yiaddr = DHCPACK, bound
    else:
        return drop("DHCP message type %s from %s ignored" % (name, who))

    # RFC 2131 4.1: NAKs and replies to clients that asked for it are
    # broadcast; INFORM replies go to ciaddr; the rest to the client's MAC.
    if reply_type == DHCPNAK or (req.flags & 0x8000):
        dst_mac, dst_ip = BROADCAST_MAC, BROADCAST_IP
    elif mtype == DHCPINFORM and req.ciaddr != ZERO_IP:
        dst_mac, dst_ip = req.chaddr[:6], req.ciaddr
    else:
        dst_mac, dst_ip = req.chaddr[:6], yiaddr
    frame = build_reply(req, reply_type, yiaddr, server,
                        _options(reply_type, server, binding, cfg, mtype),
                        bytes.fromhex(tap.mac.replace(":", "")), dst_mac, dst_ip)
    what = MSG_NAMES[reply_type] if reply_type == DHCPNAK else "%s %s" % (
        MSG_NAMES[reply_type], _ntoa(yiaddr))
    return drop("DHCP %s from %s -> %s" % (name, who, what), frame)


def _ntoa(raw):
    """Dotted quad of a 4-byte address; anything else (a malformed option) as hex."""
    return socket.inet_ntoa(raw) if len(raw) == 4 else "0x" + raw.hex()
