"""snf-manage backend-modify ID|CLUSTERNAME [--drained yes|no] [--offline yes|no] ..."""

from django.core.management.base import CommandError

from synnefo.backend.rapi import RapiError
from synnefo.logic.backends import BackendError, read_certificate, refresh

from ._backends import COLUMNS, backend_row, create_networks, get_backend
from ._output import AdminCommand


def yes_no(value):
    if value not in ("yes", "no"):
        raise ValueError
    return value == "yes"


class Command(AdminCommand):
    help = "Change a backend: drain it, mark it offline, new credentials, refresh capacity."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("backend", help="backend id or cluster name")
        parser.add_argument("--drained", type=yes_no, help="yes: no new servers go there")
        parser.add_argument("--offline", type=yes_no,
                            help="yes: unreachable; nothing is sent to it, reconciliation "
                                 "skips it")
        parser.add_argument("--port", type=int)
        parser.add_argument("--username")
        parser.add_argument("--password-file")
        parser.add_argument("--certificate", help="PEM file of the RAPI certificate to pin")
        parser.add_argument("--no-certificate", action="store_true",
                            help="pin no certificate (GANETI_RAPI_VERIFY decides)")
        parser.add_argument("--hypervisor",
                            help="hypervisor of new servers, one the cluster enables "
                                 "(checked over RAPI)")
        parser.add_argument("--refresh", action="store_true",
                            help="read hypervisor, disk templates and capacity from RAPI, "
                                 "and create the networks it is missing")

    def handle(self, *args, **options):
        backend = get_backend(options["backend"])
        for field in ("drained", "offline", "port", "username"):
            if options[field] is not None:
                setattr(backend, field, options[field])
        try:
            if options["password_file"]:
                with open(options["password_file"]) as f:
                    backend.password = f.readline().rstrip("\n")
            if options["certificate"]:
                backend.certificate = read_certificate(options["certificate"])
            if options["no_certificate"]:
                backend.certificate = ""
        except (OSError, BackendError) as exc:
            raise CommandError(str(exc)) from None
        backend.save()
        if options["hypervisor"] or options["refresh"]:
            try:
                refresh(backend, options["hypervisor"])
            except (RapiError, BackendError) as exc:
                raise CommandError(str(exc)) from None
        self.emit([backend_row(backend)], COLUMNS, options, single=True)
        if options["refresh"] and not backend.offline:
            create_networks(self, backend)  # those it is missing (backend-add --no-check)
