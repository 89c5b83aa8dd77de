"""snf-manage flavor-create CPUS RAMS DISKS [DISK_TEMPLATES]: comma lists, every combination."""

from synnefo.logic import flavors

from ._flavors import flavor_row
from ._output import AdminCommand, comma_list, fail_cleanly


class Command(AdminCommand):
    help = ("Create flavors. Each argument may be a comma list; one flavor is made for every "
            "combination (e.g. 1,2 1024,2048 20 -> 4 flavors). RAM in MiB, disk in GiB.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("cpus")
        parser.add_argument("rams")
        parser.add_argument("disks")
        parser.add_argument("disk_templates", nargs="?", default=None,
                            help="default: DEFAULT_GANETI_DISK_TEMPLATE")

    @fail_cleanly
    def handle(self, *args, **options):
        templates = comma_list(options["disk_templates"]) if options["disk_templates"] else None
        created, existing = flavors.create_flavors(comma_list(options["cpus"]),
                                                   comma_list(options["rams"]),
                                                   comma_list(options["disks"]), templates)
        rows = [dict(flavor_row(f), created=True) for f in created]
        rows += [dict(flavor_row(f), created=False) for f in existing]
        self.emit(rows, ["id", "name", "cpu", "ram", "disk", "disk_template", "created"], options)
        if existing and not options["json"]:
            self.stderr.write("%d flavor(s) already existed and were left as they are."
                              % len(existing))
