"""snf-manage reconcile-servers [--detect-KIND ...] [--fix-KIND ...|--fix-all] [--backend]"""

from django.core.management.base import BaseCommand, CommandError

from synnefo.backend.rapi import RapiError
from synnefo.logic.reconciliation import KINDS, reconcile

from ._backends import get_backend
from ._output import printable


class Command(BaseCommand):
    help = ("Compare the servers in the DB with the instances in Ganeti and report (and "
            "with --fix-*, fix) stale servers, orphan instances, unsynced states, build "
            "errors (including creates that never reached Ganeti) and unsynced NICs. "
            "Offline or unreachable backends are skipped with a warning.")

    def add_arguments(self, parser):
        for kind in KINDS:
            flag = kind.replace("_", "-")
            parser.add_argument("--detect-" + flag, action="store_true",
                                help="report %s findings" % flag)
            parser.add_argument("--fix-" + flag, action="store_true",
                                help="fix %s findings (implies --detect-%s)" % (flag, flag))
        parser.add_argument("--detect-all", action="store_true", help="report every kind")
        parser.add_argument("--fix-all", action="store_true", help="fix every kind")
        parser.add_argument("--backend", help="only this backend (id or cluster name)")

    def handle(self, *args, **options):
        detect = {k for k in KINDS if options["detect_" + k] or options["fix_" + k]}
        fix = {k for k in KINDS if options["fix_" + k]}
        if options["detect_all"] or not detect:
            detect = set(KINDS)
        if options["fix_all"]:
            fix = detect = set(KINDS)
        backends = [get_backend(options["backend"])] if options["backend"] else None
        findings, warnings = reconcile(backends)
        for warning in warnings:
            self.stderr.write("WARNING: %s" % warning)
        shown = 0
        for finding in findings:
            if finding.kind not in detect:
                continue
            if finding.kind in fix:
                try:
                    finding.fix()
                except RapiError as exc:
                    self.stderr.write("could not fix %s: %s" % (finding, exc))
            self.stdout.write(printable(str(finding)))  # Ganeti's messages, verbatim
            shown += 1
        if not shown and options["verbosity"] >= 1:
            self.stdout.write("nothing found")
        if warnings:  # a non-zero exit for cron: part of the picture is missing
            raise CommandError("%d backend(s) could not be checked (see the warnings)"
                               % len(warnings))
