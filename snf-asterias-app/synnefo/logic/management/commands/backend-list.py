"""snf-manage backend-list [--json]"""

from synnefo.db.models import Backend

from ._backends import COLUMNS, backend_row
from ._output import AdminCommand


class Command(AdminCommand):
    help = "List the Ganeti backends with their state and capacity."

    def handle(self, *args, **options):
        self.emit([backend_row(b) for b in Backend.objects.all()], COLUMNS, options)
