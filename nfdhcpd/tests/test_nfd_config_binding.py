import ipaddress
from pathlib import Path

import pytest

from nfdhcpd.binding import BindingError, parse_binding, parse_route_table
from nfdhcpd.config import ConfigError, load_config, parse_config
from nfdhcpd.eui64 import link_local
from nfdhcpd.eui64 import main as mac2eui64_main
from synnefo.common.protocol import eui64_address

SAMPLE = Path(__file__).resolve().parents[1] / "conf" / "nfdhcpd.conf"


def test_sample_config_parses():
    cfg = load_config(str(SAMPLE))
    assert cfg.datapath == "/var/lib/nfdhcpd"
    assert cfg.queues == {42: "dhcp", 43: "rs", 44: "ns", 45: "dhcpv6"}
    assert cfg.nameservers == ["192.0.2.53", "192.0.2.54"]
    assert cfg.nameservers6 == ["2001:db8::53"]
    assert cfg.lease_lifetime == 604800 and cfg.lease_renewal == 3600
    assert cfg.server_ip == "" and cfg.ra_period == 300


def test_defaults_and_disabling():
    cfg = parse_config("[dhcp]\nenable_dhcp = no\n[ipv6]\nenable_dhcpv6 = false\n")
    assert cfg.queues == {43: "rs", 44: "ns"}
    assert parse_config("").user == "nobody"


@pytest.mark.parametrize("text, msg", [
    ("[dhcp]\nlease_lifetime = soon\n", "bad value"),
    ("[dhcp]\nnameservers = 2001:db8::1\n", "not an IPv4"),
    ("[ipv6]\nnameservers = 10.0.0.1\n", "not an IPv6"),
    ("[dhcp]\nfoo = 1\n", "unknown setting"),
    ("[extra]\n", "unknown section"),
    ("[ipv6]\nrs_queue = 42\n", "must all differ"),
    ("[ipv6]\nra_period = 0\n", "ra_period"),
    ("not ini", "f.conf"),
])
def test_bad_configs(text, msg):
    with pytest.raises(ConfigError, match=msg):
        parse_config(text, source="f.conf")


def test_missing_config_file_error_names_path(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file .*nope"):
        load_config(str(tmp_path / "nope"))


FULL = """\
# written by kvm-vif-bridge
IP=10.251.3.10
MAC=AA:00:00:01:02:03
LINK=snf_public
HOSTNAME=vm1.example.test
TAGS="synnefo:network:0:protected other"
INDEV=tap3
SUBNET=10.251.3.0/24
GATEWAY=10.251.3.1
SUBNET6=fd00:3::/64
GATEWAY6=fd00:3::1
EUI64=fd00:3::a800:ff:fe01:203
MTU=1500
"""


def test_full_binding():
    b = parse_binding("tap3", FULL, route_lookup=None)
    assert b.mac == "aa:00:00:01:02:03"
    assert b.ip == ipaddress.IPv4Address("10.251.3.10")
    assert b.tags == ["synnefo:network:0:protected", "other"]
    assert b.subnet == ipaddress.IPv4Network("10.251.3.0/24")
    assert b.gateway == ipaddress.IPv4Address("10.251.3.1")
    assert b.eui64 == ipaddress.IPv6Address("fd00:3::a800:ff:fe01:203")
    assert b.ipv6_enabled and b.extra == {"MTU": "1500"}


def test_minimal_binding_and_first_of_ip_list():
    b = parse_binding("tap1", "MAC=aa:00:00:00:00:01\nIP='10.251.1.5 10.251.1.6'\n",
                      route_lookup=None)
    assert str(b.ip) == "10.251.1.5" and b.subnet is None and not b.ipv6_enabled


def test_binding_without_ip_is_allowed():
    assert parse_binding("t", "MAC=aa:00:00:00:00:01\n", route_lookup=None).ip is None


def test_subnet_from_routing_table_fallback():
    table = ("default via 10.251.9.1 dev eth1 \n10.251.9.0/24 dev eth1 proto kernel scope link\n"
             "10.251.9.20 dev tap9 scope link\n")
    calls = []

    def lookup(link):
        calls.append(link)
        return parse_route_table(table)

    b = parse_binding("tap9", "MAC=aa:00:00:00:00:09\nIP=10.251.9.20\nLINK=100\n",
                      route_lookup=lookup)
    assert calls == ["100"]
    assert str(b.subnet) == "10.251.9.0/24" and str(b.gateway) == "10.251.9.1"


@pytest.mark.parametrize("text, msg", [
    ("IP=10.0.0.1\n", "no MAC"),
    ("MAC=zz\n", "not a MAC"),
    ("MAC=aa:00:00:00:00:01\nIP=10.0.0.300\n", "IP="),
    ("MAC=aa:00:00:00:00:01\nIP=10.0.1.1\nSUBNET=10.0.0.0/24\n", "not inside"),
    ("MAC=aa:00:00:00:00:01\nSUBNET6=fd00::/48\n", "/64"),
    ("MAC=aa:00:00:00:00:01\nSUBNET6=fd00::/64\nEUI64=fd00::1\n", "not the EUI-64"),
    ("MAC=aa:00:00:00:00:01\njunk line\n", "expected KEY=value"),
    ("MAC=aa:00:00:00:00:01\nTAGS=\"open\n", "tapX:2"),
])
def test_bad_bindings(text, msg):
    with pytest.raises(BindingError, match=msg):
        parse_binding("tapX", text, route_lookup=None)


def test_eui64():
    assert str(eui64_address("fd00:1::/64", "aa:00:00:01:01:10")) == "fd00:1::a800:ff:fe01:110"
    assert str(link_local("00:16:3e:00:00:01")) == "fe80::216:3eff:fe00:1"
    with pytest.raises(ValueError):
        eui64_address("fd00::/80", "aa:00:00:01:01:10")


def test_mac2eui64_cli(capsys):
    assert mac2eui64_main(["fd00:1::", "aa:00:00:01:01:10"]) == 0
    assert capsys.readouterr().out.strip() == "fd00:1::a800:ff:fe01:110"
    assert mac2eui64_main(["fd00:1::/64", "bogus"]) == 1
    assert mac2eui64_main([]) == 2
