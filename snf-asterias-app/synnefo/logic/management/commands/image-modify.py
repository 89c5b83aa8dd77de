"""snf-manage image-modify ID [--name] [--backend-id] [--format] [--public yes|no] [--state]
[--owner USER|--system] [--meta K=V]... [--delete-meta K]..."""

from django.core.management.base import CommandError
from django.db import transaction

from synnefo.db.models import Image, ImageMetadata
from synnefo.logic import users
from synnefo.logic.errors import NotFound
from synnefo.logic.metadata import validate_metadata

from ._images import DETAIL, image_row
from ._output import AdminCommand, fail_cleanly, parse_bool, parse_meta


class Command(AdminCommand):
    help = "Change an image's name, backend id, format, visibility, state, owner or metadata."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("image_id", type=int)
        parser.add_argument("--name")
        parser.add_argument("--backend-id")
        parser.add_argument("--format")
        parser.add_argument("--public", metavar="yes|no")
        parser.add_argument("--state", choices=[s for s, _ in Image.STATES])
        owner = parser.add_mutually_exclusive_group()
        owner.add_argument("--owner", help="user name or id")
        owner.add_argument("--system", action="store_true", help="make it a system image")
        parser.add_argument("--meta", action="append", metavar="KEY=VALUE")
        parser.add_argument("--delete-meta", action="append", metavar="KEY")

    @fail_cleanly
    def handle(self, *args, **options):
        try:
            image = Image.objects.get(pk=options["image_id"])
        except Image.DoesNotExist:
            raise NotFound("No image with id %d (see snf-manage image-list)."
                           % options["image_id"]) from None
        if options["format"] and options["format"] not in Image.FORMATS:
            raise CommandError("--format must be one of %s." % ", ".join(Image.FORMATS))
        meta = parse_meta(options["meta"])
        validate_metadata(meta)
        with transaction.atomic():
            for option, field in (("name", "name"), ("backend_id", "backend_id"),
                                  ("format", "format"), ("state", "state")):
                if options[option]:
                    setattr(image, field, options[option])
            if options["public"] is not None:
                image.public = parse_bool(options["public"])
            if options["owner"]:
                image.owner = users.get_user(options["owner"])
            elif options["system"]:
                image.owner = None
            image.save()
            for key, value in meta.items():
                ImageMetadata.objects.update_or_create(image=image, meta_key=key,
                                                       defaults={"meta_value": value})
            for key in options["delete_meta"] or []:
                image.metadata.filter(meta_key=key).delete()
        self.emit([image_row(image)], DETAIL, options, single=True)
