"""synnefo.logic.subnets.add_subnet_to gives a network the subnet of the IP version it is
asked for (it once ignored ``ip_version`` and parsed every CIDR as IPv4)."""

import pytest

from synnefo.db.models import Network
from synnefo.logic.errors import InvalidInput
from synnefo.logic.subnets import add_subnet_to, check_ipv6_modes, subnets_of

pytestmark = pytest.mark.django_db


def _private_network():
    return Network.objects.create(name="net", public=False, type="PRIVATE_MAC_FILTERED",
                                  link="prv0", mac_prefix="aa:00:01", state="ACTIVE")


def test_add_subnet_to_with_ip_version_6_sets_the_ipv6_subnet():
    network = add_subnet_to(_private_network(), 6, "2001:db8:1::/64", None, True, "six")
    # IPv6 only: no Ganeti network (that needs an IPv4 pool), nothing else changed
    assert subnets_of(network) == [(6, "2001:db8:1::/64", "2001:db8:1::1", "six")]
    assert network.state == "ACTIVE"
    assert not network.backend_networks.exists()


def test_add_subnet_to_checks_the_cidr_against_the_version_asked_for():
    network = _private_network()
    with pytest.raises(InvalidInput, match="not an IPv6 network"):
        add_subnet_to(network, 6, "10.0.0.0/24", None, True, "")
    with pytest.raises(InvalidInput, match="'ip_version' must be 4 or 6"):
        add_subnet_to(network, 5, "10.0.0.0/24", None, True, "")
    network.refresh_from_db()
    assert subnets_of(network) == []


def test_check_ipv6_modes_accepts_slaac_or_nothing_on_ipv6_only():
    check_ipv6_modes(6, True)
    check_ipv6_modes(6, True, "slaac", "slaac")
    check_ipv6_modes(6, False)  # no mode asked: nothing to contradict
    check_ipv6_modes(4, False)
    for args, message in (((6, True, "dhcpv6-stateful", None), "is not offered"),
                          ((6, True, None, "dhcpv6-stateless"), "is not offered"),
                          ((6, True, "auto", None), "must be one of"),
                          ((4, True, None, "slaac"), "IPv6 subnets only"),
                          ((6, False, "slaac", None), "enable_dhcp is false")):
        with pytest.raises(InvalidInput, match=message):
            check_ipv6_modes(*args)
