"""Real images into real VMs: API -> Ganeti kvm (TCG) -> snf-image -> a guest users log into.

ci/kvm-guest.sh up gives the cluster kvm beside fake, kvm-vif-bridge and nfdhcpd on the
routed public network (see test_kvm_vm_e2e.py); ci/snf-image.sh up installs this tree's
OS provider as snf-image-<prefix> (its helper VM and the bookworm test images cached under
/var/cache/synnefo-ci/snf-image/). The real pipeline runs: snf-ganeti-eventd, the hook,
snf-progress-monitor (started by the provider) -> RabbitMQ -> snf-dispatcher -> PostgreSQL.

Two servers are created at once through the compute API, one from the diskdump image (a
file under the node's IMAGE_DIR) and one from the extdump image (registered with
image-register; the node fetches it from this API over http through a signed link, checked
against its sha256), each with a keypair, an admin password and a personality file.
Each boots from its own disk (no kernel_path), gets its address from nfdhcpd, and over
SSH with the keypair's private key shows the hostname snf-image gave it, the file with
its contents and mode, and accepts the admin password (and refuses a wrong one). The
copy's progress messages reach RabbitMQ in order up to 100. A third server from an image
in the wrong format fails with the provider's message and code as its API fault.
"""

import base64
import contextlib
import glob
import json
import os
import re
import subprocess
import threading
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.wsgi import get_wsgi_application
from django.db import connections
from support.api import make_user
from support.image_cloud import (
    BUILD_TIMEOUT,
    LINK,
    NS,
    OS_NAME,
    SSH_TIMEOUT,
    SUBNET,
    make_image,
    run,
)
from support.live import VENV_BIN, wait_for

from synnefo.backend.client import client_for
from synnefo.db import models as m

# The dispatcher is a separate process: it needs a database server.
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.database("postgresql")]

# ci/snf-image.sh's test images; the API's image store for the image nodes fetch over http
IMAGES = Path(os.environ.get("SNF_TEST_IMAGE_CACHE", "/var/cache/synnefo-ci/snf-image")) / "images"
HOST_IP = "10.251.0.1"  # the host's end of the cluster's veth (ci/ganeti.sh)
FILE_PATH = "/etc/snf-test/hello.txt"


def progress_of(watcher, instance):
    while watcher.drain(timeout=1):
        pass
    return [msg["progress"] for msg in watcher.seen if msg.get("instance") == instance]


