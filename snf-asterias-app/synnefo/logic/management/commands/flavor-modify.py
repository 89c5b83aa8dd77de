"""snf-manage flavor-modify ID --deleted yes|no"""

from synnefo.logic import flavors

from ._flavors import COLUMNS, flavor_row
from ._output import AdminCommand, fail_cleanly, parse_bool


class Command(AdminCommand):
    help = ("Soft-delete or undelete a flavor. A deleted flavor is no longer offered; "
            "servers that have it keep it.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("flavor_id")
        parser.add_argument("--deleted", metavar="yes|no", required=True)

    @fail_cleanly
    def handle(self, *args, **options):
        flavor = flavors.set_deleted(flavors.get_flavor(options["flavor_id"]),
                                     parse_bool(options["deleted"]))
        self.emit([flavor_row(flavor)], COLUMNS, options, single=True)
