"""synnefo.ganeti.hook: message building, never failing."""

import json
import os
import re
import subprocess
import sys

from synnefo.common.protocol import FIREWALL_TAG_KIND, FIREWALL_TAG_PREFIX, firewall_tag
from synnefo.ganeti.hook import net_status_message

ENV = {"GANETI_HOOKS_PHASE": "post", "GANETI_HOOKS_PATH": "instance-start",
       "GANETI_INSTANCE_NAME": "snf-12", "GANETI_OP_CODE": "OP_INSTANCE_STARTUP",
       "GANETI_CLUSTER": "c1", "GANETI_INSTANCE_NIC_COUNT": "2",
       "GANETI_INSTANCE_NIC0_MAC": "aa:00:00:c3:94:8d", "GANETI_INSTANCE_NIC0_IP": "10.0.0.5",
       "GANETI_INSTANCE_NIC0_MODE": "routed", "GANETI_INSTANCE_NIC0_LINK": "snf_public",
       "GANETI_INSTANCE_NIC0_NAME": "snf-nic-31",
       "GANETI_INSTANCE_NIC1_MAC": "aa:00:00:00:00:01", "GANETI_INSTANCE_NIC1_IP": "",
       "GANETI_INSTANCE_NIC1_BRIDGE": "prv1",
       "GANETI_INSTANCE_TAGS": "synnefo:network:0:limited other synnefo:network:1:bogus"}


def test_net_status_message():
    msg = net_status_message(ENV, "snf-", "2001:db8:1::/64")
    assert msg["type"] == "ganeti-net-status" and msg["instance"] == "snf-12"
    n0, n1 = msg["nics"]
    assert n0["mac"] == "aa:00:00:c3:94:8d" and n0["ip"] == "10.0.0.5"
    assert n0["link"] == "snf_public" and n0["firewall"] == "PROTECTED"
    assert n0["ipv6"] == "2001:db8:1:0:a800:ff:fec3:948d"
    assert n1["ip"] is None and n1["link"] == "prv1" and n1["firewall"] is None
    assert n0["name"] == "snf-nic-31" and n1["name"] is None  # rows matched by name first
    assert "ipv6" not in n1


def test_each_nic_gets_the_eui64_address_in_its_own_networks_ipv6_subnet():
    """Ganeti's hook environment names each NIC's network's IPv6 subnet: that is what the
    guest configures by SLAAC there, whatever PUBLIC_IPV6_PREFIX says."""
    env = dict(ENV, GANETI_INSTANCE_NIC0_NETWORK_SUBNET6="fd51:251:104::/64",
               GANETI_INSTANCE_NIC1_NETWORK_SUBNET6="2001:db8:7::/64")
    n0, n1 = net_status_message(env, "snf-", "2001:db8:1::/64")["nics"]
    assert n0["ipv6"] == "fd51:251:104:0:a800:ff:fec3:948d"
    assert n1["ipv6"] == "2001:db8:7:0:a800:ff:fe00:1"
    bad = dict(env, GANETI_INSTANCE_NIC1_NETWORK_SUBNET6="not-a-subnet")
    assert "ipv6" not in net_status_message(bad, "snf-")["nics"][1]


def test_no_message_for_other_prefixes_phases_and_paths():
    assert net_status_message(ENV, "other-") is None
    assert net_status_message(dict(ENV, GANETI_HOOKS_PHASE="pre"), "snf-") is None
    assert net_status_message(dict(ENV, GANETI_HOOKS_PATH="instance-remove"), "snf-") is None


def test_hook_exits_0_even_with_broken_settings(tmp_path):
    (tmp_path / "10-broken.conf").write_text("this is not python\n")
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(tmp_path), **ENV)
    proc = subprocess.run([sys.executable, "-m", "synnefo.ganeti.hook"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert "10-broken.conf" in proc.stderr


def test_hook_spools_when_no_broker_answers(tmp_path):
    conf = tmp_path / "conf"
    conf.mkdir()
    spool = tmp_path / "spool"
    (conf / "10-test.conf").write_text(
        "BACKEND_PREFIX_ID = 'snf-'\nAMQP_HOSTS = ['amqp://u:p@127.0.0.1:1/']\n"
        "GANETI_EVENTS_SPOOL_DIR = %r\nLOG_DIR = %r\n" % (str(spool), str(tmp_path / "log")))
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf), **ENV)
    proc = subprocess.run([sys.executable, "-m", "synnefo.ganeti.hook"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    (name,) = [n for n in os.listdir(spool) if n.endswith(".msg")]
    record = json.loads((spool / name).read_text())
    assert record["routing_key"] == "ganeti.snf.event.net"
    assert record["body"]["instance"] == "snf-12"
    log = (tmp_path / "log" / "snf-ganeti-hook.log").read_text()
    assert "NIC status of snf-12 spooled for snf-ganeti-eventd" in log
    assert "127.0.0.1:1" in log and ":p@" not in log  # why, without the password


def test_hook_failure_is_logged_with_its_traceback_and_exits_0(tmp_path):
    """A hook that fails leaves one line in Ganeti's hook output and the traceback in
    LOG_DIR/snf-ganeti-hook.log (here: a spool directory that is a file)."""
    conf = tmp_path / "conf"
    conf.mkdir()
    (tmp_path / "spool").write_text("not a directory")
    (conf / "10-test.conf").write_text(
        "AMQP_HOSTS = ['amqp://u:p@127.0.0.1:1/']\nGANETI_EVENTS_SPOOL_DIR = %r\n"
        "LOG_DIR = %r\n" % (str(tmp_path / "spool"), str(tmp_path / "log")))
    env = dict(os.environ, SYNNEFO_SETTINGS_DIR=str(conf), **ENV)
    proc = subprocess.run([sys.executable, "-m", "synnefo.ganeti.hook"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert proc.stderr.startswith("snf-ganeti-hook: ") and "Traceback" not in proc.stderr
    log = (tmp_path / "log" / "snf-ganeti-hook.log").read_text()
    assert "ERROR" in log and "Traceback (most recent call last)" in log
    assert proc.stderr.strip().split(": ", 1)[1] in log


def test_kvm_vif_bridge_reads_the_firewall_tags_logic_writes():
    """The ifup script (shell, shipped by this package) has its own copy of the tag
    words: it must know exactly the kinds of synnefo.common.protocol."""
    script = os.path.join(os.path.dirname(__file__), "..", "..", "contrib", "ganeti-hooks",
                          "kvm-vif-bridge")
    with open(script, encoding="utf-8") as f:
        kinds = set(re.findall(r'synnefo:network:"\$idx":(\w+)\)', f.read()))
    assert kinds == set(FIREWALL_TAG_KIND.values())
    assert firewall_tag(3, "PROTECTED").startswith(FIREWALL_TAG_PREFIX + "3:")
