"""Shared by the user-* commands."""

from synnefo.logic import quotas

QUOTA_OPTIONS = [
    ("--max-servers", "max_servers", "servers the user may have"),
    ("--max-cores", "max_cores", "CPUs over all the user's servers"),
    ("--max-ram", "max_ram", "MiB of RAM over all the user's servers"),
    ("--max-disk", "max_disk", "GiB of disk over all the user's servers"),
    ("--max-networks", "max_networks", "private networks the user may have"),
    ("--max-image-space", "max_image_space", "MiB of data over all the user's images"),
]


def quota_values(options):
    return {field: options.get(field) for _o, field, _t in QUOTA_OPTIONS}


def user_row(user):
    limits = quotas.limits(user)
    return {"id": user.id, "name": user.name, "email": user.email, "admin": user.is_admin,
            "state": user.state, "has_password": bool(user.password),
            "servers": limits["servers"], "cores": limits["cores"], "ram": limits["ram"],
            "disk": limits["disk"], "networks": limits["networks"],
            "image_space": limits["image_space"],
            "created": user.created.strftime("%Y-%m-%d %H:%M:%S")}
