from synnefo.logic.images import image_metadata


def image_row(i):
    return {"id": i.id, "name": i.name, "backend_id": i.backend_id, "format": i.format,
            "owner": i.owner.name if i.owner_id else "(system)", "public": i.public,
            "state": i.state, "min_disk": i.min_disk, "min_ram": i.min_ram,
            "size": i.size, "sha256": i.checksum or None,
            "metadata": image_metadata(i)}


COLUMNS = ["id", "name", "backend_id", "format", "owner", "public", "state"]
DETAIL = COLUMNS + ["size", "sha256", "metadata"]
