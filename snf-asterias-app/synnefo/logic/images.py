"""Images: what servers are built from. System images have no owner; users see
public images and their own, and only the owner changes or deletes an image.

An image's data is a file of the image store (``image_store``), named by its
``backend_id``. It gets there through the image API (create: QUEUED, upload: SAVING,
then ACTIVE once the whole stream is stored and checked) or ``snf-manage
image-register`` with a file. An image registered by name only has no data here: the
Ganeti nodes hold it under their IMAGE_DIR.
"""

import logging
import os

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum

from synnefo.db.models import Image, ImageMetadata, User

from . import image_links, image_store, quotas
from .errors import Conflict, Forbidden, InvalidInput, NotFound, OverLimit
from .ids import MAX_ID, parse_id
from .metadata import check_total, total_after, validate_metadata
from .text import check_no_control

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Glance's disk and container formats this service accepts. snf-image deploys a whole
# raw disk ("raw", Synnefo's diskdump) or one of Synnefo's own formats, named directly.
RAW_DISK_FORMATS = ("raw",)
CONTAINER_FORMATS = ("bare",)
# Properties openstacksdk sets at create from the file it is about to upload: the
# upload must match them.
SDK_SHA256 = "owner_specified.openstack.sha256"
SDK_MD5 = "owner_specified.openstack.md5"
# A property choosing what snf-image deploys when the Glance disk_format cannot say
# it (the openstack CLI only offers Glance's formats): e.g. synnefo_format=extdump.
FORMAT_PROPERTY = "synnefo_format"
# Image fields a Glance client may not set (Glance answers 403 for them).
READ_ONLY = ("id", "status", "checksum", "size", "virtual_size", "created_at", "updated_at",
             "owner", "self", "file", "schema", "os_hash_algo", "os_hash_value", "direct_url",
             "locations", "os_hidden", "stores")


# -- reading ---------------------------------------------------------------------------

def visible_images(user, include_deleted=False):
    query = Image.objects.all()
    if not user.is_admin:
        query = query.filter(Q(public=True) | Q(owner=user))
    if not include_deleted:
        query = query.exclude(state=Image.STATE_DELETED)
    return query


def filter_images(user, since=None, name=None, status=None, with_metadata=False):
    """The compute API's image list (``since``: also deleted ones, updated since)."""
    query = visible_images(user, include_deleted=since is not None)
    if since is not None:
        query = query.filter(updated__gte=since)
    if name:
        query = query.filter(name=name)
    if status:
        query = query.filter(state=status.upper())
    return query.prefetch_related("metadata") if with_metadata else query


# Glance status -> state
GLANCE_STATES = {"queued": Image.STATE_QUEUED, "saving": Image.STATE_SAVING,
                 "active": Image.STATE_ACTIVE, "deleted": Image.STATE_DELETED}


def glance_images(user, name=None, visibility=None, owner=None, status=None):
    """The Glance list; ``owner``: "system" or a user id (int)."""
    query = visible_images(user).prefetch_related("metadata")
    if name:
        query = query.filter(name=name)
    if visibility in ("public", "private"):
        query = query.filter(public=visibility == "public")
    if owner == "system":
        query = query.filter(owner__isnull=True)
    elif owner is not None:
        query = query.filter(owner_id=owner)
    if status:
        state = GLANCE_STATES.get(status.lower())
        query = query.filter(state=state) if state else query.none()
    return query


def get_image(user, image_id, include_deleted=False):
    try:
        return visible_images(user, include_deleted).get(pk=parse_id(image_id))
    except Image.DoesNotExist:
        raise NotFound("Image %s not found." % (image_id,)) from None


def image_metadata(image):
    return {m.meta_key: m.meta_value for m in image.metadata.all()}


def _check_owner(user, image):
    if user.is_admin or (image.owner_id is not None and image.owner_id == user.id):
        return
    raise Forbidden("Image %d is not yours: only its owner may change or delete it." % image.id)


def has_data(image):
    """Whether the store holds this image's data (what the service itself checked)."""
    return bool(image.checksum) and image_store.exists(image.backend_id)


def open_data(image):
    """(file, size, md5) of the image's data, or None when it has none."""
    if image.state != Image.STATE_ACTIVE or not has_data(image):
        return None
    try:
        return image_store.open_data(image.backend_id), image.size, image.md5
    except FileNotFoundError:  # deleted meanwhile
        return None


