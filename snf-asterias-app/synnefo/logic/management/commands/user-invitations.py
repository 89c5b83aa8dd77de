"""snf-manage user-invitations USER [--quota N|-1] [--resend ID] [--json]"""

from synnefo.logic import invitations, users

from ._output import AdminCommand, fail_cleanly


class Command(AdminCommand):
    help = ("Show a user's invitation quota and the invitations they sent; --quota sets the "
            "quota (-1: back to INVITATIONS_PER_USER), --resend sends one of them again.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("user", help="user name or id")
        parser.add_argument("--quota", type=int, metavar="N",
                            help="invitations the user may send in all (-1: the default)")
        parser.add_argument("--resend", metavar="ID", help="send invitation ID again")

    @fail_cleanly
    def handle(self, *args, **options):
        user = users.get_user(options["user"])
        if options["quota"] is not None:
            quota = options["quota"]
            invitations.set_invitation_quota(user, None if quota == -1 else quota)
        if options["resend"] is not None:
            invitations.resend(invitations.get_invitation(options["resend"], inviter=user))
        quota, left = invitations.invitation_quota(user), invitations.invitations_left(user)
        rows = [{"id": i.id, "email": i.email, "sent": i.sent.strftime("%Y-%m-%d %H:%M:%S"),
                 "sends": i.send_count, "accepted_by": i.user.name if i.user else None}
                for i in invitations.list_invitations(user)]
        if options["json"]:
            self.emit([{"user": user.name, "quota": quota, "left": left,
                        "enabled": invitations.enabled(), "invitations": rows}], [], options,
                      single=True)
            return
        self.stdout.write("%s: quota %d, %d left%s" % (
            user.name, quota, left,
            "" if invitations.enabled() else " (invitations are switched off)"))
        self.emit(rows, ["id", "email", "sent", "sends", "accepted_by"], options)
