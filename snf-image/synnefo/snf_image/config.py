"""/etc/default/snf-image: KEY=VALUE lines in shell syntax (no expansion).

SNF_IMAGE_CONFIG names another file (the test cluster's provider uses one of its own).
A variant other than "default" (snf-image+NAME, listed in /etc/snf-image/variants.list)
reads /etc/snf-image/variants/NAME.conf on top, e.g. another IMAGE_DIR.
"""

import os
import shlex

from synnefo.snf_image.errors import ImageError

PATH = "/etc/default/snf-image"
VARIANTS_DIR = "/etc/snf-image/variants"

DEFAULTS = {
    "IMAGE_DIR": "/var/lib/snf-image/images",  # images named by a plain img_id
    "PROGRESS_MONITOR": "",                    # e.g. snf-progress-monitor; empty: none
    "PROGRESS_INTERVAL": "1",                  # seconds between two progress reports
    "DOWNLOAD_TIMEOUT": "600",                 # seconds for fetching an image URL
    "DOWNLOAD_CONNECT_TIMEOUT": "20",
    "DOWNLOAD_CAFILE": "",                     # CA bundle for https image URLs
    "HELPER_DIR": "/var/lib/snf-image/helper",  # vmlinuz + initrd.img (snf-image-update-helper)
    "HELPER_QEMU": "/usr/bin/qemu-system-x86_64",
    "HELPER_ACCEL": "kvm tcg",                 # qemu -accel values, first that works
    "HELPER_MEMORY": "256",                    # MiB
    "HELPER_TIMEOUT": "180",                   # seconds for one helper VM run
}


def parse(text):
    values = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export "):].strip()
        try:
            words = shlex.split(raw, comments=True)
        except ValueError:
            continue
        values[key] = " ".join(words)
    return values


class Config(dict):
    def number(self, key):
        return float(self[key])


def _read(path, config):
    try:
        with open(path, encoding="utf-8") as f:
            config.update(parse(f.read()))
    except FileNotFoundError:
        pass


def load(path=None, variant=None):
    config = Config(DEFAULTS)
    _read(path or os.environ.get("SNF_IMAGE_CONFIG") or PATH, config)
    variant = variant if variant is not None else os.environ.get("OS_VARIANT", "")
    if variant and variant != "default":
        if "/" in variant or variant.startswith("."):
            raise ImageError("invalid OS variant %r" % variant[:40])
        _read(os.path.join(os.environ.get("SNF_IMAGE_VARIANTS_DIR", VARIANTS_DIR),
                           variant + ".conf"), config)
    return config
