"""Images: what servers are built from. System images have no owner; users see
public images and their own, and only the owner changes or deletes an image."""

from django.db import transaction
from django.db.models import Q

from synnefo.db.models import Image, ImageMetadata

from .errors import Forbidden, InvalidInput, NotFound
from .ids import parse_id
from .metadata import check_total, total_after, validate_metadata


def visible_images(user, include_deleted=False):
    query = Image.objects.all()
    if not user.is_admin:
        query = query.filter(Q(public=True) | Q(owner=user))
    if not include_deleted:
        query = query.exclude(state=Image.STATE_DELETED)
    return query


def get_image(user, image_id, include_deleted=False):
    try:
        return visible_images(user, include_deleted).get(pk=parse_id(image_id))
    except Image.DoesNotExist:
        raise NotFound("Image %s not found." % (image_id,)) from None


def _check_owner(user, image):
    if user.is_admin or (image.owner_id is not None and image.owner_id == user.id):
        return
    raise Forbidden("Image %d is not yours: only its owner may change or delete it." % image.id)


def delete_image(user, image):
    _check_owner(user, image)
    image.state = Image.STATE_DELETED
    image.save(update_fields=["state", "updated"])


def image_metadata(image):
    return {m.meta_key: m.meta_value for m in image.metadata.all()}


def update_metadata(user, image, items, replace=False):
    _check_owner(user, image)
    validate_metadata(items)
    with transaction.atomic():
        # The row lock serialises concurrent writers for the total check.
        Image.objects.select_for_update().filter(pk=image.pk).first()
        current = image.metadata.values_list("meta_key", flat=True)
        check_total(total_after(current, items, replace), "Image %d" % image.id)
        if replace:
            image.metadata.exclude(meta_key__in=list(items)).delete()
        for key, value in items.items():
            ImageMetadata.objects.update_or_create(image=image, meta_key=key,
                                                   defaults={"meta_value": value})
        image.save(update_fields=["updated"])
    return image_metadata(image)


def delete_metadata_item(user, image, key):
    _check_owner(user, image)
    deleted, _ = image.metadata.filter(meta_key=key).delete()
    if not deleted:
        raise NotFound("Image %d has no metadata item %r." % (image.id, key))
    image.save(update_fields=["updated"])


def register_image(name, backend_id, format="diskdump", owner=None, public=False,
                   metadata=None, min_disk=0, min_ram=0, size=0):
    if not name or not backend_id:
        raise InvalidInput("An image needs a name and the backend id the OS provider knows.")
    if format not in Image.FORMATS:
        raise InvalidInput("Image format %r is not one of %s." % (format, ", ".join(Image.FORMATS)))
    validate_metadata(metadata or {})
    with transaction.atomic():
        image = Image.objects.create(name=name, backend_id=backend_id, format=format, owner=owner,
                                     public=public, min_disk=min_disk, min_ram=min_ram, size=size)
        for key, value in (metadata or {}).items():
            ImageMetadata.objects.create(image=image, meta_key=key, meta_value=value)
    return image
