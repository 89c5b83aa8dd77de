"""SSH key pairs: imported public keys, or generated pairs whose private key is shown once."""

import base64
import hashlib
import re

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import IntegrityError, transaction

from synnefo.db.models import KeyPair

from .errors import Conflict, InvalidInput, NotFound, OverLimit

# fullmatch, never "$": "$" also matches before a trailing newline.
NAME_RE = re.compile(r"[A-Za-z0-9 _.@-]{1,255}")


def fingerprint(public_key):
    """The MD5 fingerprint OpenStack shows (aa:bb:...), of the key blob."""
    parts = public_key.split()
    blob = base64.b64decode(parts[1].encode("ascii"))
    digest = hashlib.md5(blob).hexdigest()  # not for security: a display fingerprint
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def _check_public_key(public_key):
    if not isinstance(public_key, str) or not public_key.strip():
        raise InvalidInput("'public_key' must be an OpenSSH public key line.")
    public_key = public_key.strip()
    try:
        serialization.load_ssh_public_key(public_key.encode("ascii"))
    except (ValueError, UnicodeEncodeError, TypeError) as exc:
        raise InvalidInput("'public_key' is not a valid OpenSSH public key (%s)." % exc) from None
    return public_key


def list_keypairs(user):
    return KeyPair.objects.filter(owner=user).order_by("name")


def keypair_count(user):
    return KeyPair.objects.filter(owner=user).count()


def get_keypair(user, name):
    try:
        return KeyPair.objects.get(owner=user, name=name)
    except KeyPair.DoesNotExist:
        raise NotFound("Key pair %r not found." % (name,)) from None


def create_keypair(user, name, public_key=None):
    """(KeyPair, private key PEM or None). With no public key a new RSA pair is generated."""
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidInput("'name' must be 1-255 letters, digits, spaces or _.@- characters.")
    # Before generating a key: a refused request should not cost an RSA key generation.
    if KeyPair.objects.filter(owner=user).count() >= settings.MAX_KEYPAIRS_PER_USER:
        raise OverLimit("You have %d key pairs, the most allowed (MAX_KEYPAIRS_PER_USER); "
                        "delete one first." % settings.MAX_KEYPAIRS_PER_USER, resource="keypairs")
    private_pem = None
    if public_key is None:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        private_pem = key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()).decode("ascii")
        public_key = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode("ascii")
        public_key += " Generated-by-Synnefo"
    else:
        public_key = _check_public_key(public_key)
    try:
        with transaction.atomic():
            keypair = KeyPair.objects.create(owner=user, name=name, public_key=public_key,
                                             fingerprint=fingerprint(public_key))
    except IntegrityError:
        raise Conflict("A key pair named %r already exists." % name) from None
    return keypair, private_pem


def delete_keypair(user, name):
    get_keypair(user, name).delete()
