"""snf-manage backend-add CLUSTERNAME [--port] [--username] [--password-file] [--certificate]
[--hypervisor]"""

from django.core.management.base import CommandError

from synnefo.logic.backends import BackendError, add_backend, read_certificate

from ._backends import COLUMNS, backend_row, create_networks
from ._output import AdminCommand


class Command(AdminCommand):
    help = ("Add a Ganeti cluster as a backend. Its RAPI is checked, its capacity read and "
            "the existing networks created on it, unless --no-check.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("clustername", help="RAPI host name (the cluster's floating name)")
        parser.add_argument("--port", type=int, default=5080)
        parser.add_argument("--username", default="", help="RAPI user (needs write rights)")
        parser.add_argument("--password-file",
                            help="file whose first line is the RAPI password")
        parser.add_argument("--certificate",
                            help="PEM file of the cluster's RAPI certificate to pin "
                                 "(e.g. a copy of /var/lib/ganeti/rapi.pem; keys are ignored)")
        parser.add_argument("--hypervisor",
                            help="hypervisor of new servers on this cluster, one of its "
                                 "enabled ones (default: the cluster's default hypervisor)")
        parser.add_argument("--no-check", action="store_true",
                            help="add it without contacting the cluster")

    def handle(self, *args, **options):
        password = ""
        if options["password_file"]:
            try:
                with open(options["password_file"]) as f:
                    password = f.readline().rstrip("\n")
            except OSError as exc:
                raise CommandError("cannot read %s: %s" % (options["password_file"], exc))
        try:
            certificate = (read_certificate(options["certificate"])
                           if options["certificate"] else "")
            backend = add_backend(options["clustername"], options["port"],
                                  options["username"], password, certificate,
                                  check=not options["no_check"],
                                  hypervisor=options["hypervisor"])
        except BackendError as exc:
            raise CommandError(str(exc)) from None
        self.emit([backend_row(backend)], COLUMNS, options, single=True)
        if options["no_check"]:
            self.stderr.write("networks were not created on %s (--no-check): run "
                              "`snf-manage backend-modify %s --refresh` once it is reachable"
                              % (backend.clustername, backend.clustername))
            return
        create_networks(self, backend)

