"""snf-manage flavor-list [--deleted] [--json]"""

from django.db.models import Count, Q

from synnefo.db.models import Flavor

from ._flavors import COLUMNS, flavor_row
from ._output import AdminCommand


class Command(AdminCommand):
    help = "List flavors (with --deleted also the deleted ones) and how many servers use each."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--deleted", action="store_true", help="include deleted flavors")

    def handle(self, *args, **options):
        query = Flavor.objects.annotate(live_servers=Count("servers",
                                                           filter=Q(servers__deleted=False)))
        if not options["deleted"]:
            query = query.filter(deleted=False)
        self.emit([flavor_row(f) for f in query], COLUMNS, options)
