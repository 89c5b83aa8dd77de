"""Customisation in a helper VM: the untrusted image is never mounted on the host.

The helper is a small Linux VM (Debian's cloud kernel and a busybox initramfs, built
by snf-image-update-helper into HELPER_DIR). It gets two disks: the instance's disk
and a read-only tar with the job (helper/run.sh, the files, the password hash). Only
qemu and the helper's own kernel touch the image's filesystem; the host reads back
nothing but the serial port's HELPER-* lines.
"""

import io
import logging
import os
import re
import shlex
import shutil
import subprocess
import tarfile
import tempfile
import time
from importlib import resources

from synnefo.snf_image.errors import ImageError

log = logging.getLogger(__name__)

_LINE = re.compile(r"HELPER-(RC|ERROR|WARNING): ?(.*)$")  # after firmware escapes


class Job:
    """What the helper does; ``tar()`` packs it."""

    def __init__(self, instance, root_partition=1, extdump=False):
        self.env = {"INSTANCE": instance, "ROOT_PARTITION": str(root_partition),
                    "EXTDUMP": "yes" if extdump else "no", "GUEST_HOSTNAME": "",
                    "PASSWORD_USERS": ""}
        self.shadow_hash = ""
        self.files = []          # params.PersonalityFile
        self.user_data = None

    @property
    def tasks(self):
        return [name for name, on in (
            ("resize+bootloader", self.env["EXTDUMP"] == "yes"),
            ("hostname", bool(self.env["GUEST_HOSTNAME"])),
            ("password", bool(self.shadow_hash)),
            ("files", bool(self.files)),
            ("nocloud", self.user_data is not None)) if on]

    def tar(self):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
            def add(name, data, mode=0o600):
                info = tarfile.TarInfo(name)
                info.size, info.mode, info.mtime = len(data), mode, int(time.time())
                tar.addfile(info, io.BytesIO(data))
            add("run.sh", resources.files(__package__).joinpath("helper/run.sh").read_bytes(),
                0o700)
            add("job.env", "".join("%s=%s\n" % (k, shlex.quote(v))
                                   for k, v in sorted(self.env.items())).encode())
            if self.shadow_hash:
                add("shadow-hash", self.shadow_hash.encode())
            lines = []
            for n, f in enumerate(self.files):
                add("files/%d" % n, f.contents)
                lines.append("%d %o %s %s %s\n" % (n, f.mode, f.owner, f.group, f.path))
            add("files.list", "".join(lines).encode())
            if self.user_data is not None:
                add("user-data", self.user_data)
        data = out.getvalue()
        # a whole number of sectors: it is a disk
        return data + bytes(-len(data) % 512)


def password_hash(password):
    """SHA-512 crypt of ``password`` (openssl reads it from stdin: never in argv)."""
    proc = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password.encode() + b"\n",
                          capture_output=True, check=False, timeout=30)
    digest = proc.stdout.decode().strip()
    if proc.returncode != 0 or not digest.startswith("$6$"):
        raise ImageError("could not hash the root password (openssl passwd)", 500)
    return digest


def files(helper_dir):
    kernel, initrd = (os.path.join(helper_dir, n) for n in ("vmlinuz", "initrd.img"))
    for path in (kernel, initrd):
        if not os.path.isfile(path):
            raise ImageError("the node has no helper VM (%s is missing; run "
                             "snf-image-update-helper)" % path, 500)
    return kernel, initrd


def command(config, disk, job_tar):
    kernel, initrd = files(config["HELPER_DIR"])
    cmd = [config["HELPER_QEMU"]]
    for accel in config["HELPER_ACCEL"].split():
        cmd += ["-accel", accel]
    return cmd + [
        "-m", config["HELPER_MEMORY"], "-smp", "1", "-nodefaults", "-nographic",
        "-serial", "stdio", "-monitor", "none", "-no-reboot", "-net", "none",
        "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 quiet panic=-1",
        "-drive", "file=%s,format=raw,if=none,id=t,cache=writeback" % disk.replace(",", ",,"),
        "-device", "virtio-blk-pci,drive=t,serial=TARGET",
        "-drive", "file=%s,format=raw,if=none,id=j,readonly=on" % job_tar.replace(",", ",,"),
        "-device", "virtio-blk-pci,drive=j,serial=JOB"]


def parse(output):
    """-> (rc or None, errors, warnings) from the helper's serial output."""
    rc, errors, warnings = None, [], []
    for line in output.splitlines():
        m = _LINE.search(line.strip())
        if not m:
            continue
        kind, text = m.groups()
        if kind == "RC":
            rc = int(text) if text.strip().isdigit() else 1
        elif kind == "ERROR":
            errors.append(text)
        else:
            warnings.append(text)
    return rc, errors, warnings


def run(job, disk, config):
    """Run ``job`` on ``disk`` in a helper VM; -> warnings. ImageError on failure."""
    workdir = tempfile.mkdtemp(prefix="snf-image-helper-")  # 0700: the hash is in it
    try:
        job_tar = os.path.join(workdir, "job.tar")
        fd = os.open(job_tar, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(job.tar())
        cmd = command(config, disk, job_tar)
        started = time.monotonic()
        try:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=config.number("HELPER_TIMEOUT"), check=False)
        except subprocess.TimeoutExpired:
            raise ImageError("the helper VM did not finish within %s s"
                             % config["HELPER_TIMEOUT"], 500) from None
        except OSError as e:
            raise ImageError("cannot start the helper VM (%s): %s" % (cmd[0], e.strerror),
                             500) from None
        output = proc.stdout.decode("utf-8", "replace")
        rc, errors, warnings = parse(output)
        log.info("helper VM: %s in %.1f s, rc %s", ", ".join(job.tasks),
                 time.monotonic() - started, rc)
        if errors:
            raise ImageError("customisation failed: %s" % "; ".join(errors)[:500])
        if rc != 0:
            tail = "\n".join(output.splitlines()[-15:]) or proc.stderr.decode("utf-8", "replace")
            log.error("helper VM output (last lines):\n%s", tail[-3000:])
            raise ImageError("the helper VM failed (rc %s, qemu exit %d)"
                             % (rc, proc.returncode), 500)
        return warnings
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
