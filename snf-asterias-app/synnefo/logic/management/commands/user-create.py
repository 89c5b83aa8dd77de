"""snf-manage user-create NAME [--email] [--password|--password-stdin] [--admin] [quotas]"""

import sys

from synnefo.logic import users

from ._output import AdminCommand, fail_cleanly
from ._users import QUOTA_OPTIONS, quota_values, user_row


class Command(AdminCommand):
    help = "Create a user of the compute service."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument("--email", default="")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--password", help="login password (visible in the process list: "
                                              "prefer --password-stdin)")
        group.add_argument("--password-stdin", action="store_true",
                           help="read the password from the first line of standard input")
        parser.add_argument("--admin", action="store_true", help="sees and manages everything")
        for option, field, text in QUOTA_OPTIONS:
            parser.add_argument(option, dest=field, type=int, help=text)

    @fail_cleanly
    def handle(self, *args, **options):
        password = options["password"]
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        user = users.create_user(options["name"], email=options["email"], password=password,
                                 is_admin=options["admin"],
                                 **{k: v for k, v in quota_values(options).items()
                                    if v is not None})
        self.emit([user_row(user)], list(user_row(user)), options, single=True)
