"""snf-image-update-helper: build the helper VM's kernel and initramfs into HELPER_DIR.

The kernel is Debian's cloud kernel and the userspace static busybox, both only
downloaded with apt-get download and unpacked (never installed); e2fsck, resize2fs
and extlinux are the node's own, copied with their libraries. The initramfs is
written here as a newc cpio, so no cpio tool is needed.
"""

import argparse
import glob
import gzip
import hashlib
import io
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from importlib import resources

from synnefo.snf_image import config as configuration

MODULES = ["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
           "virtio_pci", "virtio_blk"]  # insmod order (dependencies first)
TOOLS = ["e2fsck", "resize2fs", "extlinux"]
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


class BuildError(Exception):
    pass


def _run(cmd, cwd=None):
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BuildError("%s failed: %s" % (" ".join(cmd), proc.stderr.strip()[-500:]))
    return proc.stdout


def kernel_package():
    out = _run(["apt-cache", "depends", "linux-image-cloud-amd64"])
    m = re.search(r"Depends:\s*(linux-image-\S+-cloud-amd64)", out)
    if not m:
        raise BuildError("apt-cache knows no linux-image-cloud-amd64 (apt-get update?)")
    return m.group(1)


def recipe_digest():
    """Changes when what goes into the helper changes (its /init, this builder)."""
    h = hashlib.sha256()
    h.update(resources.files(__package__).joinpath("helper/init").read_bytes())
    with open(__file__, "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:16]


class Cpio:
    """A newc archive in memory."""

    def __init__(self):
        self.out = io.BytesIO()
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b"", rdev=(0, 0)):
        fields = [self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1],
                  len(name) + 1, 0]
        self.ino += 1
        self.out.write(b"070701" + "".join("%08X" % f for f in fields).encode())
        self.out.write(name.encode() + b"\0")
        self.out.write(bytes(-self.out.tell() % 4))
        self.out.write(data)
        self.out.write(bytes(-self.out.tell() % 4))

    def dir(self, name):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.dirs:
                self.dirs.add(d)
                self._entry(d, stat.S_IFDIR | 0o755)

    def file(self, name, data, mode=0o755):
        name = name.strip("/")
        self.dir(os.path.dirname(name))
        self._entry(name, stat.S_IFREG | mode, data)

    def chardev(self, name, major, minor):
        self.dir(os.path.dirname(name.strip("/")))
        self._entry(name.strip("/"), stat.S_IFCHR | 0o600, rdev=(major, minor))

    def close(self):
        self._entry("TRAILER!!!", 0)
        return self.out.getvalue()


def libraries(binary):
    """Shared libraries (and the loader) ``binary`` needs, from ldd."""
    libs = []
    for line in _run(["ldd", binary]).splitlines():
        m = re.search(r"(/\S+) \(0x", line)
        if m:
            libs.append(m.group(1))
    return libs


def initramfs(busybox, modules):
    cpio = Cpio()
    for d in ("proc", "sys", "dev", "mnt", "tmp", "sbin"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)   # the kernel opens it before /init runs
    cpio.file("init", b"#!/bin/busybox sh\n"
              + resources.files(__package__).joinpath("helper/init").read_bytes())
    with open(busybox, "rb") as f:
        cpio.file("bin/busybox", f.read())
    for name, path in modules.items():
        with open(path, "rb") as f:
            cpio.file("lib/modules/%s.ko" % name, f.read(), 0o644)
    seen = set()
    for tool in TOOLS:
        path = shutil.which(tool, path=SBIN_PATH)
        if path is None:
            raise BuildError("%s is not installed on this node" % tool)
        for f in [path] + libraries(path):
            real = os.path.realpath(f)
            if f in seen:
                continue
            seen.add(f)
            with open(real, "rb") as src:
                cpio.file(("bin/" + tool) if f == path else f, src.read())
    return gzip.compress(cpio.close(), 6)


def build(helper_dir, force=False):
    """Build into ``helper_dir`` unless its stamp says it is current; -> True if built."""
    pkg = kernel_package()
    stamp = "kernel=%s recipe=%s\n" % (pkg, recipe_digest())
    stamp_path = os.path.join(helper_dir, "stamp")
    try:
        with open(stamp_path) as f:
            if f.read() == stamp and not force:
                return False
    except FileNotFoundError:
        pass
    os.makedirs(helper_dir, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="snf-image-helper-build-") as work:
        os.chmod(work, 0o755)  # apt-get download writes as _apt when it may
        _run(["apt-get", "download", "-q", pkg, "busybox-static"], cwd=work)
        for deb, sub in ((pkg, "k"), ("busybox-static", "b")):
            _run(["dpkg-deb", "-x", glob.glob(os.path.join(work, deb + "_*.deb"))[0],
                  os.path.join(work, sub)])
        kver = pkg[len("linux-image-"):]
        modules = {}
        for name in MODULES:
            found = glob.glob(os.path.join(work, "k/lib/modules", kver, "kernel/**",
                                           name + ".ko"), recursive=True)
            if found:  # some are built in
                modules[name] = found[0]
        image = initramfs(os.path.join(work, "b/bin/busybox"), modules)
        for name, data in (("vmlinuz", None), ("initrd.img", image)):
            tmp = os.path.join(helper_dir, "." + name + ".new")
            if data is None:
                shutil.copyfile(os.path.join(work, "k/boot/vmlinuz-" + kver), tmp)
            else:
                with open(tmp, "wb") as f:
                    f.write(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, os.path.join(helper_dir, name))
    with open(stamp_path, "w") as f:
        f.write(stamp)
    return True


def main(argv=None):
    parser = argparse.ArgumentParser(prog="snf-image-update-helper",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true",
                        help="rebuild even when the helper is current")
    parser.add_argument("--dir", help="target directory (default: HELPER_DIR)")
    args = parser.parse_args(argv)
    helper_dir = args.dir or configuration.load()["HELPER_DIR"]
    try:
        built = build(helper_dir, args.force)
    except BuildError as e:
        sys.stderr.write("snf-image-update-helper: %s\n" % e)
        return 1
    print("%s: helper %s" % (helper_dir, "built" if built else "is current"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
