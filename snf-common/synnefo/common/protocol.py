"""The words Synnefo's parts exchange: one definition each, shared by every package.

The API, logic, backend, the dispatcher's callbacks, the Ganeti hook, eventd and nfdhcpd
all meet on these values (in the database, in Ganeti tags, in AMQP messages, on the
wire); defining them once keeps a spelling change from breaking one side silently.
Standard library only: the Django-free daemons import it too.
"""

import ipaddress
from collections.abc import Iterable

# -- AMQP message types (the "type" field of every event message) ------------------------

MSG_OP_STATUS = "ganeti-op-status"  # eventd: a Ganeti op of one of our instances
MSG_NET_STATUS = "ganeti-net-status"  # snf-ganeti-hook: an instance's NICs
MSG_CREATE_PROGRESS = "ganeti-create-progress"  # snf-progress-monitor: image copy
MSG_NETWORK_STATUS = "ganeti-network-status"  # eventd: a Ganeti network op

# -- Ganeti job statuses -----------------------------------------------------------------

# Every status of a Ganeti job (the order of Ganeti's constants; database choices).
JOB_STATUSES = ("queued", "waiting", "canceling", "running", "canceled", "success",
                "error")
# A job in one of these has ended and never changes again; all but "success" are failures.
FAILED_JOB_STATUSES = ("error", "canceled")
FINAL_JOB_STATUSES = ("success",) + FAILED_JOB_STATUSES
# Rank of statuses within one job: a later rank never gives way to an earlier one
# (messages about one job arrive out of order).
JOB_STATUS_RANK = {"queued": 0, "waiting": 1, "running": 2, "canceling": 3,
                   "success": 4, "error": 4, "canceled": 4}

# -- firewall profiles and their Ganeti instance tags -----------------------------------

# The API's firewall profiles of a NIC (Synnefo's names).
FIREWALL_PROFILES = ("ENABLED", "DISABLED", "PROTECTED")
# A NIC's profile travels to the Ganeti nodes as the instance tag
# synnefo:network:<NIC index>:<kind>, which kvm-vif-bridge turns into iptables rules.
FIREWALL_TAG_PREFIX = "synnefo:network:"
FIREWALL_TAG_KIND = {"ENABLED": "protected", "DISABLED": "unprotected",
                     "PROTECTED": "limited"}
FIREWALL_PROFILE_OF_KIND = {kind: profile for profile, kind in FIREWALL_TAG_KIND.items()}


def firewall_tag(nic_index: int | str, profile: str) -> str:
    """The Ganeti tag that gives NIC ``nic_index`` the firewall ``profile``."""
    if profile not in FIREWALL_TAG_KIND:
        raise ValueError("firewall profile must be one of %s, not %r"
                         % (", ".join(sorted(FIREWALL_TAG_KIND)), profile))
    return "%s%d:%s" % (FIREWALL_TAG_PREFIX, int(nic_index), FIREWALL_TAG_KIND[profile])


def firewall_profiles(tags: Iterable[object]) -> dict[int, str]:
    """{NIC index: profile} named by the firewall tags among ``tags`` (an iterable);
    anything else, including malformed firewall tags, is ignored."""
    profiles: dict[int, str] = {}
    for tag in tags:
        if not isinstance(tag, str) or not tag.startswith(FIREWALL_TAG_PREFIX):
            continue
        parts = tag[len(FIREWALL_TAG_PREFIX):].split(":")
        # isascii: str.isdigit() also accepts digits of other scripts
        if (len(parts) == 2 and parts[0].isascii() and parts[0].isdigit()
                and parts[1] in FIREWALL_PROFILE_OF_KIND):
            profiles[int(parts[0])] = FIREWALL_PROFILE_OF_KIND[parts[1]]
    return profiles


# -- EUI-64 (SLAAC) addresses ------------------------------------------------------------
# Guests configure their IPv6 address from the router advertisement's /64 and their MAC
# (RFC 4291 appendix A); the hook reports it, logic shows it, nfdhcpd answers for it.

def normalize_mac(mac: object) -> str:
    """``mac`` as lower-case colon-separated hex (``-`` separators and one-digit octets
    accepted), or ValueError."""
    parts = mac.strip().lower().replace("-", ":").split(":") if isinstance(mac, str) else []
    if len(parts) != 6 or not all(
            1 <= len(p) <= 2 and all(c in "0123456789abcdef" for c in p) for p in parts):
        raise ValueError("not a MAC address: %r" % (mac,))
    return ":".join("%02x" % int(p, 16) for p in parts)


def interface_id(mac: object) -> int:
    """The 64-bit modified EUI-64 interface identifier of ``mac``: the universal/local
    bit flipped and ff:fe inserted in the middle."""
    octets = bytes.fromhex(normalize_mac(mac).replace(":", ""))
    return int.from_bytes(bytes([octets[0] ^ 0x02]) + octets[1:3] + b"\xff\xfe" + octets[3:],
                          "big")


def eui64_address(prefix: str | ipaddress.IPv6Network, mac: object) -> ipaddress.IPv6Address:
    """The SLAAC address of ``mac`` in ``prefix``, a /64 ("net/64" or just "net"), as an
    IPv6Address; ValueError for a bad MAC or a prefix longer than /64."""
    if isinstance(prefix, str) and "/" not in prefix:
        prefix += "/64"
    net = ipaddress.IPv6Network(prefix, strict=False)
    if net.prefixlen > 64:
        raise ValueError("prefix %s is longer than /64; SLAAC needs a /64" % (prefix,))
    return ipaddress.IPv6Address(int(net.network_address) | interface_id(mac))

# -- OS provider faults ------------------------------------------------------------------

# snf-image ends a failed create with the line "snf-image error: [<code>] <message>".
# Ganeti puts the script's last log lines into the create job's error, and the
# dispatcher makes that line the server's fault (code and message) in the API.
OS_FAULT_MARK = "snf-image error:"


def os_fault(text: str | None) -> tuple[int, str] | None:
    """(code, message) of the last OS provider fault line in ``text``, else None."""
    found: tuple[int, str] | None = None
    for line in (text or "").splitlines():
        _, mark, rest = line.partition(OS_FAULT_MARK)
        if not mark:
            continue
        rest = rest.strip()
        code, message = 500, rest
        if rest.startswith("[") and "]" in rest:
            head, _, tail = rest[1:].partition("]")
            if head.isdigit() and 400 <= int(head) <= 599:
                code, message = int(head), tail
        found = (code, message.strip() or "the OS provider failed")
    return found
