"""The OS API scripts: the plan image properties give, the helper's job, failures
reported as the last line Ganeti shows, the OS definition files."""

import io
import json
import os
import pathlib
import subprocess
import sys
import tarfile

import pytest

from synnefo.snf_image import helper, params, provider
from synnefo.snf_image.errors import MARK, ImageError

OS_DIR = pathlib.Path(__file__).resolve().parents[1] / "os"
MiB = 1 << 20


def p(fmt="diskdump", password="pw", **props):
    files = [params.PersonalityFile("/root/.ssh/authorized_keys", b"ssh-ed25519 AAA k\n", 0o600),
             params.PersonalityFile("/etc/motd", b"hello\n", 0o640, "root", "adm")]
    return params.Params("img", fmt, props, files, b"#cloud-config\n", "", password)


@pytest.fixture(autouse=True)
def no_openssl(monkeypatch):
    monkeypatch.setattr(helper, "password_hash", lambda pw: "$6$salt$hash")


def test_linux_gets_every_task():
    job, warnings = provider.plan(p(), "snf-12")
    assert job.tasks == ["hostname", "password", "files", "nocloud"] and not warnings
    assert job.env["GUEST_HOSTNAME"] == "snf-12" and job.env["PASSWORD_USERS"] == "root"
    assert job.env["EXTDUMP"] == "no" and job.env["ROOT_PARTITION"] == "1"


def test_extdump_always_resizes_and_installs_a_boot_loader():
    job, _ = provider.plan(p("extdump", EXCLUDE_ALL_TASKS="yes", ROOT_PARTITION="3"), "snf-1")
    assert job.tasks == ["resize+bootloader"] and job.env["ROOT_PARTITION"] == "1"


@pytest.mark.parametrize("props,tasks,paths", [
    ({"PASSWORD": "no"}, ["hostname", "files", "nocloud"], 2),
    ({"EXCLUDE_TASK_CHANGEPASSWORD": "yes"}, ["hostname", "files", "nocloud"], 2),
    ({"SSH": "no"}, ["hostname", "password", "files", "nocloud"], 1),
    ({"PERSONALITY": "no"}, ["hostname", "password", "files", "nocloud"], 1),
    ({"PERSONALITY": "no", "SSH": "no", "CLOUDINIT": "no", "HOSTNAME": "no"}, ["password"], 0),
    ({"USERS": "root user"}, ["hostname", "password", "files", "nocloud"], 2),
])
def test_image_properties_switch_tasks_off(props, tasks, paths):
    job, _ = provider.plan(p(**props), "snf-1")
    assert job.tasks == tasks and len(job.files) == paths
    if props == {"SSH": "no"}:
        assert [f.path for f in job.files] == ["/etc/motd"]
    if props.get("PERSONALITY") == "no" and props.get("SSH") != "no":
        assert [f.path for f in job.files] == ["/root/.ssh/authorized_keys"]
    if "USERS" in props:
        assert job.env["PASSWORD_USERS"] == "root user"


def test_opted_out_and_other_families_need_no_helper():
    assert provider.plan(p(EXCLUDE_ALL_TASKS="yes"), "snf-1") == (None, [])
    job, warnings = provider.plan(p(OSFAMILY="windows"), "snf-1")
    assert job is None and warnings == ["no customisation for OSFAMILY=windows"]
    with pytest.raises(ImageError, match="extdump"):
        provider.plan(p("extdump", OSFAMILY="windows"), "snf-1")
    with pytest.raises(ImageError, match="ROOT_PARTITION"):
        provider.plan(p(ROOT_PARTITION="x"), "snf-1")
    with pytest.raises(ImageError, match="USERS"):
        provider.plan(p(USERS="root ;rm"), "snf-1")


def test_hostname_from_the_instance_name():
    assert provider.hostname_for("snf-12.example.org") == "snf-12"
    assert provider.hostname_for("Snf_3") == "snf-3"


def test_job_tar_holds_the_script_and_files_not_the_password():
    job, _ = provider.plan(p(password="very-secret-pw"), "snf-7")
    data = job.tar()
    assert len(data) % 512 == 0 and b"very-secret-pw" not in data
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        names = tar.getnames()
        read = {n: tar.extractfile(n).read() for n in names}
    assert {"run.sh", "job.env", "shadow-hash", "files.list", "files/0", "files/1",
            "user-data"} <= set(names)
    assert read["shadow-hash"] == b"$6$salt$hash"
    assert read["files.list"] == (b"0 600 root root /root/.ssh/authorized_keys\n"
                                  b"1 640 root adm /etc/motd\n")
    assert b"GUEST_HOSTNAME=snf-7\n" in read["job.env"]


def test_helper_output_parsing():
    out = "noise\n\x1b[2JHELPER-WARNING: no user x\r\nHELPER-ERROR: cannot mount\nHELPER-RC: 1\n"
    assert helper.parse(out) == (1, ["cannot mount"], ["no user x"])
    assert helper.parse("booting...") == (None, [], [])


def test_missing_helper_is_a_node_error(tmp_path):
    with pytest.raises(ImageError, match="snf-image-update-helper") as e:
        helper.files(str(tmp_path))
    assert e.value.code == 500


