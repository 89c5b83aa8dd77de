"""Writing an image onto the instance's disk: diskdump (a whole disk) or extdump
(one ext2/3/4 filesystem, placed into partition 1 of a new MBR partition table).

The image streams through ``Copy`` (from a file or a URL): its format is checked on
the first bytes, its size against the disk, its sha256 at the end. A failure wipes
what was written, so a failed create leaves no half-written disk behind.
"""

import hashlib
import os
import secrets
import stat
import struct

from synnefo.snf_image.errors import ImageError

CHUNK = 1 << 20
SECTOR = 512
PART_START = 2048                     # sectors: partition 1 starts at 1 MiB
MBR_CODE = "/usr/lib/EXTLINUX/mbr.bin"  # boot code that chains to the active partition
HEAD = 2048                           # bytes needed to recognise a format
_ZERO = bytes(CHUNK)


def is_ext_filesystem(head):
    """An ext2/3/4 superblock (magic 0xEF53 at byte 1080)."""
    return len(head) >= 1082 and head[1080:1082] == b"\x53\xef"


def has_partition_table(head):
    return len(head) >= 512 and head[510:512] == b"\x55\xaa"


def mbr(disk_bytes, code=b""):
    """A DOS partition table with one bootable Linux partition from 1 MiB to the end."""
    sectors = disk_bytes // SECTOR
    count = min(sectors - PART_START, 0xFFFFFFFF)
    if count <= 0:
        raise ImageError("the disk is too small for a partition")
    # CHS fields say "use LBA" (0xfe 0xff 0xff), as for any disk past 8 GiB.
    entry = struct.pack("<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x83, b"\xfe\xff\xff",
                        PART_START, count)
    table = bytearray(SECTOR)
    table[:len(code[:440])] = code[:440]
    table[440:444] = secrets.token_bytes(4)    # disk signature
    table[446:462] = entry
    table[510:512] = b"\x55\xaa"
    return bytes(table)


def boot_code():
    try:
        with open(MBR_CODE, "rb") as f:
            return f.read(440)
    except OSError:
        return b""


class Target:
    """The instance's disk (a block device or Ganeti's file), written from ``offset``."""

    def __init__(self, path, offset=0):
        try:
            self.fd = os.open(path, os.O_WRONLY)
        except OSError as e:
            raise ImageError("cannot open the instance disk %s: %s" % (path, e.strerror),
                             500) from None
        self.size = os.lseek(self.fd, 0, os.SEEK_END)
        # A new file disk reads as zeros: zero chunks of the image are skipped (sparse).
        self.fresh_file = stat.S_ISREG(os.fstat(self.fd).st_mode)
        self.offset = self.pos = offset
        self.written_to = 0

    @property
    def capacity(self):
        return self.size - self.offset

    def pwrite(self, data, at):
        os.lseek(self.fd, at, os.SEEK_SET)
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]
        self.written_to = max(self.written_to, at + len(data))

    def write(self, chunk):
        if self.pos + len(chunk) > self.size:
            raise ImageError("the image is larger than the disk (%d MiB)" % (self.size >> 20))
        if not (self.fresh_file and chunk == _ZERO[:len(chunk)]):
            self.pwrite(chunk, self.pos)
        self.pos += len(chunk)

    def wipe(self):
        """Undo: zeros wherever this run wrote (a file is emptied and re-extended)."""
        if self.fresh_file:
            os.ftruncate(self.fd, 0)
            os.ftruncate(self.fd, self.size)
            return
        end, at = self.written_to, 0
        while at < end:
            n = min(CHUNK, end - at)
            self.pwrite(_ZERO[:n], at)
            at += n

    def close(self):
        if self.fd is not None:
            os.fsync(self.fd)
            os.close(self.fd)
            self.fd = None


class Copy:
    """A sink for the image bytes: format and size checks, sha256, progress."""

    def __init__(self, target, image_format, checksum="", progress_factory=None):
        self.target = target
        self.format = image_format
        self.checksum = checksum
        self.progress_factory = progress_factory
        self.progress = None
        self.sha = hashlib.sha256()
        self.total = None
        self.done = 0
        self.head = b""

    def start(self, total):
        """``total``: the image's size in bytes (None when the server did not say)."""
        self.total = total
        if total is not None and total > self.target.capacity:
            raise ImageError("the image (%d MiB) is larger than the disk (%d MiB)"
                             % (-(-total >> 20), self.target.capacity >> 20))
        if self.progress_factory is not None:
            self.progress = self.progress_factory(total or self.target.capacity)

    def _check_head(self, head):
        if self.format == "extdump":
            if not is_ext_filesystem(head):
                raise ImageError("the image is not an ext2/3/4 filesystem, "
                                 "so it is not in extdump format")
            self.target.pwrite(mbr(self.target.size, boot_code()), 0)
        elif is_ext_filesystem(head):
            # (a filesystem with a boot sector also ends its first sector with 0x55AA)
            raise ImageError("the image is a single filesystem, not a whole disk, "
                             "so it is not in diskdump format")
        elif not has_partition_table(head):
            raise ImageError("the image has no partition table, "
                             "so it is not in diskdump format")

    def write(self, data):
        if self.head is not None:
            self.head += data
            if len(self.head) < HEAD:
                return
            data, self.head = self.head, None
            self._check_head(data)
        self.sha.update(data)
        self.target.write(data)
        self.done += len(data)
        if self.progress is not None:
            self.progress.update(self.done)

    def finish(self):
        if self.head is not None:  # shorter than a format's header
            raise ImageError("the image is too small (%d bytes) for %s format"
                             % (len(self.head), self.format))
        if self.total is not None and self.done != self.total:
            raise ImageError("the image ended after %d of %d bytes" % (self.done, self.total))
        if self.checksum and self.sha.hexdigest() != self.checksum:
            raise ImageError("image checksum mismatch: sha256 is %s, expected %s"
                             % (self.sha.hexdigest(), self.checksum))
        if self.progress is not None:
            if self.total is None:  # the server gave no size: the end is 100 %
                self.progress.total = max(self.done, 1)
            self.progress.update(self.done, force=True)
