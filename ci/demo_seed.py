"""Create the demo's user, flavors, image and Ganeti backend (idempotent)."""

import os

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402

from synnefo.db import models as m  # noqa: E402

user, _ = m.User.objects.get_or_create(name=os.environ["DEMO_USER"],
                                       defaults={"email": "demo@example.org"})
user.password = make_password(os.environ["DEMO_PASSWORD"])
user.state = m.User.STATE_ACTIVE
user.save()

for cpu, ram, disk in [(1, 128, 1), (1, 256, 1), (2, 512, 2)]:
    m.Flavor.objects.get_or_create(cpu=cpu, ram=ram, disk=disk, disk_template="file")

image, _ = m.Image.objects.get_or_create(
    name="Debian Bookworm (demo)", owner=None,
    defaults={"public": True, "backend_id": "debian-12-demo", "format": "diskdump"})
m.ImageMetadata.objects.get_or_create(image=image, meta_key="OS",
                                      defaults={"meta_value": "debian"})

host, port, username, password = settings.GANETI_CLUSTER_INFO
m.Backend.objects.update_or_create(clustername=host, defaults={
    "port": port, "username": username, "password": password, "hypervisor": "fake"})
print("demo data ready: user %s, %d flavors, image %r, backend %s"
      % (user.name, m.Flavor.objects.count(), image.name, host))
