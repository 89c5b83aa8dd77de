"""snf-manage backend-remove ID|CLUSTERNAME"""

from django.core.management.base import BaseCommand, CommandError

from synnefo.logic.backends import BackendError, remove_backend

from ._backends import get_backend


class Command(BaseCommand):
    help = "Remove a backend that hosts no live servers."

    def add_arguments(self, parser):
        parser.add_argument("backend", help="backend id or cluster name")

    def handle(self, *args, **options):
        backend = get_backend(options["backend"])
        name = backend.clustername
        try:
            remove_backend(backend)
        except BackendError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write("removed backend %s" % name)
