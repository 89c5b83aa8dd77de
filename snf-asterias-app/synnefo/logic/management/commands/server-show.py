"""snf-manage server-show ID [--json]"""

from synnefo.db.models import VirtualMachine
from synnefo.logic.errors import NotFound

from ._output import AdminCommand, fail_cleanly
from ._servers import server_row


class Command(AdminCommand):
    help = "Show everything the database knows about one server (also a deleted one)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("server_id", type=int)

    @fail_cleanly
    def handle(self, *args, **options):
        try:
            vm = (VirtualMachine.objects.select_related("owner", "flavor", "image", "backend")
                  .prefetch_related("metadata", "nics__network").get(pk=options["server_id"]))
        except VirtualMachine.DoesNotExist:
            raise NotFound("No server with id %d (see snf-manage server-list)."
                           % options["server_id"]) from None
        row = server_row(vm, full=True)
        self.emit([row], list(row), options, single=True)
