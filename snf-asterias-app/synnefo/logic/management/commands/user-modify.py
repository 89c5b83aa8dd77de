"""snf-manage user-modify USER [--admin yes|no] [--suspend|--unsuspend] [--password...] [quotas]"""

import sys

from django.core.management.base import CommandError

from synnefo.logic import users

from ._output import AdminCommand, fail_cleanly, parse_bool
from ._users import QUOTA_OPTIONS, quota_values, user_row


class Command(AdminCommand):
    help = ("Change a user: admin flag, suspension, password, e-mail, quotas "
            "(a quota of -1 goes back to the default from settings).")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("user", help="user name or id")
        parser.add_argument("--admin", metavar="yes|no")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--suspend", action="store_true")
        group.add_argument("--unsuspend", action="store_true")
        group.add_argument("--delete", action="store_true", help="mark the user DELETED")
        pw = parser.add_mutually_exclusive_group()
        pw.add_argument("--password")
        pw.add_argument("--password-stdin", action="store_true")
        parser.add_argument("--email")
        for option, field, text in QUOTA_OPTIONS:
            parser.add_argument(option, dest=field, type=int, help=text + " (-1: default)")

    @fail_cleanly
    def handle(self, *args, **options):
        user = users.get_user(options["user"])
        state = None
        if options["suspend"]:
            state = "SUSPENDED"
        elif options["unsuspend"]:
            state = "ACTIVE"
        elif options["delete"]:
            state = "DELETED"
        admin = None if options["admin"] is None else parse_bool(options["admin"])
        quotas = quota_values(options)
        for field, value in quotas.items():
            if value is not None and value < -1:
                raise CommandError("--%s must be >= 0, or -1 for the default."
                                   % field.replace("_", "-"))
        users.modify_user(user, is_admin=admin, state=state, email=options["email"], **quotas)
        password = options["password"]
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        if password is not None:
            users.set_password(user, password)
        user.refresh_from_db()
        self.emit([user_row(user)], list(user_row(user)), options, single=True)
