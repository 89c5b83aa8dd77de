"""EUI-64 addresses from MAC addresses (and the mac2eui64 command)."""
import ipaddress
import sys


def normalize_mac(mac):
    """Return mac as lower-case colon-separated hex, or raise ValueError."""
    parts = mac.strip().lower().replace("-", ":").split(":")
    if len(parts) != 6 or not all(len(p) in (1, 2) for p in parts):
        raise ValueError("not a MAC address: %r" % mac)
    return ":".join("%02x" % int(p, 16) for p in parts)


def interface_id(mac):
    """The 64-bit modified EUI-64 interface identifier of mac (RFC 4291 App. A)."""
    octets = bytes.fromhex(normalize_mac(mac).replace(":", ""))
    eui = bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:]
    return int.from_bytes(eui, "big")


def eui64_address(prefix, mac):
    """The SLAAC address of mac in prefix (a /64, given as 'net/64' or 'net')."""
    if isinstance(prefix, str) and "/" not in prefix:
        prefix += "/64"
    net = ipaddress.IPv6Network(prefix, strict=False)
    if net.prefixlen > 64:
        raise ValueError("prefix %s is longer than /64; SLAAC needs a /64" % prefix)
    return ipaddress.IPv6Address(int(net.network_address) | interface_id(mac))


def link_local(mac):
    return eui64_address("fe80::/64", mac)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2:
        sys.stderr.write("usage: mac2eui64 PREFIX MAC\n"
                         "prints the EUI-64 (SLAAC) address of MAC in the /64 PREFIX\n")
        return 2
    try:
        print(eui64_address(argv[0], argv[1]))
    except ValueError as exc:
        sys.stderr.write("mac2eui64: %s\n" % exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
