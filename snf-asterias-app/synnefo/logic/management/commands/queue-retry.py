"""snf-manage queue-retry [--queue Q] [--keep-zombies] [--dry-run]"""

import json

from django.core.management.base import BaseCommand, CommandError

from synnefo.logic import dead_letters
from synnefo.logic.errors import LogicError


class Command(BaseCommand):
    help = ("Send the messages parked in the dead-letter queues (<queue>-dl) back to their "
            "queues. A message that was already retried once and came back is dropped "
            "(a loop), unless --keep-zombies.")

    def add_arguments(self, parser):
        parser.add_argument("--queue", help="only this event queue (e.g. snf-events-op)")
        parser.add_argument("--keep-zombies", action="store_true",
                            help="retry messages that already came back from a retry")
        parser.add_argument("--dry-run", action="store_true", help="only count them")

    def handle(self, *args, **options):
        queues = list(dead_letters.topology().queues)
        if options["queue"]:
            if options["queue"] not in queues:
                raise CommandError("%s is not one of %s" % (options["queue"],
                                                            ", ".join(sorted(queues))))
            queues = [options["queue"]]
        try:
            if options["dry_run"]:
                counts = {row["queue"]: row["dead_letters"] or 0
                          for row in dead_letters.depths()}
                for queue in queues:
                    self.stdout.write("%s: %d dead letter(s), 0 dropped"
                                      % (queue, counts[queue]))
                return
            for queue in queues:
                retried, dropped = dead_letters.retry(
                    queue, options["keep_zombies"], on_drop=lambda body: self.stderr.write(
                        "dropping a message that failed again after a retry: %s"
                        % _preview(body)))
                self.stdout.write("%s: %d retried, %d dropped" % (queue, retried, dropped))
        except LogicError as exc:
            raise CommandError(str(exc)) from None


def _preview(body):
    try:
        data = json.loads(body)
        return json.dumps({k: data.get(k) for k in ("type", "instance", "operation",
                                                    "jobId", "status")})
    except (ValueError, AttributeError):
        return repr(body[:120])
