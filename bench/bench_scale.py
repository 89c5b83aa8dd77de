"""Scale: reconciliation, `snf-manage server-list` and list pagination at 100, 1,000 and
10,000 servers (the curve), each server with one NIC and one metadata item.

Reconciliation reads one backend whose Ganeti side is 1,000 fake instances at most (the
cluster read is replaced by a list built here: the RAPI read itself is Ganeti's time, not
ours), running, each with its NIC as the DB has it, so the result is "nothing to fix"
after checking every server and NIC. Servers beyond the 1,000 instances are in BUILD
without a job yet (inside the grace period): checked, left alone.

In-process, on the database the test settings choose (SNF_TEST_DB: SQLite in memory by
default, or postgresql). Prints wall time, the growth of the Python heap while the step
ran (tracemalloc peak) and the number of SQL queries; asserts nothing about time.
Run: make bench  (or ci/bench.sh; BENCH=bench_scale)
"""

import io
import os
import platform
import sys
import time
import tracemalloc

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_django_settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import (  # noqa: E402
    CaptureQueriesContext,
    override_settings,
    setup_databases,
    teardown_databases,
)

from synnefo.backend import cluster  # noqa: E402

INSTANCES = 1000


def measure(step):
    """(seconds, peak Python heap growth in MiB, SQL queries) of ``step()``."""
    tracemalloc.start()
    with CaptureQueriesContext(connection) as ctx:
        t0 = time.perf_counter()
        step()
        elapsed = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return elapsed, peak / 2 ** 20, len(ctx.captured_queries)


def populate(user, flavor, image, network, backend, count):
    from synnefo.db.models import NetworkInterface, VirtualMachine, VirtualMachineMetadata
    have = VirtualMachine.objects.filter(owner=user).count()
    VirtualMachine.objects.bulk_create(
        [VirtualMachine(owner=user, name="scale-%d" % i, flavor=flavor, image=image,
                        backend=backend, operstate="STARTED" if i < INSTANCES else "BUILD")
         for i in range(have, count)], batch_size=500)
    new = list(VirtualMachine.objects.filter(owner=user).order_by("id")[have:])
    VirtualMachineMetadata.objects.bulk_create(
        [VirtualMachineMetadata(vm=vm, meta_key="OS", meta_value="debian") for vm in new],
        batch_size=500)
    NetworkInterface.objects.bulk_create(
        [NetworkInterface(machine=vm, network=network, index=0, state="ACTIVE",
                          mac="aa:00:%02x:%02x:%02x:%02x" % tuple(vm.id.to_bytes(4, "big")),
                          ipv4="10.%d.%d.%d" % (vm.id >> 16 & 255, vm.id >> 8 & 255,
                                                vm.id & 255))
         for vm in new], batch_size=500)


def fake_instances(backend):
    """What cluster.list_instances would say of the first INSTANCES servers."""
    from synnefo.db.models import NetworkInterface
    out = []
    for nic in (NetworkInterface.objects.filter(machine__backend=backend)
                .select_related("machine").order_by("machine_id")[:INSTANCES]):
        name = nic.machine.backend_vm_id
        out.append(cluster.Instance(name=name, running=True, nics=[cluster.Nic(
            index=0, mac=nic.mac, ip=nic.ipv4, name="%snic-%d" % (settings.BACKEND_PREFIX_ID,
                                                                   nic.id),
            network=None, link=nic.network.link, uuid="uuid-%d" % nic.id)]))
    return out


def walk_pages(client, headers, page):
    url, pages = "/compute/v2.1/servers?limit=%d" % page, 0
    while url:
        body = client.get(url, **headers).json()
        pages += 1
        nxt = body.get("servers_links")
        url = nxt[0]["href"].split("testserver", 1)[-1] if nxt else None
        if url and "://" in url:
            url = "/" + url.split("://", 1)[1].split("/", 1)[1]
    return pages


def main(sizes=(100, 1000, 10000)):
    from synnefo.db.models import Backend, Flavor, Image, Network
    from synnefo.logic import identity, reconciliation, users
    print("machine: %s, %d CPUs, Python %s, Django %s, DB %s; load average %s"
          % (platform.platform(), os.cpu_count(), platform.python_version(),
             django.get_version(), connection.vendor,
             " ".join("%.2f" % x for x in os.getloadavg())))
    old = setup_databases(verbosity=0, interactive=False)
    try:
        with override_settings(QUOTA_MAX_SERVERS=10 ** 6):
            user = users.create_user("scale")
            token, _ = identity.issue_token(user)
            flavor = Flavor.objects.create(cpu=1, ram=512, disk=5, disk_template="file")
            image = Image.objects.create(name="debian", backend_id="debian", public=True)
            network = Network.objects.create(name="public", public=True, state="ACTIVE",
                                             link="snf_public")
            backend = Backend.objects.create(clustername="scale.example.test", port=5080,
                                             username="u", password="p", hypervisor="fake")
            client = Client()
            headers = {"HTTP_X_AUTH_TOKEN": token}
            client.get("/compute/v2.1/servers", **headers)  # warm up: URL resolver, imports
            print("%8s  %-34s %10s %10s %8s" % ("servers", "step", "wall s", "heap MiB",
                                                 "SQL"))
            for size in sizes:
                populate(user, flavor, image, network, backend, size)
                instances = fake_instances(backend)
                real = cluster.list_instances
                cluster.list_instances = lambda b: instances
                try:
                    result = {}
                    steps = [
                        ("reconciliation (%d instances)" % len(instances),
                         lambda: result.update(r=reconciliation.reconcile([backend]))),
                        ("snf-manage server-list",
                         lambda: call_command("server-list", stdout=io.StringIO())),
                        ("all servers, pages of 100",
                         lambda: result.update(p=walk_pages(client, headers, 100))),
                        ("all servers, pages of 1,000",
                         lambda: walk_pages(client, headers, 1000)),
                    ]
                    for label, step in steps:
                        elapsed, heap, queries = measure(step)
                        print("%8d  %-34s %10.3f %10.1f %8d" % (size, label, elapsed, heap,
                                                               queries))
                        print("SUMMARY|%s, %d servers|%.3f s, %.1f MiB, %d queries|-|-"
                              % (label, size, elapsed, heap, queries))
                    findings = result["r"][0]
                    if findings:
                        print("  (%d findings: %s)" % (len(findings), sorted(
                            {f.kind for f in findings})))
                finally:
                    cluster.list_instances = real
    finally:
        teardown_databases(old, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