def open_data_by_link(image_id, expires, signature, source=""):
    """(file, size, md5) for a node's signed link; Forbidden (and a log line) for a
    forged or expired link, which reveals nothing about the image."""
    image = Image.objects.filter(pk=parse_id(image_id) or 0).first()
    try:
        image_links.check_link(image.id if image else 0, image.checksum if image else "",
                               expires, signature)
    except Forbidden as exc:
        log.warning("image link refused (image %s, from %s): %s", image_id, source or "?",
                    exc.message)
        raise
    data = open_data(image)
    if data is None:
        raise NotFound("Image %d has no data." % image.id)
    return data


def node_osparams(image):
    """The OS parameters telling snf-image where ``image``'s data is: img_id (the file
    name under the nodes' IMAGE_DIR, or a signed link to this API when they fetch from
    it) and, when the service knows it, img_checksum ("sha256:<hex>")."""
    params = {"img_id": image.backend_id}
    if image.checksum:
        params["img_checksum"] = "sha256:" + image.checksum
        if settings.IMAGE_NODES_FETCH_FROM_API and has_data(image):
            params["img_id"] = image_links.make_link(image)
    return params


# -- quota -----------------------------------------------------------------------------

def space_used(user, exclude=None):
    """Bytes of the user's images that are not deleted (an upload under way counts with
    the length it announced)."""
    query = Image.objects.filter(owner=user).exclude(state=Image.STATE_DELETED)
    if exclude is not None:
        query = query.exclude(pk=exclude.pk)
    return query.aggregate(total=Sum("size"))["total"] or 0


def _space_left(user, image):
    """Bytes the user may still store, with the user row locked by the caller."""
    limit = quotas.limits(user)["image_space"] * MIB
    return limit, limit - space_used(user, exclude=image)


