"""OS parameters: what the provider accepts and the readable refusals."""

import base64
import json

import pytest

from synnefo.snf_image import params
from synnefo.snf_image.errors import ImageError


def env(**kw):
    base = {"OSP_IMG_ID": "debian.img", "OSP_IMG_FORMAT": "diskdump"}
    base.update({"OSP_" + k.upper(): v for k, v in kw.items()})
    return base


def test_minimal_parameters():
    p = params.from_env(env(img_passwd="s3cret"))
    assert (p.image, p.format, p.properties, p.personality) == ("debian.img", "diskdump", {}, [])
    assert not p.is_url
    assert "s3cret" not in repr(p)  # the password never shows in a repr/log line


@pytest.mark.parametrize("image", ["../etc/passwd", "a/b", "..", ".hidden", "", "x y"])
def test_image_names_outside_the_directory_are_refused(image):
    with pytest.raises(ImageError, match="image"):
        params.from_env(env(img_id=image))


def test_urls_are_accepted():
    p = params.from_env(env(img_id="https://api.example.org/image/v2/images/3/file?sig=x"))
    assert p.is_url


@pytest.mark.parametrize("fmt", ["ntfsdump", "qcow2", "", "DISKDUMP"])
def test_unsupported_formats(fmt):
    with pytest.raises(ImageError, match="unsupported image format"):
        params.from_env(env(img_format=fmt))


def test_properties_are_upper_cased():
    p = params.from_env(env(img_properties=json.dumps({"osfamily": "linux", "Users": "root"})))
    assert p.properties == {"OSFAMILY": "linux", "USERS": "root"}


@pytest.mark.parametrize("value", ["{", "[]", "3"])
def test_bad_properties(value):
    with pytest.raises(ImageError, match="img_properties"):
        params.from_env(env(img_properties=value))


def test_personality_decoded():
    items = [{"path": "/etc/motd", "contents": base64.b64encode(b"hi\n").decode(),
              "mode": 0o640, "owner": "root", "group": "adm"},
             {"path": "/root/x", "contents": "", "mode": "0600"}]
    files = params.from_env(env(img_personality=json.dumps(items))).personality
    assert files[0] == params.PersonalityFile("/etc/motd", b"hi\n", 0o640, "root", "adm")
    assert (files[1].mode, files[1].owner, files[1].group) == (0o600, "root", "root")


@pytest.mark.parametrize("item", [
    {"path": "etc/motd"}, {"path": "/etc/../x"}, {"path": "/a\nb"}, {"path": "/"},
    {"path": "/x", "contents": "***"}, {"path": "/x", "mode": 0o10000},
    {"path": "/x", "owner": "ro ot"}, {"path": "/x", "group": "a;b"}])
def test_bad_personality(item):
    with pytest.raises(ImageError):
        params.from_env(env(img_personality=json.dumps([item])))


def test_user_data_and_checksum():
    digest = "ab" * 32
    p = params.from_env(env(img_user_data=base64.b64encode(b"#cloud-config\n").decode(),
                            img_checksum="sha256:" + digest.upper()))
    assert (p.user_data, p.checksum) == (b"#cloud-config\n", digest)
    with pytest.raises(ImageError, match="img_checksum"):
        params.from_env(env(img_checksum="md5:abc"))
    with pytest.raises(ImageError, match="base64"):
        params.from_env(env(img_user_data="not base64!"))


def test_verify_accepts_a_partial_set_and_refuses_bad_values():
    params.verify({"OSP_IMG_PROPERTIES": "{}"})
    with pytest.raises(ImageError):
        params.verify({"OSP_IMG_FORMAT": "vmdk"})
