"""snf-manage token-create USER [--lifetime SECONDS] [--description]: prints a new token once."""

from synnefo.logic import identity, users

from ._output import AdminCommand, fail_cleanly


class Command(AdminCommand):
    help = ("Create an API token for a user and print it. It is shown only now: the "
            "database keeps only its hash.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("user", help="user name or id")
        parser.add_argument("--lifetime", type=int, default=None,
                            help="seconds until it expires (0: never; default TOKEN_LIFETIME)")
        parser.add_argument("--description", default="created by snf-manage token-create")

    @fail_cleanly
    def handle(self, *args, **options):
        user = users.get_user(options["user"])
        token, row = identity.issue_token(user, options["lifetime"], options["description"])
        if options["json"]:
            self.emit([{"token": token, "user": user.name, "user_id": user.id,
                        "expires": row.expires.isoformat() if row.expires else None}],
                      [], options, single=True)
        else:
            self.stdout.write(token)
