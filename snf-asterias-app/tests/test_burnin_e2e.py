"""snf-burnin passes against the test deployment, on the real bookworm image.

The deployment is the image_cloud fixture's (support/image_cloud.py, as for
test_image_kvm_e2e.py: kvm beside fake, nfdhcpd on the routed public network, this
tree's snf-image, eventd + hook + dispatcher on the PostgreSQL test database), plus what
an operator's burnin talks to: the web project under gunicorn and the real
snf-vncauthproxy, both on the host's address of the cluster's link (10.251.0.1), since
burnin runs inside netns gnt, where the guests' public addresses are routed. Burnin
itself is only a client: clouds.yaml with a user's password, one public image, one
flavor, one server.

The private-network case runs too: two servers on the public network and a private one
(PRIVATE_MAC_FILTERED, on a bridge this test makes in netns gnt), their private NICs
brought up over SSH, one reaching the other over it.

The public network has an IPv6 subnet too: the guests configure their address from
nfdhcpd's router advertisements (SLAAC, systemd-networkd), the API shows it (the EUI-64 of
the NIC's MAC, as the hook reported), and burnin pings it and logs in over SSH to it.

Every step must pass. The run's JUnit report goes to $SNF_TEST_REPORTS (set by
ci/test.sh) as snf-burnin.xml, so burnin's steps count in make test's TOTAL line.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from support.api import make_user
from support.image_cloud import (
    BUILD_TIMEOUT,
    LINK,
    NFDHCPD_LOG,
    NS,
    OS_NAME,
    PREFIX,
    SSH_TIMEOUT,
    SUBNET,
    SUBNET6,
    make_image,
    network_state,
)
from support.live import (
    VENV_BIN,
    Gunicorn,
    copy_test_settings,
    stop_process,
    wait_for,
    write_clouds_yaml,
)

from synnefo.db import models as m

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.database("postgresql")]

HOST = "10.251.0.1"  # the host's end of the link to netns gnt (ci/ganeti.sh)
PRIVATE_BRIDGE = "burninprv0"  # the private networks' bridge on the node (netns gnt)
PASSWORD = "burnin-pass-1"


def start_proxy(tmp):
    """snf-vncauthproxy in the foreground, listening on HOST; -> (process, socket)."""
    conf = tmp / "proxy-etc"
    conf.mkdir()
    sock = str(tmp / "proxy.sock")
    low = 33000 + (os.getpid() % 100) * 100
    settings = {"VNCAUTHPROXY_CONTROL": "unix:" + sock, "VNCAUTHPROXY_LISTEN_ADDRESSES": [HOST],
                "VNCAUTHPROXY_PORT_RANGE": (low, low + 99), "VNCAUTHPROXY_CONNECT_TIMEOUT": 60,
                "VNCAUTHPROXY_PID_FILE": str(tmp / "proxy.pid"), "VNCAUTHPROXY_USER": None,
                "LOG_DIR": str(tmp)}
    (conf / "50-test.conf").write_text("".join("%s = %r\n" % i for i in settings.items()))
    proc = subprocess.Popen([sys.executable, "-m", "synnefo.vncauthproxy.daemon", "-d"],
                            env=dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf)),
                            stdout=open(tmp / "proxy.out", "ab"), stderr=subprocess.STDOUT)
    wait_for("the console proxy's socket", lambda: os.path.exists(sock) or proc.poll())
    assert proc.poll() is None, (tmp / "proxy.out").read_text()
    return proc, sock


@pytest.fixture
def deployment(request, tmp_path):
    """image_cloud, plus gunicorn on its test database with its settings and the console
    proxy."""
    request.getfixturevalue("image_cloud")
    settings = request.getfixturevalue("settings")
    settings.PRIVATE_MAC_FILTERED_BRIDGE = PRIVATE_BRIDGE
    subprocess.run(["ip", "-n", NS, "link", "del", PRIVATE_BRIDGE], capture_output=True)
    subprocess.run(["ip", "-n", NS, "link", "add", PRIVATE_BRIDGE, "type", "bridge"], check=True)
    subprocess.run(["ip", "-n", NS, "link", "set", PRIVATE_BRIDGE, "up"], check=True)
    request.addfinalizer(lambda: subprocess.run(["ip", "-n", NS, "link", "del", PRIVATE_BRIDGE],
                                                check=True))
    proxy, sock = start_proxy(tmp_path)
    kwargs = {"hvparams": {"kernel_path": "", "initrd_path": "",
                           "kvm_extra": "-accel tcg,tb-size=64"}}
    conf = copy_test_settings(tmp_path, "".join("%s = %r\n" % item for item in {
        "BACKEND_PREFIX_ID": PREFIX, "GANETI_OS": OS_NAME + "+default",
        "GANETI_NETWORK_GROUPS": ["default"], "GANETI_CLUSTER_INFO": (),
        "GANETI_CREATEINSTANCE_KWARGS": kwargs,
        # the test image ignores ACPI power-off: Ganeti forces it off after this
        "GANETI_SHUTDOWN_TIMEOUT": 5,
        "CONSOLE_PROXY_CONTROL": "unix:" + sock, "CONSOLE_PROXY_HOST": HOST,
        "PRIVATE_MAC_FILTERED_BRIDGE": PRIVATE_BRIDGE}.items()))
    environ = dict(os.environ, SYNNEFO_SETTINGS_DIR=conf, SNF_TEST_DB="postgresql",
                   SNF_TEST_PG_NAME=connection.settings_dict["NAME"],
                   DJANGO_SETTINGS_MODULE="synnefo.webproject.settings")
    gunicorn = Gunicorn("synnefo.webproject.wsgi:application", environ,
                        str(tmp_path / "gunicorn.log"), host=HOST)
    try:
        yield gunicorn
    finally:
        gunicorn.stop()
        stop_process(proxy)


def burnin(tmp_path, *args):
    """snf-burnin inside netns gnt, as an operator would run it; -> CompletedProcess."""
    return subprocess.run(["ip", "netns", "exec", NS, os.path.join(VENV_BIN, "snf-burnin"),
                           "--os-cloud", "asterias", "--clouds-yaml",
                           str(tmp_path / "clouds.yaml")] + list(args),
                          capture_output=True, text=True, timeout=1800)


def test_burnin_passes_on_the_test_deployment(deployment, tmp_path):
    call_command("network-create", "public", "--public", "--subnet", SUBNET,
                 "--subnet6", SUBNET6, "--link", LINK, stdout=open(os.devnull, "w"))
    make_user("burnin", password=PASSWORD)
    write_clouds_yaml(tmp_path / "clouds.yaml", deployment.base, "burnin", PASSWORD)
    m.Flavor.objects.create(cpu=1, ram=512, disk=2, disk_template="file")
    make_image("bookworm", "bookworm.diskdump", "diskdump")

    reports = Path(os.environ.get("SNF_TEST_REPORTS") or tmp_path)
    junit, report = reports / "snf-burnin.xml", tmp_path / "burnin.json"
    res = burnin(tmp_path, "--junit", str(junit), "--json", str(report),
                 "--build-timeout", str(BUILD_TIMEOUT), "--ssh-timeout", str(SSH_TIMEOUT),
                 "--action-timeout", "240", "--query-interval", "1", "--fanout", "2")
    out = "%s%s\n--- gunicorn (tail)\n%s\n%s" % (
        res.stdout, res.stderr, Path(deployment.log_path).read_text()[-3000:],
        network_state())
    assert report.exists(), out
    steps = {r["step"]: r for r in json.loads(report.read_text())["results"]}
    not_passed = {k: v for k, v in steps.items() if v["status"] != "passed"}
    assert not not_passed, out
    assert {"metadata set and read", "console (RFB 3.8, VNC auth)", "ping IPv4",
            "SSH with the key, hostname", "ping IPv6", "SSH over IPv6", "shutdown", "start",
            "gone",
            "two servers on it ACTIVE", "private NICs up (over SSH)",
            "A reaches B over the private network",
            "servers and network deleted"} <= set(steps), out
    # the IPv6 prefix reached the guests in nfdhcpd's router advertisements
    assert "-> RA %s" % SUBNET6 in NFDHCPD_LOG.read_text(), out
    # the private network's servers were on the bridge, with their Ganeti addresses
    assert not m.Network.objects.filter(public=False, deleted=False).exists(), out
    assert res.returncode == 0, out
    print(res.stderr)

    stale = burnin(tmp_path, "--show-stale")
    assert stale.returncode == 0 and stale.stdout == "", stale.stdout + stale.stderr