@contextlib.contextmanager
def api_for_nodes():
    """This process's API over http where the nodes reach it (the host's end of the
    cluster's veth): they fetch the signed image links from it."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    httpd = make_server(HOST_IP, 0, get_wsgi_application(), handler_class=Quiet)
    httpd.timeout = 0.5
    stop = threading.Event()

    def serve():
        try:
            while not stop.is_set():
                httpd.handle_request()
        finally:
            connections.close_all()  # the test database is dropped at the end

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield "http://%s:%d" % (HOST_IP, httpd.server_port)
    finally:
        stop.set()
        thread.join(10)
        httpd.server_close()


def create(api, image, flavor, key_name, password, contents):
    r = api.post("/compute/v2.1/servers", {"server": {
        "name": "img-" + image.format, "imageRef": str(image.id), "flavorRef": str(flavor.id),
        "key_name": key_name, "adminPass": password,
        "personality": [{"path": FILE_PATH, "contents": base64.b64encode(contents).decode(),
                         "mode": 0o640}]}})
    assert r.status_code == 202, r.content
    return int(r.json()["server"]["id"])


def server(api, vm_id):
    return api.get("/compute/v2.1/servers/%d" % vm_id).json()["server"]


def test_images_boot_customised_and_reachable(image_cloud, tmp_path, settings):
    pipeline, watcher = image_cloud
    settings.IMAGE_STORE_DIR = str(IMAGES)  # (image-register leaves files there in place)
    settings.IMAGE_NODES_FETCH_FROM_API = True
    settings.ALLOWED_HOSTS = list(settings.ALLOWED_HOSTS) + [HOST_IP]
    with api_for_nodes() as base_url:
        settings.IMAGE_LINK_BASE_URL = base_url
        boot_and_check(pipeline, watcher, tmp_path)


def boot_and_check(pipeline, watcher, tmp_path):
    call_command("network-create", "public", "--public", "--subnet", SUBNET, "--link", LINK,
                 stdout=open(os.devnull, "w"))
    _, api = make_user("imguser")
    key = tmp_path / "id_ed25519"
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key))
    r = api.post("/compute/v2.1/os-keypairs", {"keypair": {
        "name": "mykey", "public_key": (tmp_path / "id_ed25519.pub").read_text()}})
    assert r.status_code in (200, 201), r.content
    flavor = m.Flavor.objects.create(cpu=1, ram=512, disk=2, disk_template="file")
    # diskdump: a file the node has under IMAGE_DIR; extdump: data of the API's image
    # service (registered, sha256 known) that the node fetches through a signed link
    images = {"diskdump": make_image("bookworm diskdump", "bookworm.diskdump", "diskdump")}
    call_command("image-register", "bookworm extdump", str(IMAGES / "bookworm.extdump"),
                 "--format", "extdump", "--public", "--property", "OSFAMILY=linux",
                 "--property", "USERS=root", stdout=open(os.devnull, "w"))
    images["extdump"] = m.Image.objects.get(name="bookworm extdump")
    assert images["extdump"].checksum
    wrong = make_image("wrong format", "bookworm.extdump", "diskdump")

    servers, posted = {}, {}
    for fmt, image in images.items():
        password, contents = "pw-%s-%s" % (fmt, os.getpid()), ("hello %s\n" % fmt).encode()
        posted[fmt] = time.time()
        servers[fmt] = (create(api, image, flavor, "mykey", password, contents),
                        password, contents)
    bad = create(api, wrong, flavor, "mykey", "pw-wrong", b"x")

    ssh = {}
    try:
        check_servers(api, pipeline, watcher, servers, bad, posted, key, ssh)
        # the extdump server's image came from the API, checksum verified by the node
        log = ganeti_os_log(m.VirtualMachine.objects.get(pk=servers["extdump"][0]))
        assert "image http://%s:" % HOST_IP in log and "/image/node/" in log, log
        assert "/<signature> onto" in log, log  # the link's signature is not logged
    finally:
        for proc in ssh.values():  # still polling when a check failed
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def check_servers(api, pipeline, watcher, servers, bad, posted, key, ssh):
    seen = {}  # server -> the API's progress values, as polled

    def finished(vm_id):
        s = server(api, vm_id)
        if "progress" in s:  # as in Nova: shown while building and once ACTIVE, not in ERROR
            seen.setdefault(vm_id, []).append(s["progress"])
        return s if s["status"] in ("ACTIVE", "ERROR") else None

    # each guest is polled over SSH as soon as the API says ACTIVE (both boot at once)
    for fmt, (vm_id, password, _) in servers.items():
        s = wait_for("the %s server to build" % fmt, lambda: finished(vm_id),
                     BUILD_TIMEOUT, 0.5, pipeline.logs)
        assert s["status"] == "ACTIVE", s.get("fault")
        assert s["progress"] == 100
        [ip] = [a["addr"] for a in s["addresses"]["public"] if a["version"] == 4]
        ssh[fmt] = subprocess.Popen(
            ["ip", "netns", "exec", NS, os.path.join(VENV_BIN, "python"),
             str(Path(__file__).parent / "support" / "guest_ssh.py"), ip, str(key), password,
             str(SSH_TIMEOUT), FILE_PATH], stdout=subprocess.PIPE, text=True)

    failed = wait_for("the wrong image's server to fail", lambda: finished(bad),
                      BUILD_TIMEOUT, 1, pipeline.logs)
    assert failed["status"] == "ERROR"
    assert failed["fault"]["code"] == 400, failed["fault"]
    assert failed["fault"]["message"] == ("the image is a single filesystem, not a whole "
                                          "disk, so it is not in diskdump format"), failed["fault"]

    report = {}
    for fmt, (vm_id, password, contents) in servers.items():
        vm = m.VirtualMachine.objects.get(pk=vm_id)
        # snf-progress-monitor -> RabbitMQ: every percent of the copy, in order; the API
        # never showed it going back
        assert progress_of(watcher, vm.backend_vm_id) == list(range(101)), fmt
        assert seen[vm_id] == sorted(seen[vm_id]) and seen[vm_id][-1] == 100, seen[vm_id]
        out, _ = ssh[fmt].communicate(timeout=SSH_TIMEOUT + 60)
        guest = json.loads(out)
        assert "error" not in guest, (fmt, guest)
        assert guest["hostname"] == vm.backend_vm_id
        assert guest["stat"] == "640 root root"
        assert base64.b64decode(guest["contents"]) == contents
        assert guest["password_login"] is True and guest["wrong_password_login"] is False
        report[fmt] = phases(client_for(vm.backend), vm, posted[fmt], guest["ssh_at"])
        print("%s: %s" % (fmt, ", ".join("%s %.1f s" % kv for kv in report[fmt].items())))
    if os.environ.get("SNF_BENCH_BOOT_OUT"):  # bench/boot reads the figures from here
        Path(os.environ["SNF_BENCH_BOOT_OUT"]).write_text(json.dumps(report))


def ganeti_os_log(vm):
    """The provider's output for the create of ``vm`` (Ganeti's OS log)."""
    return Path(sorted(glob.glob("/var/log/ganeti/os/add-%s+default-%s-*.log"
                                 % (OS_NAME, vm.backend_vm_id)))[-1]).read_text()


def phases(client, vm, posted, ssh_at):
    """Seconds per phase of one server, POST /servers -> SSH answering (figures, no checks).

    Ganeti's job timestamps and the OS log's durations share this machine's clock."""
    job = client.get_job_status(vm.backendjobid)

    def ts(pair):
        return pair[0] + pair[1] / 1e6

    text = ganeti_os_log(vm)
    copy = float(re.search(r"copied \d+ bytes in ([\d.]+) s", text).group(1))
    helper = re.search(r"helper VM: .* in ([\d.]+) s", text)
    return {"api+queue": ts(job["start_ts"]) - posted,
            "ganeti job": ts(job["end_ts"]) - ts(job["start_ts"]),
            "image copy": copy, "customisation": float(helper.group(1)) if helper else 0.0,
            "guest boot to ssh": ssh_at - ts(job["end_ts"]), "total": ssh_at - posted}
