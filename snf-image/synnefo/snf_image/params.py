"""The OS parameters Ganeti passes (OSP_* variables), checked and decoded.

Synnefo sets them at create (synnefo.backend.instances.build_create_spec): img_id,
img_format, img_properties (JSON), img_personality (JSON list), img_user_data
(base64), img_checksum ("sha256:<hex>", optional) and the secret img_passwd.
"""

import base64
import binascii
import json
import re
from dataclasses import dataclass, field

from synnefo.snf_image.errors import ImageError

FORMATS = ("diskdump", "extdump")
# name -> help text: parameters.list is written from this.
PARAMETERS = {
    "img_id": "Image: a file name under IMAGE_DIR, or an http(s) URL",
    "img_format": "Image format: diskdump or extdump",
    "img_passwd": "Root password (secret parameter)",
    "img_properties": "Image properties, a JSON object (OSFAMILY, ROOT_PARTITION, USERS, ...)",
    "img_personality": "Files for the guest, a JSON list of {path, contents, mode, owner, group}",
    "img_user_data": "User data (base64), given to cloud-init as a NoCloud seed",
    "img_checksum": "Expected image checksum, sha256:<hex> (optional)",
    "config_url": "Unused; accepted for compatibility",
}
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+@-]*$")
ACCOUNT = re.compile(r"^([a-z_][a-z0-9_-]*\$?|[0-9]+)$")
_CHECKSUM = re.compile(r"^sha256:([0-9a-f]{64})$")


@dataclass
class PersonalityFile:
    path: str
    contents: bytes
    mode: int = 0o644
    owner: str = "root"
    group: str = "root"


@dataclass
class Params:
    image: str
    format: str
    properties: dict = field(default_factory=dict)
    personality: list = field(default_factory=list)
    user_data: bytes = b""
    checksum: str = ""          # hex sha256 or ""
    password: str = field(default="", repr=False)

    @property
    def is_url(self):
        return self.image.startswith(("http://", "https://"))


def _image_id(value):
    if value.startswith(("http://", "https://")):
        if any(c.isspace() for c in value):
            raise ImageError("the image URL contains white space")
        return value
    if not value:
        raise ImageError("no image given (img_id is empty)")
    if "/" in value or ".." in value or not _NAME.match(value):
        raise ImageError("invalid image name %r: a file name under the image directory "
                         "or an http(s) URL" % value[:100])
    return value


def _format(value):
    if value not in FORMATS:
        raise ImageError("unsupported image format %r (supported: %s)"
                         % (value[:40], ", ".join(FORMATS)))
    return value


def _json(name, value, kind):
    if not value:
        return kind()
    try:
        data = json.loads(value)
    except ValueError:
        raise ImageError("%s is not valid JSON" % name) from None
    if not isinstance(data, kind):
        raise ImageError("%s must be a JSON %s" % (name, "object" if kind is dict else "list"))
    return data


def _b64(name, value):
    try:
        return base64.b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeError):
        raise ImageError("%s is not valid base64" % name) from None


def _guest_path(path):
    if (not isinstance(path, str) or not path.startswith("/") or "\0" in path
            or "\n" in path or ".." in path.split("/") or path.rstrip("/") == ""):
        raise ImageError("invalid personality path %r: an absolute path in the guest"
                         % str(path)[:100])
    return path


def _account(name, value):
    value = str(value if value is not None else "root")
    if not ACCOUNT.match(value):
        raise ImageError("invalid personality %s %r" % (name, value[:40]))
    return value


def _mode(value):
    if value is None:
        return 0o644
    try:
        mode = int(value, 8) if isinstance(value, str) else int(value)
    except (TypeError, ValueError):
        raise ImageError("invalid personality mode %r" % str(value)[:20]) from None
    if not 0 <= mode <= 0o7777:
        raise ImageError("invalid personality mode %o" % mode)
    return mode


def _personality(items):
    files = []
    for item in items:
        if not isinstance(item, dict):
            raise ImageError("img_personality entries must be JSON objects")
        files.append(PersonalityFile(
            path=_guest_path(item.get("path")),
            contents=_b64("personality contents", str(item.get("contents") or "")),
            mode=_mode(item.get("mode")),
            owner=_account("owner", item.get("owner")),
            group=_account("group", item.get("group"))))
    return files


def _checksum(value):
    if not value:
        return ""
    match = _CHECKSUM.match(value.strip().lower())
    if not match:
        raise ImageError("invalid img_checksum %r (expected sha256:<64 hex digits>)" % value[:80])
    return match.group(1)


def from_env(env, need_image=True):
    """Params from Ganeti's OS environment (OSP_IMG_*); ImageError when invalid."""
    def get(name):
        return env.get("OSP_" + name.upper(), "")

    properties = _json("img_properties", get("img_properties"), dict)
    return Params(
        image=_image_id(get("img_id")) if need_image or get("img_id") else "",
        format=_format(get("img_format")) if need_image or get("img_format") else "",
        properties={str(k).upper(): str(v) for k, v in properties.items()},
        personality=_personality(_json("img_personality", get("img_personality"), list)),
        user_data=_b64("img_user_data", get("img_user_data")) if get("img_user_data") else b"",
        checksum=_checksum(get("img_checksum")),
        password=get("img_passwd"))


def verify(env):
    """Ganeti's OS verify: every parameter that is set must be valid (OSP_* given)."""
    from_env(env, need_image=False)