def test_password_hash_is_sha512_crypt(monkeypatch):
    monkeypatch.undo()
    h = helper.password_hash("a password")
    assert h.startswith("$6$") and "a password" not in h
    check = subprocess.run(["openssl", "passwd", "-6", "-salt", h.split("$")[2], "-stdin"],
                           input=b"a password\n", capture_output=True, check=True)
    assert check.stdout.decode().strip() == h


def run_script(action, env):
    """The provider as Ganeti runs it: a clean environment and the action name."""
    full = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "OS_API_VERSION": "20"}
    full.update(env)
    return subprocess.run([sys.executable, "-I", "-m", "synnefo.snf_image.provider", action],
                          env=full, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def node(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    conf = tmp_path / "snf-image.conf"
    conf.write_text("IMAGE_DIR=%s\nHELPER_DIR=%s\n" % (images, tmp_path / "nohelper"))
    disk = tmp_path / "disk0"
    disk.write_bytes(b"")
    os.truncate(disk, 8 * MiB)
    return {"images": images, "disk": disk,
            "env": {"SNF_IMAGE_CONFIG": str(conf), "INSTANCE_NAME": "snf-5", "DISK_COUNT": "1",
                    "DISK_0_PATH": str(disk), "OSP_IMG_FORMAT": "diskdump",
                    "OSP_IMG_ID": "test.img", "OSP_IMG_PASSWD": "pw-not-in-logs"}}


def test_create_without_customisation(node):
    image = bytearray(2 * MiB)
    image[510:512] = b"\x55\xaa"
    (node["images"] / "test.img").write_bytes(bytes(image))
    node["env"]["OSP_IMG_PROPERTIES"] = json.dumps({"EXCLUDE_ALL_TASKS": "yes"})
    proc = run_script("create", node["env"])
    assert proc.returncode == 0, proc.stderr
    assert node["disk"].read_bytes()[:2 * MiB] == bytes(image)
    assert "pw-not-in-logs" not in proc.stderr + proc.stdout


@pytest.mark.parametrize("change,message,code", [
    ({"OSP_IMG_FORMAT": "ntfsdump"}, "unsupported image format 'ntfsdump'", 400),
    ({"OSP_IMG_ID": "missing.img"}, "image 'missing.img' not found on the node", 404),
    ({"OSP_IMG_ID": "../x"}, "invalid image name", 400),
    ({"OSP_IMG_CHECKSUM": "sha256:" + "0" * 64}, "image checksum mismatch", 400),
    ({}, "the node has no helper VM", 500),
])
def test_create_failures_end_with_the_marked_line(node, change, message, code):
    image = bytearray(2 * MiB)
    image[510:512] = b"\x55\xaa"
    (node["images"] / "test.img").write_bytes(bytes(image))
    node["env"].update(change)
    proc = run_script("create", node["env"])
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("%s [%d] %s" % (MARK, code, message)), proc.stderr
    assert node["disk"].read_bytes() == bytes(8 * MiB)      # nothing half-written
    assert "pw-not-in-logs" not in proc.stderr


def test_verify_import_export_rename(node, tmp_path):
    assert run_script("verify", {"OSP_IMG_FORMAT": "diskdump"}).returncode == 0
    bad = run_script("verify", {"OSP_IMG_PERSONALITY": "[{\"path\": \"rel\"}]"})
    assert bad.returncode == 1 and "invalid personality path" in bad.stderr
    env = {"EXPORT_DEVICE": str(node["disk"])}
    node["disk"].write_bytes(b"x" * 4096)
    out = subprocess.run([sys.executable, "-I", "-m", "synnefo.snf_image.provider", "export"],
                         env=env, capture_output=True, check=True)
    assert out.stdout == b"x" * 4096
    target = tmp_path / "imported"
    target.write_bytes(bytes(4096))
    subprocess.run([sys.executable, "-I", "-m", "synnefo.snf_image.provider", "import"],
                   env={"IMPORT_DEVICE": str(target)}, input=b"y" * 4096, check=True)
    assert target.read_bytes() == b"y" * 4096
    assert run_script("rename", {"OLD_INSTANCE_NAME": "a", "INSTANCE_NAME": "b"}).returncode == 0
    assert run_script("destroy", {}).returncode == 2


def test_os_definition_files():
    assert (OS_DIR / "ganeti_api_version").read_text().split() == ["20"]
    assert (OS_DIR / "variants.list").read_text().split() == ["default"]
    listed = [line.split(" ", 1) for line in (OS_DIR / "parameters.list").read_text().splitlines()]
    assert dict(listed) == params.PARAMETERS
    assert os.access(OS_DIR / "create", os.X_OK)
    assert set(provider.ACTIONS) == {"create", "import", "export", "rename", "verify"}


def test_the_fault_line_is_what_the_dispatcher_reads():
    from synnefo.common import protocol  # snf-common, beside snf-image on the nodes
    assert MARK == protocol.OS_FAULT_MARK
    line = ImageError("image 'x' not found on the node", 404).line()
    assert protocol.os_fault("Ganeti: last lines:\n" + line) == (
        404, "image 'x' not found on the node")
