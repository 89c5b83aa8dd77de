"""Shared part of link_static and copy_static: find each app's static entries."""

import os

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


def static_entries():
    """(name, source path) of every top-level entry in each installed app's static dir."""
    entries = {}
    for config in apps.get_app_configs():
        static_dir = os.path.join(config.path, "static")
        if not os.path.isdir(static_dir):
            continue
        for name in sorted(os.listdir(static_dir)):
            entries.setdefault(name, os.path.join(static_dir, name))
    return sorted(entries.items())


class StaticCommand(BaseCommand):
    verb = None  # "link" or "copy"

    def add_arguments(self, parser):
        parser.add_argument("--static-root", default=None,
                            help="target directory (default: STATIC_ROOT from settings)")
        parser.add_argument("--dry-run", action="store_true",
                            help="print what would be done, change nothing")

    def place(self, source, target):
        raise NotImplementedError

    def handle(self, static_root=None, dry_run=False, **options):
        root = static_root or settings.STATIC_ROOT
        if not root:
            raise CommandError("no static root: set STATIC_ROOT or pass --static-root")
        if not dry_run:
            os.makedirs(root, exist_ok=True)
        done = 0
        for name, source in static_entries():
            target = os.path.join(root, name)
            if os.path.lexists(target):
                self.stdout.write("skip %s (exists)" % target)
                continue
            self.stdout.write("%s %s -> %s" % (self.verb, source, target))
            if not dry_run:
                self.place(source, target)
            done += 1
        self.stdout.write("%d entr%s %s%s" % (done, "y" if done == 1 else "ies",
                                             "would be " if dry_run else "",
                                             "linked" if self.verb == "link" else "copied"))
