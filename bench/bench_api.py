"""GET /compute/v2.1/servers/detail latency at 10, 100 and 1,000 servers, next to a bare
Django view that returns the same pre-built JSON through the same middleware stack.

Runs in-process with Django's test client (no network), on the database the test
settings choose (SNF_TEST_DB: SQLite in memory by default, or postgresql). Prints
figures; asserts nothing about time.  Run: make bench  (or ci/bench.sh)
"""

import os
import platform
import statistics
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_django_settings")

import django  # noqa: E402

django.setup()

from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import override_settings, setup_databases, teardown_databases  # noqa: E402
from django.urls import path  # noqa: E402

from synnefo.api.urls import urlpatterns as api_patterns  # noqa: E402

PREBUILT = {"body": b"{}"}


def bare(request):
    return HttpResponse(PREBUILT["body"], content_type="application/json")


urlpatterns = [path("bare", bare)] + list(api_patterns)


def _populate(user, flavor, image, network, count):
    from synnefo.db.models import NetworkInterface, VirtualMachine, VirtualMachineMetadata
    have = VirtualMachine.objects.filter(owner=user).count()
    vms = [VirtualMachine(owner=user, name="bench-%d" % i, flavor=flavor, image=image,
                          operstate="STARTED") for i in range(have, count)]
    VirtualMachine.objects.bulk_create(vms)
    new = list(VirtualMachine.objects.filter(owner=user).order_by("id")[have:])
    VirtualMachineMetadata.objects.bulk_create(
        [VirtualMachineMetadata(vm=vm, meta_key="OS", meta_value="debian") for vm in new])
    NetworkInterface.objects.bulk_create(
        [NetworkInterface(machine=vm, network=network, index=0, ipv4="10.251.%d.%d"
                          % (vm.id // 250, vm.id % 250 + 2), state="ACTIVE") for vm in new])


def _time(client, url, headers, rounds):
    samples = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        r = client.get(url, **headers)
        samples.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.content[:200]
    return statistics.median(samples) * 1e3, sorted(samples)[int(len(samples) * 0.9) - 1] * 1e3


def main(sizes=(10, 100, 1000)):
    from synnefo.db.models import Flavor, Image, Network
    from synnefo.logic import identity, users
    print("machine: %s, %d CPUs, Python %s, Django %s, DB %s"
          % (platform.platform(), os.cpu_count(), platform.python_version(),
             django.get_version(), connection.vendor))
    old = setup_databases(verbosity=0, interactive=False)
    try:
        with override_settings(ROOT_URLCONF=__name__, QUOTA_MAX_SERVERS=10 ** 6):
            user = users.create_user("bench")
            token, _ = identity.issue_token(user)
            flavor = Flavor.objects.create(cpu=1, ram=512, disk=5, disk_template="file")
            image = Image.objects.create(name="debian", backend_id="debian", public=True)
            network = Network.objects.create(name="public", public=True, state="ACTIVE")
            client = Client()
            headers = {"HTTP_X_AUTH_TOKEN": token}
            print("%8s  %22s  %22s" % ("servers", "servers/detail ms (p50/p90)",
                                       "bare view ms (p50/p90)"))
            for size in sizes:
                _populate(user, flavor, image, network, size)
                rounds = 30 if size <= 100 else 10
                # the bare view returns exactly the bytes the API returned
                PREBUILT["body"] = client.get("/compute/v2.1/servers/detail?limit=%d" % size,
                                              **headers).content
                api = _time(client, "/compute/v2.1/servers/detail?limit=%d" % size, headers,
                            rounds)
                raw = _time(client, "/bare", headers, rounds)
                print("%8d  %12.1f / %-8.1f  %12.2f / %-8.2f (%d KiB)"
                      % (size, api[0], api[1], raw[0], raw[1], len(PREBUILT["body"]) // 1024))
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
