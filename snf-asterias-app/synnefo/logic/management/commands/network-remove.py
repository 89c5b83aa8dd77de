"""snf-manage network-remove ID [--no-wait]"""

from django.core.management.base import CommandError

from synnefo.logic import network_admin

from ._output import AdminCommand, fail_cleanly


class Command(AdminCommand):
    help = ("Delete a network that has no ports (detach its servers first) and remove its "
            "Ganeti networks; waits for those jobs unless --no-wait. Run it again on a "
            "deleted network whose removal failed on some backend to retry.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("network_id")
        parser.add_argument("--no-wait", action="store_true")

    @fail_cleanly
    def handle(self, *args, **options):
        network, errors = network_admin.remove_network(options["network_id"])
        if errors:
            raise CommandError("network %d is deleted but its Ganeti network could not be "
                               "removed everywhere: %s. Run this command again to retry."
                               % (network.id, "; ".join(errors)))
        if not options["no_wait"]:
            results = network_admin.wait_for_backends(network)
            for cluster, state, status in results:
                self.stdout.write("%s: %s (%s)" % (cluster, state, status or "-"))
            failed = [c for c, state, _ in results if state != "DELETED"]
            if failed:
                raise CommandError("Ganeti did not remove network %d on %s (see snf-manage "
                                   "network-list --deleted); run this command again to retry."
                                   % (network.id, ", ".join(failed)))
            network_admin.settle_state(network)
        self.stdout.write("network %d deleted" % network.id)
