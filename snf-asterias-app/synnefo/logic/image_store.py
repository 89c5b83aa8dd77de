"""The image data files under IMAGE_STORE_DIR: written once, read, removed.

One flat directory of plain files named by an image's ``backend_id`` (the name the OS
provider knows; where nodes share the directory it is their IMAGE_DIR). Data arrives
as a stream of chunks and is never held whole in memory: it goes to a hidden temporary
file beside its final name, hashed on the way, and is renamed into place only when it is
complete and checked, so a reader never sees half an image.
"""

import hashlib
import os
import re
import secrets

from django.conf import settings

CHUNK = 1024 * 1024
# A file name in the store: no directory part, no leading dot (temporary files have one).
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9._+-]{0,254}$")


class StoreError(Exception):
    """The stream broke a rule (too large, shorter than announced, wrong checksum)."""


def valid_name(name):
    return bool(_NAME.match(name or ""))


def directory():
    return settings.IMAGE_STORE_DIR


def path_of(name):
    if not valid_name(name):
        raise ValueError("not a file name of the image store: %r" % (name,))
    return os.path.join(directory(), name)


def exists(name):
    return valid_name(name) and os.path.isfile(path_of(name))


def new_name(image_id):
    """A fresh file name for the data of image ``image_id`` (never reused: a client
    cannot race a delete with a new upload onto the same file)."""
    return "image-%d-%s" % (image_id, secrets.token_hex(6))


class Hashes:
    """Size, SHA-256 and MD5 of the bytes fed to it."""

    def __init__(self):
        self.size = 0
        self.sha256 = hashlib.sha256()
        self.md5 = hashlib.md5(usedforsecurity=False)

    def update(self, chunk):
        self.size += len(chunk)
        self.sha256.update(chunk)
        self.md5.update(chunk)


def hash_file(path):
    """(size, sha256 hex, md5 hex) of a file, read in chunks."""
    hashes = Hashes()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            hashes.update(chunk)
    return hashes.size, hashes.sha256.hexdigest(), hashes.md5.hexdigest()


def write(name, chunks, limit, check=None):
    """Store the byte chunks as file ``name``; returns its Hashes.

    ``limit``: StoreError as soon as more bytes than this arrive (the rest is not read).
    ``check(hashes)``: called once the stream ended; it raises to refuse the data. On
    any failure the temporary file is removed and nothing is stored.
    """
    final = path_of(name)
    os.makedirs(directory(), mode=0o750, exist_ok=True)
    tmp = os.path.join(directory(), ".%s.part-%s" % (name, secrets.token_hex(4)))
    hashes = Hashes()
    try:
        with open(tmp, "xb") as f:
            for chunk in chunks:
                if hashes.size + len(chunk) > limit:
                    raise StoreError("more than %d bytes" % limit)
                hashes.update(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        if check is not None:
            check(hashes)
        # The directory (0750) guards the data; files stay readable by the API's user
        # when an administrator's snf-manage (root) wrote them.
        os.chmod(tmp, 0o644)
        os.replace(tmp, final)
    except BaseException:
        _unlink(tmp)
        raise
    return hashes


def copy_in(source, name):
    """Copy the file ``source`` into the store as ``name``; its Hashes."""
    with open(source, "rb") as f:
        return write(name, iter(lambda: f.read(CHUNK), b""), limit=float("inf"))


def open_data(name):
    """The stored file ``name`` opened for reading (FileNotFoundError if absent)."""
    return open(path_of(name), "rb")


def remove(name):
    if valid_name(name):
        _unlink(path_of(name))


def _unlink(path):
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
