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
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_databases,
    teardown_databases,
)
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
    """(wall p50, wall p90, CPU p50) in ms: on a shared machine the wall time includes
    waiting for a CPU; the process's CPU time is what the request itself cost."""
    wall, cpu = [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        r = client.get(url, **headers)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - t0)
        assert r.status_code == 200, r.content[:200]
    return (statistics.median(wall) * 1e3, sorted(wall)[int(len(wall) * 0.9) - 1] * 1e3,
            statistics.median(cpu) * 1e3)


def _queries(client, url, headers):
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, **headers)
    return len(ctx.captured_queries)


def _row(label, api, raw, queries, body):
    print("%-34s %8.1f / %-8.1f %7.1f %9s %6d %8d KiB"
          % (label, api[0], api[1], api[2],
             "%.2f" % raw[0] if raw else "-", queries, body // 1024))


def _measure(client, headers, label, url, rounds, bare=True):
    """Time ``url`` and, next to it, the bare view returning the very same bytes."""
    body = client.get(url, **headers).content
    PREBUILT["body"] = body
    api = _time(client, url, headers, rounds)
    raw = _time(client, "/bare", headers, rounds) if bare else None
    _row(label, api, raw, _queries(client, url, headers), len(body))
    # ci/bench.sh gathers these lines into its closing table
    print("SUMMARY|%s, p50 wall / CPU|%.1f / %.1f ms|%s|-"
          % (label, api[0], api[2], "bare view %.2f ms" % raw[0] if raw else "-"))
    return api


def _networks_and_ports(user, network, count):
    """``count`` private networks of ``user`` (ports: the servers' NICs exist already)."""
    from synnefo.db.models import Network
    have = Network.objects.filter(owner=user).count()
    Network.objects.bulk_create(
        [Network(name="bench-net-%d" % i, owner=user, state="ACTIVE", type="PRIVATE_FILTERED",
                 subnet="10.%d.%d.0/24" % (i // 250, i % 250), gateway="")
         for i in range(have, count)])


def main(sizes=(10, 100, 1000), since_total=10000):
    from django.utils import timezone

    from synnefo.db.models import Flavor, Image, Network, VirtualMachine
    from synnefo.logic import identity, users
    print("machine: %s, %d CPUs, Python %s, Django %s, DB %s; load average %s"
          % (platform.platform(), os.cpu_count(), platform.python_version(),
             django.get_version(), connection.vendor,
             " ".join("%.2f" % x for x in os.getloadavg())))
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
            print("%-34s %19s %7s %9s %6s %12s" % ("request", "wall ms p50 / p90", "CPU ms",
                                                   "bare ms", "SQL", "body"))
            for size in sizes:
                _populate(user, flavor, image, network, size)
                rounds = 30 if size <= 100 else 10
                _measure(client, headers, "servers/detail, %d servers" % size,
                         "/compute/v2.1/servers/detail?limit=%d" % size, rounds)
            size = max(sizes)
            _networks_and_ports(user, network, size)
            _measure(client, headers, "networks, %d" % (size + 1), "/network/v2.0/networks", 10)
            _measure(client, headers, "ports, %d" % size, "/network/v2.0/ports", 10)
            # changes-since: one server changed among since_total
            _populate(user, flavor, image, network, since_total)
            since = timezone.now()
            time.sleep(1.1)  # changes-since has a resolution of a second
            VirtualMachine.objects.filter(
                pk=VirtualMachine.objects.filter(owner=user).order_by("id").values("pk")[:1]
            ).update(name="changed", updated=timezone.now())
            url = "/compute/v2.1/servers/detail?changes-since=%s" % since.strftime(
                "%Y-%m-%dT%H:%M:%SZ")
            assert len(client.get(url, **headers).json()["servers"]) == 1
            _measure(client, headers, "changes-since, 1 of %d servers" % since_total, url, 30,
                     bare=False)
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
