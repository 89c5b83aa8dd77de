"""Writing images onto a disk: formats recognised, sizes, checksums, wiping on failure."""

import hashlib
import json
import os
import struct

import pytest

from synnefo.snf_image import config, disk, progress, source
from synnefo.snf_image.errors import ImageError

MiB = 1 << 20


def diskdump(size=3 * MiB):
    data = bytearray(size)
    data[510:512] = b"\x55\xaa"
    data[MiB:MiB + 5] = b"hello"
    return bytes(data)


def extdump(size=2 * MiB):
    data = bytearray(size)
    data[510:512] = b"\x55\xaa"      # extlinux's boot sector
    data[1080:1082] = b"\x53\xef"
    data[4096:4100] = b"ext!"
    return bytes(data)


def deploy(target, image, fmt, checksum="", tmp_path=None):
    d = tmp_path / "images"
    d.mkdir(exist_ok=True)
    (d / "img").write_bytes(image)
    t = disk.Target(str(target), disk.PART_START * disk.SECTOR if fmt == "extdump" else 0)
    copy = disk.Copy(t, fmt, checksum)
    try:
        source.from_file(source.image_path(str(d), "img"), copy)
    except ImageError:
        t.wipe()
        raise
    finally:
        t.close()
    return copy


def test_diskdump_lands_at_the_start(target, tmp_path):
    image = diskdump()
    copy = deploy(target, image, "diskdump", hashlib.sha256(image).hexdigest(), tmp_path)
    data = target.read_bytes()
    assert data[:len(image)] == image and copy.done == len(image)
    assert len(data) == 8 * MiB
    # zero chunks were skipped, not written: the file stays sparse
    assert os.stat(target).st_blocks * 512 < 3 * MiB


def test_extdump_gets_a_partition_table(target, tmp_path):
    image = extdump()
    deploy(target, image, "extdump", tmp_path=tmp_path)
    data = target.read_bytes()
    assert data[510:512] == b"\x55\xaa"
    status, ptype, start, count = struct.unpack("<B3xB3xII", data[446:462])
    assert (status, ptype, start, count) == (0x80, 0x83, 2048, 8 * MiB // 512 - 2048)
    assert data[MiB:MiB + len(image)] == image


@pytest.mark.parametrize("fmt,image,message", [
    ("diskdump", extdump(), "not a whole disk"),
    ("diskdump", bytes(3 * MiB), "no partition table"),
    ("extdump", diskdump(), "not an ext2/3/4"),
    ("diskdump", b"\x55" * 100, "too small"),
    ("diskdump", diskdump(9 * MiB), "larger than the disk"),
], ids=["ext-as-diskdump", "zeros-as-diskdump", "disk-as-extdump", "tiny", "too-large"])
def test_wrong_images_are_refused_and_nothing_stays(target, tmp_path, fmt, image, message):
    with pytest.raises(ImageError, match=message):
        deploy(target, image, fmt, tmp_path=tmp_path)
    assert target.read_bytes() == bytes(8 * MiB)


def test_checksum_mismatch_wipes_the_disk(target, tmp_path):
    with pytest.raises(ImageError, match="checksum mismatch") as e:
        deploy(target, diskdump(), "diskdump", "0" * 64, tmp_path)
    assert e.value.code == 400
    assert target.read_bytes() == bytes(8 * MiB)


def test_missing_image(tmp_path):
    with pytest.raises(ImageError, match="not found") as e:
        source.image_path(str(tmp_path), "nothere.img")
    assert e.value.code == 404


def test_wipe_of_a_device_like_target_writes_zeros(tmp_path):
    path = tmp_path / "dev"
    path.write_bytes(b"\xff" * (2 * MiB))
    t = disk.Target(str(path))
    t.fresh_file = False            # as for a block device: old data is not zero
    t.write(b"\x01" * 1000)
    t.wipe()
    t.close()
    data = path.read_bytes()
    assert data[:1000] == bytes(1000) and data[1000:] == b"\xff" * (2 * MiB - 1000)


def test_progress_lines_rise_to_100(tmp_path, target):
    out = tmp_path / "progress.jsonl"
    image = diskdump(5 * MiB)

    def factory(total):
        return progress.Progress("sh -c 'cat > %s'" % out, total, interval=0)

    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "img").write_bytes(image)
    t = disk.Target(str(target))
    copy = disk.Copy(t, "diskdump", "", factory)
    source.from_file(str(tmp_path / "images" / "img"), copy)
    copy.progress.close()
    t.close()
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    values = [m["progress"] for m in lines]
    assert values == sorted(set(values)) and values[-1] == 100 and len(values) >= 2
    assert {m["type"] for m in lines} == {"image-copy-progress"}
    assert lines[-1]["bytes"] == lines[-1]["total"] == len(image)


def test_config_parse(tmp_path):
    f = tmp_path / "snf-image"
    f.write_text('# comment\nIMAGE_DIR="/srv/images"\nexport HELPER_ACCEL=\'tcg\'\nbogus\n')
    c = config.load(str(f))
    assert (c["IMAGE_DIR"], c["HELPER_ACCEL"], c["HELPER_MEMORY"]) == ("/srv/images", "tcg", "256")


def test_variant_settings_override_the_defaults(tmp_path, monkeypatch):
    (tmp_path / "default").write_text("IMAGE_DIR=/srv/images\nHELPER_MEMORY=512\n")
    (tmp_path / "big.conf").write_text("IMAGE_DIR=/srv/big-images\n")
    monkeypatch.setenv("SNF_IMAGE_VARIANTS_DIR", str(tmp_path))
    c = config.load(str(tmp_path / "default"), "big")
    assert (c["IMAGE_DIR"], c["HELPER_MEMORY"]) == ("/srv/big-images", "512")
    assert config.load(str(tmp_path / "default"), "default")["IMAGE_DIR"] == "/srv/images"
    assert config.load(str(tmp_path / "default"), "none")["IMAGE_DIR"] == "/srv/images"

