"""Short-lived signed links to one image's data, for Ganeti nodes that hold no token.

A link names the image, an expiry time and an HMAC-SHA256 over both and the image's
checksum, keyed with IMAGE_LINK_SECRET (by default derived from SECRET_KEY, so every
APISERVER of a deployment accepts the links of the others). Binding the checksum means
a link made for one image data never fetches other data. Links carry no user: whoever
holds one reads that image until it expires, so they are only handed to Ganeti (as the
img_id OS parameter) and kept short.
"""

import hashlib
import hmac
import time

from django.conf import settings

from .errors import Forbidden
from .ids import parse_uint

PATH = "/image/node/%d/%d/%s"


def _key():
    secret = settings.IMAGE_LINK_SECRET
    if secret:
        return secret.encode("utf-8") if isinstance(secret, str) else bytes(secret)
    # A key of its own purpose, so that a link signature never doubles as anything
    # else Django signs with SECRET_KEY.
    return hashlib.sha256(b"synnefo image links\0" + settings.SECRET_KEY.encode("utf-8")).digest()


def _signature(image_id, checksum, expires):
    message = ("%d\0%s\0%d" % (image_id, checksum, expires)).encode("ascii")
    return hmac.new(_key(), message, hashlib.sha256).hexdigest()


def make_link(image, now=None):
    """The absolute URL nodes fetch ``image``'s data from."""
    expires = int(now if now is not None else time.time()) + int(settings.IMAGE_LINK_LIFETIME)
    base = (settings.IMAGE_LINK_BASE_URL or settings.API_PUBLIC_BASE_URL).rstrip("/")
    return base + PATH % (image.id, expires, _signature(image.id, image.checksum, expires))


def check_link(image_id, checksum, expires, signature, now=None):
    """Forbidden unless ``signature`` signs (image, checksum, expires) and it has not
    expired. ``expires`` and ``signature`` are the raw path parts."""
    when = parse_uint(expires, 2 ** 63 - 1)
    if when is None or not isinstance(signature, str) or not signature.isascii():
        raise Forbidden("This image link is not valid.")
    expected = _signature(image_id, checksum, when)
    if not hmac.compare_digest(expected, signature):
        raise Forbidden("This image link is not valid.")
    if when < (now if now is not None else time.time()):
        raise Forbidden("This image link has expired.")
