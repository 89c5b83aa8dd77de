def flavor_row(f):
    return {"id": f.id, "name": f.name, "cpu": f.cpu, "ram": f.ram, "disk": f.disk,
            "disk_template": f.disk_template, "deleted": f.deleted,
            "servers": getattr(f, "live_servers", None)}


COLUMNS = ["id", "name", "cpu", "ram", "disk", "disk_template", "deleted", "servers"]
