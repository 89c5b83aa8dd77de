"""snf-manage image-register NAME SOURCE [--format] [--owner] [--public] [--meta K=V]..."""

import os

from synnefo.logic import image_store, images, users

from ._images import DETAIL, image_row
from ._output import AdminCommand, fail_cleanly, parse_meta


class Command(AdminCommand):
    help = ("Register an image the OS provider (snf-image) can deploy. SOURCE is a data file "
            "(a path, or a file name in IMAGE_STORE_DIR): its size and SHA-256 are recorded "
            "and a file from elsewhere is copied into IMAGE_STORE_DIR. Any other SOURCE is "
            "registered as the name of a file the Ganeti nodes hold under their IMAGE_DIR "
            "(no size or checksum known). Without --owner it is a system image.")

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument("source", metavar="SOURCE")
        parser.add_argument("--format", default="diskdump",
                            help="what snf-image deploys: diskdump (a whole disk), extdump...")
        parser.add_argument("--owner", help="user name or id")
        parser.add_argument("--public", action="store_true")
        parser.add_argument("--min-disk", type=int, default=0, help="GiB")
        parser.add_argument("--min-ram", type=int, default=0, help="MiB")
        parser.add_argument("--meta", "--property", action="append", metavar="KEY=VALUE",
                            help="image property (e.g. OSFAMILY=linux); repeat for more")

    @fail_cleanly
    def handle(self, *args, **options):
        owner = users.get_user(options["owner"]) if options["owner"] else None
        source = options["source"]
        kwargs = dict(format=options["format"], owner=owner, public=options["public"],
                      metadata=parse_meta(options["meta"]), min_disk=options["min_disk"],
                      min_ram=options["min_ram"])
        if image_store.exists(source):
            source = image_store.path_of(source)
        if os.path.isfile(source):
            image = images.register_file(options["name"], source, **kwargs)
        else:
            self.stderr.write("%s is not a file here: registered as a name the nodes know "
                              "(no size or checksum)." % source)
            image = images.register_image(options["name"], source, **kwargs)
        self.emit([image_row(image)], DETAIL, options, single=True)
