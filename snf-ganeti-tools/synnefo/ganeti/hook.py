"""snf-ganeti-hook: a Ganeti post-hook that reports an instance's NICs (ganeti-net-status).

Install it (a symlink or a wrapper without dots in its name) into
/etc/ganeti/hooks/instance-{add,modify,reboot,start,stop,remove}-post.d/. Ganeti runs
it on the master with GANETI_* variables describing the instance.

It never fails or blocks Ganeti: it always exits 0, tries the brokers for at most
GANETI_HOOK_AMQP_TIMEOUT seconds, and otherwise leaves the message in the spool that
snf-ganeti-eventd sends from.
"""

import logging
import os
import sys
import time

from synnefo.common import daemon
from synnefo.common.protocol import MSG_NET_STATUS, eui64_address, firewall_profiles
from synnefo.ganeti.common import Config

NAME = "snf-ganeti-hook"
log = logging.getLogger(NAME)

# Hook paths that change what the NICs look like (stop and remove report nothing).
REPORTING_PATHS = ("instance-add", "instance-modify", "instance-reboot", "instance-start")


def _slaac_address(subnet6, mac):
    """The address the guest configures on ``subnet6`` by SLAAC (the EUI-64 of ``mac``),
    or None without a subnet, a MAC, or with one of them malformed."""
    if not subnet6 or not mac:
        return None
    try:
        return str(eui64_address(subnet6, mac))
    except ValueError:
        return None


def net_status_message(env, prefix, ipv6_prefix=None):
    """The ganeti-net-status message for this hook run, or None when there is none. A
    NIC's IPv6 address is the EUI-64 of its MAC in its Ganeti network's IPv6 subnet;
    ``ipv6_prefix`` (PUBLIC_IPV6_PREFIX, the original's setting) stands in for NIC 0's
    when its network has none."""
    if env.get("GANETI_HOOKS_PHASE") != "post":
        return None
    if env.get("GANETI_HOOKS_PATH") not in REPORTING_PATHS:
        return None
    instance = env.get("GANETI_INSTANCE_NAME", "")
    if not instance.startswith(prefix):
        return None
    count = int(env.get("GANETI_INSTANCE_NIC_COUNT") or 0)
    profiles = firewall_profiles(env.get("GANETI_INSTANCE_TAGS", "").split())
    nics = []
    for i in range(count):
        key = "GANETI_INSTANCE_NIC%d_" % i
        mac = env.get(key + "MAC", "")
        nic = {"index": i, "mac": mac, "ip": env.get(key + "IP") or None,
               "mode": env.get(key + "MODE") or None,
               "link": env.get(key + "LINK") or env.get(key + "BRIDGE") or None,
               "network": env.get(key + "NETWORK_NAME") or None,
               # the name logic gave the NIC (<prefix>nic-<row id>): stable while
               # indexes shift when a NIC before it is removed
               "name": env.get(key + "NAME") or None,
               "firewall": profiles.get(i)}
        ipv6 = _slaac_address(env.get(key + "NETWORK_SUBNET6")
                              or (ipv6_prefix if i == 0 else None), mac)
        if ipv6:
            nic["ipv6"] = ipv6
        nics.append(nic)
    now = time.time()
    return {"type": MSG_NET_STATUS, "instance": instance, "nics": nics,
            "operation": env.get("GANETI_OP_CODE"), "hooks_path": env.get("GANETI_HOOKS_PATH"),
            "cluster": env.get("GANETI_CLUSTER"),
            "event_time": [int(now), int((now % 1) * 1e6)]}


def run(env, config):
    msg = net_status_message(env, config.prefix, config.settings["PUBLIC_IPV6_PREFIX"])
    if msg is None:
        return
    publisher = config.publisher(
        connect_timeout=config.settings["GANETI_HOOK_AMQP_TIMEOUT"])
    topo = config.topology
    publisher.spool.add(topo.exchange, topo.routing_keys["net"], msg)
    sent = False
    if config.settings["GANETI_HOOK_PUBLISH_DIRECTLY"]:
        # Sends what is in the spool (ours included) if a broker answers at once;
        # otherwise eventd sends it.
        sent = publisher.flush(force=True)
    publisher.close()
    log.info("%s %s: NIC status of %s %s", env.get("GANETI_HOOKS_PATH"),
             env.get("GANETI_OP_CODE"), msg["instance"],
             "published" if sent else "spooled for snf-ganeti-eventd")


def main():
    daemon.setup_tool_logging(NAME, None)  # stderr until the settings name LOG_DIR
    try:
        config = Config()
        daemon.setup_tool_logging(NAME, config.settings["LOG_DIR"])
        run(os.environ, config)
    except BaseException as exc:  # never fail Ganeti's operation; keep the traceback
        log.error("%s: %s", type(exc).__name__, exc,
                  exc_info=not isinstance(exc, SystemExit))
    return 0


if __name__ == "__main__":
    sys.exit(main())
