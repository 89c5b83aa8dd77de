"""snf-manage user-list [--json]"""

from synnefo.db.models import User

from ._output import AdminCommand
from ._users import user_row


class Command(AdminCommand):
    help = "List the users, with their effective quotas."

    def handle(self, *args, **options):
        rows = [user_row(u) for u in User.objects.order_by("id")]
        self.emit(rows, ["id", "name", "email", "admin", "state", "servers", "cores", "ram",
                         "disk"], options)
