"""snf-manage network-create NAME [--public | --owner USER] [--subnet CIDR] [--gateway IP]
[--subnet6 CIDR] [--gateway6 IP] [--link LINK] [--type TYPE] [--no-wait] [--json]"""

from django.conf import settings
from django.core.management.base import CommandError

from synnefo.logic import network_admin, networks, subnets, users

from ._networks import COLUMNS, network_row
from ._output import AdminCommand, fail_cleanly


class Command(AdminCommand):
    help = ("Create a network. --public makes the public routed network (defaults from the "
            "PUBLIC_NETWORK_* settings); otherwise a private network of --owner. With an "
            "IPv4 subnet the Ganeti network is created on every backend and connected to "
            "GANETI_NETWORK_GROUPS; the command waits for those jobs unless --no-wait.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument("--public", action="store_true")
        parser.add_argument("--owner", help="user (name or id) of a private network")
        parser.add_argument("--type", choices=networks.PRIVATE_TYPES,
                            help="private network type (DEFAULT_PRIVATE_NETWORK_TYPE)")
        parser.add_argument("--subnet", help="IPv4 CIDR (Ganeti's address pool)")
        parser.add_argument("--gateway", help="IPv4 gateway (default: the first address)")
        parser.add_argument("--subnet6", help="IPv6 /64 (EUI-64 addresses)")
        parser.add_argument("--gateway6", help="IPv6 gateway (default: the first address)")
        parser.add_argument("--link", help="public network: the NIC link (PUBLIC_NETWORK_LINK)")
        parser.add_argument("--no-wait", action="store_true",
                            help="return once the Ganeti jobs are submitted")

    @fail_cleanly
    def handle(self, *args, **options):
        if options["public"]:
            if options["owner"] or options["type"]:
                raise CommandError("--public takes neither --owner nor --type")
            subnet = options["subnet"] or settings.PUBLIC_NETWORK_SUBNET
            if not subnet:
                raise CommandError("the public network needs --subnet (or "
                                   "PUBLIC_NETWORK_SUBNET)")
            network = network_admin.create_public_network(
                options["name"], subnet,
                gateway=options["gateway"] or settings.PUBLIC_NETWORK_GATEWAY or None,
                subnet6=options["subnet6"] or settings.PUBLIC_NETWORK_SUBNET6 or None,
                gateway6=options["gateway6"] or settings.PUBLIC_NETWORK_GATEWAY6 or None,
                link=options["link"])
        else:
            if not options["owner"]:
                raise CommandError("a private network needs --owner (or use --public)")
            if options["link"]:
                raise CommandError("--link is for the public network; private networks take "
                                   "theirs from the bridge pool")
            owner = users.get_user(options["owner"])
            network = networks.create_network(owner, options["name"], options["type"])
            admin = network_admin.admin_user()
            if options["subnet6"]:
                subnets.add_subnet(admin, network.id, 6, options["subnet6"],
                                    options["gateway6"])
            if options["subnet"]:
                network = subnets.add_subnet(admin, network.id, 4, options["subnet"],
                                              options["gateway"])
        if not options["no_wait"]:
            failed = [c for c, state, _ in network_admin.wait_for_backends(network)
                      if state != "ACTIVE"]
            if failed:
                raise CommandError("network %d was created but Ganeti did not set it up on %s "
                                   "(see snf-manage network-list)." % (network.id,
                                                                       ", ".join(failed)))
        network.refresh_from_db()
        self.emit([network_row(network)], COLUMNS, options, single=True)
