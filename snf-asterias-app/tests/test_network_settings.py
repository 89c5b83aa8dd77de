"""The network settings: documented (commented out) in the shipped conf file, which sets
nothing, and the defaults are consistent."""

import os
import re

from synnefo.asterias import defaults
from synnefo.common.settings import conf_documentation_problems

CONF_DIR = os.path.join(os.path.dirname(__file__), "..", "conf")
NETWORK_CONF = os.path.join(CONF_DIR, "20-snf-asterias-app-network.conf")
NETWORK_SETTINGS = ["GANETI_NETWORK_GROUPS", "PUBLIC_NETWORK_LINK", "PUBLIC_NETWORK_SUBNET",
                    "PUBLIC_NETWORK_GATEWAY", "PUBLIC_NETWORK_RESERVED_IPS",
                    "PUBLIC_NETWORK_SUBNET6", "PUBLIC_NETWORK_GATEWAY6",
                    "DEFAULT_PRIVATE_NETWORK_TYPE", "PRIVATE_MAC_FILTERED_BRIDGE",
                    "MAC_PREFIX_BASE", "PRIVATE_BRIDGE_PREFIX", "PRIVATE_BRIDGE_COUNT"]


def test_network_settings_are_documented_and_the_file_sets_nothing():
    problems = conf_documentation_problems(defaults, CONF_DIR)
    mine = [p for p in problems
            if "network.conf" in p or any(p.startswith(name + " ") for name in NETWORK_SETTINGS)]
    assert mine == []
    with open(NETWORK_CONF) as f:
        text = f.read()
    for name in NETWORK_SETTINGS:
        assert hasattr(defaults, name), name
        # each one has an explanation line right above it
        assert re.search(r"^## .+\n(?:## .+\n)*#%s = " % name, text, re.M), name


def test_defaults_are_consistent():
    from synnefo.logic.networks import PRIVATE_TYPES
    assert defaults.DEFAULT_PRIVATE_NETWORK_TYPE in PRIVATE_TYPES
    assert re.fullmatch(r"[0-9a-f]{2}:[0-9a-f]{2}", defaults.MAC_PREFIX_BASE)
    # the MAC-filtered bridge is not one of the pool's bridges
    pool = {"%s%d" % (defaults.PRIVATE_BRIDGE_PREFIX, i)
            for i in range(1, defaults.PRIVATE_BRIDGE_COUNT + 1)}
    assert defaults.PRIVATE_MAC_FILTERED_BRIDGE not in pool
