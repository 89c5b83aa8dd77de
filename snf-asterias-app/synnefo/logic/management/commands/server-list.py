"""snf-manage server-list [--user U] [--deleted] [--build] [--backend NAME] [--json]"""

from synnefo.db.models import VirtualMachine
from synnefo.logic import users

from ._output import AdminCommand, fail_cleanly
from ._servers import server_row

COLUMNS = ["id", "name", "owner", "status", "task", "flavor", "image", "backend", "instance"]


class Command(AdminCommand):
    help = "List servers of all users."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--user", help="only this user's (name or id)")
        parser.add_argument("--deleted", action="store_true", help="include deleted servers")
        parser.add_argument("--build", action="store_true", help="only servers in BUILD")
        parser.add_argument("--backend", help="only servers on this cluster")

    @fail_cleanly
    def handle(self, *args, **options):
        query = VirtualMachine.objects.select_related("owner", "flavor", "image",
                                                      "backend").order_by("id")
        if options["user"]:
            query = query.filter(owner=users.get_user(options["user"]))
        if not options["deleted"]:
            query = query.filter(deleted=False)
        if options["build"]:
            query = query.filter(operstate="BUILD")
        if options["backend"]:
            query = query.filter(backend__clustername=options["backend"])
        self.emit([server_row(vm) for vm in query], COLUMNS, options)
