"""Just enough inotify (through libc with ctypes) to watch the state directory.

pyinotify would do, but it drags in asyncore (deprecated in Python 3.11) and
wants to own the event loop; we only need a file descriptor for select().
"""
import ctypes
import ctypes.util
import os
import struct

IN_MODIFY = 0x00000002
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_NONBLOCK = os.O_NONBLOCK
IN_CLOEXEC = os.O_CLOEXEC

_EVENT = struct.Struct("=iIII")

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def parse_events(buf):
    """Yield (wd, mask, cookie, name) from a read() of an inotify fd."""
    off = 0
    while off + _EVENT.size <= len(buf):
        wd, mask, cookie, length = _EVENT.unpack_from(buf, off)
        name = buf[off + _EVENT.size:off + _EVENT.size + length].split(b"\0", 1)[0]
        yield wd, mask, cookie, os.fsdecode(name)
        off += _EVENT.size + length


class Inotify:
    def __init__(self):
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            err = ctypes.get_errno()
            raise OSError(err, "inotify_init1: %s" % os.strerror(err))

    def add_watch(self, path, mask):
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(path), mask)
        if wd < 0:
            err = ctypes.get_errno()
            raise OSError(err, "cannot watch %s: %s" % (path, os.strerror(err)))
        return wd

    def fileno(self):
        return self.fd

    def read(self):
        try:
            return list(parse_events(os.read(self.fd, 65536)))
        except BlockingIOError:
            return []

    def close(self):
        os.close(self.fd)
