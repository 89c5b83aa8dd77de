"""snf-manage network-modify ID [--name NAME] [--wait] [--json]"""

from synnefo.logic import network_admin, networks

from ._networks import COLUMNS, network_row
from ._output import AdminCommand, fail_cleanly


class Command(AdminCommand):
    help = ("Rename a network, and/or (--wait) wait for its pending Ganeti jobs and record "
            "their results, e.g. when no dispatcher reported them.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("network_id")
        parser.add_argument("--name")
        parser.add_argument("--wait", action="store_true",
                            help="wait for the network's pending Ganeti jobs")

    @fail_cleanly
    def handle(self, *args, **options):
        admin = network_admin.admin_user()
        network = networks.get_network(admin, options["network_id"])
        if options["name"] is not None:
            network = networks.rename_network(admin, network.id, options["name"])
        if options["wait"]:
            network_admin.wait_for_backends(network)
            network.refresh_from_db()
        self.emit([network_row(network)], COLUMNS, options, single=True)
