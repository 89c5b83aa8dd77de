"""The source address of a request, for login throttling.

REMOTE_ADDR is the peer of gunicorn: behind nginx that is nginx. Only when the peer is
one of LOGIN_THROTTLE_TRUSTED_PROXIES is X-Forwarded-For believed, and then read from
the right: each trusted proxy appends the address it received the request from, so the
first hop from the right that is not itself a trusted proxy is the client. Whatever a
client wrote into the header itself stands left of that and is never reached.
"""

import functools
import ipaddress

from django.conf import settings


@functools.lru_cache(maxsize=8)
def _networks(trusted):
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in trusted)


def _parse(text):
    try:
        address = ipaddress.ip_address(text.strip().strip("[]"))
    except ValueError:
        return None
    # an IPv4 peer may reach an IPv6 socket as ::ffff:a.b.c.d: one client, one address
    return getattr(address, "ipv4_mapped", None) or address


def _trusted(address, networks):
    return address is not None and any(address in net for net in networks
                                       if net.version == address.version)


def client_address(request):
    remote = request.META.get("REMOTE_ADDR", "")
    networks = _networks(tuple(settings.LOGIN_THROTTLE_TRUSTED_PROXIES))
    address = _parse(remote)
    if not _trusted(address, networks):
        return str(address) if address is not None else remote
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        hop_address = _parse(hop)
        if hop_address is None:
            break  # not an address: the nearest trusted proxy is all we know
        address = hop_address
        if not _trusted(address, networks):
            break
    return str(address)
