"""The real-image deployment test_image_kvm_e2e.py and test_burnin_e2e.py stand on.

ci/kvm-guest.sh up gives the test cluster kvm beside fake, kvm-vif-bridge and nfdhcpd on the
routed public network; ci/snf-image.sh up installs this tree's OS provider as
snf-image-<prefix> (its helper VM and the bookworm test images cached under
/var/cache/synnefo-ci/snf-image/). The real pipeline runs: snf-ganeti-eventd, the hook,
snf-progress-monitor (started by the provider) -> RabbitMQ -> snf-dispatcher -> the
PostgreSQL test database. conftest.py makes image_cloud a fixture.
"""

import contextlib
import json
import os
import subprocess
from pathlib import Path

from django.db import connection

from support.cluster import add_cluster_backend, env, run_prefix
from support.live import VENV_BIN, delete_queues, pipeline_on_test_db
from synnefo.backend.client import client_for
from synnefo.common.amqp_client import AMQPClient, Topology
from synnefo.db import models as m

TOP = Path(__file__).resolve().parents[3]
CI = TOP / "ci"
PREFIX = run_prefix("snfimg")
HOOK_NAME = "90-%shook" % PREFIX.rstrip("-")
NS = os.environ.get("SNF_TEST_GANETI_NETNS", "gnt")
LINK = os.environ.get("SNF_TEST_KVM_LINK", "104")
SUBNET = os.environ.get("SNF_TEST_KVM_SUBNET", "10.251.104.0/24")
SUBNET6 = os.environ.get("SNF_TEST_KVM_SUBNET6", "fd51:251:104::/64")  # as ci/kvm-guest.sh's
OS_NAME = "snf-image-" + PREFIX.rstrip("-")  # this run's provider (ci/snf-image.sh)
CONF = Path("/run/ganeti-test/snf-image/%s.conf" % OS_NAME)
NFDHCPD_LOG = Path("/run/ganeti-test/kvm/log/nfdhcpd.log")  # ci/kvm-guest.sh's nfdhcpd
# Waits, not thresholds: a first boot under TCG takes ~20 s alone, longer beside another.
BUILD_TIMEOUT = 300
SSH_TIMEOUT = 240


def network_state():
    """What a failed network step needs looked at: netns gnt's IPv6 routing, neighbours
    and NFQUEUE rules, and nfdhcpd's last lines."""
    out = []
    for cmd in (["ip", "-n", NS, "-6", "addr"], ["ip", "-n", NS, "-6", "rule"],
                ["ip", "-n", NS, "-6", "route", "show", "table", LINK],
                ["ip", "-n", NS, "-6", "neigh"],
                ["ip", "netns", "exec", NS, "ip6tables", "-t", "mangle", "-S"]):
        res = subprocess.run(cmd, capture_output=True, text=True)
        out.append("$ %s\n%s%s" % (" ".join(cmd), res.stdout, res.stderr))
    try:
        out.append("--- nfdhcpd (tail)\n" + NFDHCPD_LOG.read_text()[-4000:])
    except OSError as exc:
        out.append("--- nfdhcpd: %s" % exc)
    return "\n".join(out)


def run(*cmd, timeout=600):
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert res.returncode == 0, "%s exited %d\n%s%s" % (" ".join(map(str, cmd)),
                                                        res.returncode, res.stdout, res.stderr)
    return res.stdout


@contextlib.contextmanager
def image_cloud(tmp_path, settings):
    """The deployment both image tests stand on (see the module docstring); yields the
    pipeline and a progress watcher."""
    settings.BACKEND_PREFIX_ID = PREFIX
    settings.GANETI_OS = OS_NAME + "+default"
    settings.GANETI_NETWORK_GROUPS = ["default"]
    settings.GANETI_CLUSTER_INFO = ()
    # Boot from the instance's disk (the cluster's kernel_path is the busybox guest's);
    # a smaller TCG code buffer halves qemu's memory.
    settings.GANETI_CREATEINSTANCE_KWARGS = {"hvparams": {
        "kernel_path": "", "initrd_path": "", "kvm_extra": "-accel tcg,tb-size=64"}}
    run(CI / "kvm-guest.sh", "up")
    run(CI / "snf-image.sh", "up", OS_NAME)
    workdir = tmp_path / "pipeline"
    workdir.mkdir()
    p = pipeline_on_test_db(str(workdir), PREFIX, HOOK_NAME, connection.settings_dict["NAME"])
    # snf-image runs the progress monitor with this deployment's settings
    CONF.write_text(CONF.read_text() + "PROGRESS_MONITOR=env SYNNEFO_SETTINGS_DIR=%s %s\n"
                    % (p.conf_dir, os.path.join(VENV_BIN, "snf-progress-monitor")))
    client = client_for(add_cluster_backend(tmp_path, "kvm"))
    watcher = progress_watcher()
    p.install_hook()
    try:
        remove_instances(client)
        p.start_eventd()
        p.start_dispatcher()
        yield p, watcher
    finally:
        try:
            remove_instances(client)
            watcher.close()
            p.stop_all()
            p.remove_hook()
            delete_queues(PREFIX, env("SNF_TEST_AMQP_URL"))
        finally:
            run(CI / "snf-image.sh", "down", OS_NAME)
            run(CI / "kvm-guest.sh", "down")


def remove_instances(client):
    """Ours, stopped hard first (the test image has no ACPI power-button handling, so a
    soft shutdown would wait for Ganeti's 120 s timeout)."""
    for inst in client.get_instances(bulk=True):
        if inst["name"].startswith(PREFIX):
            client.wait_for_job(client.shutdown_instance(inst["name"], timeout=0))
            client.wait_for_job(client.delete_instance(inst["name"]))


def progress_watcher():
    """A queue of our own bound to the progress key: every message, in publishing order."""
    topo = Topology(PREFIX)
    amqp = AMQPClient([env("SNF_TEST_AMQP_URL")]).connect()
    amqp.declare_topology(topo)
    queue = PREFIX + "test-progress-watch"
    amqp.channel.queue_declare(queue, durable=False, exclusive=True, auto_delete=True)
    amqp.bind_queue(queue, topo.exchange, topo.routing_keys["progress"])
    amqp.seen = []

    def got(delivery):
        amqp.seen.append(json.loads(delivery.body))
        delivery.ack()

    amqp.consume(queue, got)
    return amqp


def make_image(name, backend_id, fmt):
    image = m.Image.objects.create(name=name, backend_id=backend_id, format=fmt, public=True)
    for key, value in (("OSFAMILY", "linux"), ("USERS", "root")):
        m.ImageMetadata.objects.create(image=image, meta_key=key, meta_value=value)
    return image