def _over_quota(limit, used, adding):
    return OverLimit("Quota exceeded for image space: %d MiB in use, %d MiB more needed, "
                     "limit %d MiB. Delete images or ask an administrator for a larger "
                     "quota." % (-(-used // MIB), -(-adding // MIB), limit // MIB),
                     resource="image_space")


# -- Glance v2: create, upload, update, delete -----------------------------------------

def _check_name(name):
    if not isinstance(name, str) or len(name) > 255:
        raise InvalidInput("'name' must be a string of at most 255 characters.")
    check_no_control(name, "'name'")
    return name.strip()


def _check_size_field(value, field):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise InvalidInput("'%s' must be a whole number from 0 to %d, got %r."
                           % (field, MAX_ID, value))
    return value


def _deploy_format(disk_format, container_format, properties):
    """(format snf-image deploys, disk_format, container_format) of a create request."""
    disk_format = disk_format or "raw"
    container_format = container_format or "bare"
    if disk_format not in RAW_DISK_FORMATS + Image.FORMATS:
        raise InvalidInput("disk_format %r cannot be deployed: use raw (a whole disk, "
                           "diskdump) or one of %s." % (disk_format, ", ".join(Image.FORMATS)))
    if container_format not in CONTAINER_FORMATS:
        raise InvalidInput("container_format must be bare, got %r." % (container_format,))
    fmt = properties.pop(FORMAT_PROPERTY, None) or (
        "diskdump" if disk_format in RAW_DISK_FORMATS else disk_format)
    if fmt not in Image.FORMATS:
        raise InvalidInput("%s must be one of %s, got %r."
                           % (FORMAT_PROPERTY, ", ".join(Image.FORMATS), fmt))
    return fmt, disk_format, container_format


def _check_visibility(user, visibility):
    if visibility not in (None, "private", "public"):
        raise InvalidInput("'visibility' must be private or public, got %r." % (visibility,))
    if visibility == "public" and not user.is_admin:
        raise Forbidden("Only an administrator may make an image public.")
    return visibility == "public"


def create_image(user, fields):
    """A QUEUED image of ``user`` from a Glance create body (a dict)."""
    fields = dict(fields)
    for key in READ_ONLY:
        if key in fields:
            raise Forbidden("Attribute '%s' is read-only." % key)
    name = _check_name(fields.pop("name", None) or "")
    public = _check_visibility(user, fields.pop("visibility", None))
    min_disk = _check_size_field(fields.pop("min_disk", 0), "min_disk")
    min_ram = _check_size_field(fields.pop("min_ram", 0), "min_ram")
    if fields.pop("protected", False) not in (False, None):
        raise InvalidInput("Protected images are not supported.")
    if fields.pop("tags", None):
        raise InvalidInput("Image tags are not supported.")
    disk_format = fields.pop("disk_format", None)
    container_format = fields.pop("container_format", None)
    for key, value in (("disk_format", disk_format), ("container_format", container_format)):
        if value is not None and not isinstance(value, str):
            raise InvalidInput("'%s' must be a string." % key)
    properties = {k: v for k, v in fields.items() if v is not None}
    fmt, disk_format, container_format = _deploy_format(disk_format, container_format,
                                                        properties)
    validate_metadata(properties, "properties")
    with transaction.atomic():
        image = Image.objects.create(name=name, owner=user, public=public, format=fmt,
                                     disk_format=disk_format, container_format=container_format,
                                     state=Image.STATE_QUEUED, min_disk=min_disk,
                                     min_ram=min_ram, backend_id="")
        image.backend_id = image_store.new_name(image.id)
        image.save(update_fields=["backend_id"])
        for key, value in properties.items():
            ImageMetadata.objects.create(image=image, meta_key=key, meta_value=value)
    return image


def upload(user, image, chunks, length=None):
    """Store the data of the QUEUED ``image`` from the byte ``chunks`` (``length``: the
    announced size, None if unknown); the ACTIVE image.

    The quota check reserves the announced length under the user's row lock, so two
    uploads cannot both pass it; an upload of unknown length is checked against what
    is left as it streams and again, under the lock, before it becomes ACTIVE.
    Conflict unless the image is QUEUED; OverLimit past the quota; InvalidInput when
    the data is shorter than announced or does not match the checksum the image was
    created with. On any failure the image is QUEUED again and nothing is stored.
    """
    _check_owner(user, image)
    with transaction.atomic():
        owner = User.objects.select_for_update().get(pk=image.owner_id or user.pk)
        row = Image.objects.select_for_update().get(pk=image.pk)
        if row.state != Image.STATE_QUEUED:
            raise Conflict("Image %d is %s: data can only be uploaded once, to a queued "
                           "image." % (row.id, row.state.lower()))
        limit, left = _space_left(owner, row)
        if length is not None and length > left:
            raise _over_quota(limit, limit - left, length)
        row.state, row.size = Image.STATE_SAVING, length or 0
        row.save(update_fields=["state", "size", "updated"])
    expected = image_metadata(row)
    try:
        hashes = image_store.write(row.backend_id, chunks,
                                   limit=left if length is None else length,
                                   check=lambda h: _check_stream(row, h, length, expected))
    except image_store.StoreError:
        _requeue(row)
        raise _over_quota(limit, limit - left, left + 1) from None
    except BaseException:
        _requeue(row)
        raise
    with transaction.atomic():
        owner = User.objects.select_for_update().get(pk=owner.pk)
        current = Image.objects.select_for_update().get(pk=row.pk)
        limit, left = _space_left(owner, current)
        problem = None
        if current.state != Image.STATE_SAVING:  # deleted while it was arriving
            problem = NotFound("Image %d was deleted during the upload." % row.id)
        elif hashes.size > left:
            problem = _over_quota(limit, limit - left, hashes.size)
        if problem is not None:
            image_store.remove(row.backend_id)
            if current.state == Image.STATE_SAVING:
                current.state, current.size = Image.STATE_QUEUED, 0
                current.save(update_fields=["state", "size", "updated"])
            raise problem
        current.state, current.size = Image.STATE_ACTIVE, hashes.size
        current.checksum, current.md5 = hashes.sha256.hexdigest(), hashes.md5.hexdigest()
        current.save(update_fields=["state", "size", "checksum", "md5", "updated"])
    log.info("image %d: %d bytes stored as %s (sha256 %s)", current.id, current.size,
             current.backend_id, current.checksum)
    return current


def _check_stream(image, hashes, length, expected):
    if length is not None and hashes.size != length:
        raise InvalidInput("The upload ended after %d of the %d bytes announced."
                           % (hashes.size, length))
    for key, digest in ((SDK_SHA256, hashes.sha256), (SDK_MD5, hashes.md5)):
        want = (expected.get(key) or "").strip().lower()
        if want and want != digest.hexdigest():
            raise InvalidInput("The uploaded data does not match the checksum image %d was "
                               "created with (%s): nothing was stored." % (image.id, key))


def _requeue(image):
    Image.objects.filter(pk=image.pk, state=Image.STATE_SAVING).update(
        state=Image.STATE_QUEUED, size=0)


def update_image(user, image, changes):
    """Apply Glance PATCH changes: a list of (op, attribute, value) with op "add",
    "replace" or "remove" (the API parsed the JSON patch)."""
    _check_owner(user, image)
    with transaction.atomic():
        image = Image.objects.select_for_update().get(pk=image.pk)
        meta = image_metadata(image)
        for op, attribute, value in changes:
            if attribute in READ_ONLY or attribute in ("disk_format", "container_format",
                                                       FORMAT_PROPERTY, "protected", "tags"):
                raise Forbidden("Attribute '%s' cannot be changed here." % attribute)
            if attribute == "name":
                image.name = _check_name(value if op != "remove" else "")
            elif attribute in ("min_disk", "min_ram"):
                setattr(image, attribute, _check_size_field(value if op != "remove" else 0,
                                                            attribute))
            elif attribute == "visibility":
                image.public = _check_visibility(user, value if op != "remove" else None)
            elif op == "remove":
                if attribute not in meta:
                    raise Conflict("Image %d has no property %r." % (image.id, attribute))
                del meta[attribute]
            else:
                if op == "replace" and attribute not in meta:
                    raise Conflict("Image %d has no property %r to replace."
                                   % (image.id, attribute))
                meta[attribute] = value
        validate_metadata(meta, "properties")
        image.save()
        image.metadata.exclude(meta_key__in=list(meta)).delete()
        for key, value in meta.items():
            ImageMetadata.objects.update_or_create(image=image, meta_key=key,
                                                   defaults={"meta_value": value})
    return image


def delete_image(user, image):
    """Mark it DELETED and remove its data from the store (unless another image still
    names the same file, as two registrations of one file do)."""
    _check_owner(user, image)
    with transaction.atomic():
        Image.objects.filter(pk=image.pk).update(state=Image.STATE_DELETED)
        shared = Image.objects.filter(backend_id=image.backend_id).exclude(
            pk=image.pk).exclude(state=Image.STATE_DELETED).exists()
    image.state = Image.STATE_DELETED
    if image.checksum and not shared:
        image_store.remove(image.backend_id)
        log.info("image %d deleted; its data %s removed", image.id, image.backend_id)


# -- compute API metadata --------------------------------------------------------------

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


# -- administrators --------------------------------------------------------------------

def register_image(name, backend_id, format="diskdump", owner=None, public=False,
                   metadata=None, min_disk=0, min_ram=0, size=0, checksum="", md5=""):
    if not name or not backend_id:
        raise InvalidInput("An image needs a name and the backend id the OS provider knows.")
    if format not in Image.FORMATS:
        raise InvalidInput("Image format %r is not one of %s." % (format, ", ".join(Image.FORMATS)))
    validate_metadata(metadata or {})
    with transaction.atomic():
        image = Image.objects.create(name=name, backend_id=backend_id, format=format, owner=owner,
                                     public=public, min_disk=min_disk, min_ram=min_ram, size=size,
                                     checksum=checksum, md5=md5,
                                     disk_format="raw" if format == "diskdump" else format,
                                     container_format="bare")
        for key, value in (metadata or {}).items():
            ImageMetadata.objects.create(image=image, meta_key=key, meta_value=value)
    return image


def register_file(name, path, **kwargs):
    """Register the data file ``path``: hashed in place when it is a file of the image
    store, else copied into the store first. Size and checksums are recorded."""
    store = os.path.realpath(image_store.directory())
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        raise InvalidInput("%s is not a file." % path)
    if os.path.dirname(real) == store and image_store.valid_name(os.path.basename(real)):
        size, sha256, md5 = image_store.hash_file(real)
        return register_image(name, os.path.basename(real), size=size, checksum=sha256,
                              md5=md5, **kwargs)
    with transaction.atomic():
        image = register_image(name, "(copying)", **kwargs)
        backend_id = image_store.new_name(image.id)
        hashes = image_store.copy_in(real, backend_id)
        Image.objects.filter(pk=image.pk).update(
            backend_id=backend_id, size=hashes.size, checksum=hashes.sha256.hexdigest(),
            md5=hashes.md5.hexdigest())
    image.refresh_from_db()
    return image
