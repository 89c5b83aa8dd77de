"""snf-manage image-list [--deleted] [--json]"""

from synnefo.db.models import Image

from ._images import COLUMNS, image_row
from ._output import AdminCommand


class Command(AdminCommand):
    help = "List images (with --deleted also the deleted ones)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--deleted", action="store_true")

    def handle(self, *args, **options):
        query = Image.objects.select_related("owner").prefetch_related("metadata").order_by("id")
        if not options["deleted"]:
            query = query.exclude(state=Image.STATE_DELETED)
        self.emit([image_row(i) for i in query], COLUMNS, options)
