"""snf-manage image-register NAME BACKEND_ID [--format] [--owner] [--public] [--meta K=V]..."""

from synnefo.logic import images, users

from ._images import COLUMNS, image_row
from ._output import AdminCommand, fail_cleanly, parse_meta


class Command(AdminCommand):
    help = ("Register an image the OS provider (snf-image) can deploy. BACKEND_ID is the name "
            "the provider knows the image by. Without --owner it is a system image.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument("backend_id")
        parser.add_argument("--format", default="diskdump")
        parser.add_argument("--owner", help="user name or id")
        parser.add_argument("--public", action="store_true")
        parser.add_argument("--min-disk", type=int, default=0, help="GiB")
        parser.add_argument("--min-ram", type=int, default=0, help="MiB")
        parser.add_argument("--meta", action="append", metavar="KEY=VALUE",
                            help="metadata item (e.g. OS=debian); repeat for more")

    @fail_cleanly
    def handle(self, *args, **options):
        owner = users.get_user(options["owner"]) if options["owner"] else None
        image = images.register_image(options["name"], options["backend_id"],
                                      format=options["format"], owner=owner,
                                      public=options["public"],
                                      metadata=parse_meta(options["meta"]),
                                      min_disk=options["min_disk"], min_ram=options["min_ram"])
        self.emit([image_row(image)], COLUMNS + ["metadata"], options, single=True)
