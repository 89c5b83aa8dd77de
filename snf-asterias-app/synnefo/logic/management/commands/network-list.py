"""snf-manage network-list [--public] [--user U] [--deleted] [--json]"""

from synnefo.db.models import Network
from synnefo.logic import users

from ._networks import COLUMNS, network_row
from ._output import AdminCommand, fail_cleanly


class Command(AdminCommand):
    help = "List networks of all users, with their state on every Ganeti backend."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--public", action="store_true", help="only public networks")
        parser.add_argument("--user", help="only this user's (name or id)")
        parser.add_argument("--deleted", action="store_true", help="include deleted networks")

    @fail_cleanly
    def handle(self, *args, **options):
        query = Network.objects.select_related("owner").order_by("id")
        if options["public"]:
            query = query.filter(public=True)
        if options["user"]:
            query = query.filter(owner=users.get_user(options["user"]))
        if not options["deleted"]:
            query = query.filter(deleted=False)
        self.emit([network_row(n) for n in query], COLUMNS, options)
