"""Time to interactive of the web application's machines view, in Debian's headless
chromium, with 10, 100 and 1,000 servers.

A deployment of its own: gunicorn serving the web project on a file SQLite database in a
temporary directory (static files served by the project), a user whose servers are
seeded straight into the database (rows as the dispatcher leaves them: STARTED, one NIC,
metadata). Nothing talks to Ganeti. For each size the browser, already signed in (the
token in sessionStorage), loads /ui/#/machines cold (cache disabled) five times; the
figure is performance.now() when the list's first page of rows is in the DOM and the
first row's link is focusable, i.e. from navigation start to a usable view (sampled every
10 ms). Prints figures; asserts nothing about time. Run: make bench BENCH=ui
"""

import json
import os
import platform
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))  # the live-service and browser helpers of the tests
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "test_django_settings")

import django  # noqa: E402

django.setup()  # (those helpers import the models)

from support.browser import Browser  # noqa: E402
from support.live import Gunicorn, live_settings, snf_manage  # noqa: E402

SIZES = (10, 100, 1000)
ROUNDS = 5
PASSWORD = "bench-pass-1"

SEED = """
from synnefo.db.models import (Flavor, Image, Network, NetworkInterface, User,
                               VirtualMachine, VirtualMachineMetadata)
user = User.objects.get(name="bench")
flavor = Flavor.objects.first()
image = Image.objects.first()
network = Network.objects.get(name="public")
have = VirtualMachine.objects.filter(owner=user).count()
VirtualMachine.objects.bulk_create([VirtualMachine(owner=user, name="bench-%%05d" %% i,
    flavor=flavor, image=image, operstate="STARTED") for i in range(have, %d)])
new = list(VirtualMachine.objects.filter(owner=user).order_by("id")[have:])
VirtualMachineMetadata.objects.bulk_create(
    [VirtualMachineMetadata(vm=vm, meta_key="OS", meta_value="debian") for vm in new])
NetworkInterface.objects.bulk_create([NetworkInterface(machine=vm, network=network, index=0,
    ipv4="10.251.%%d.%%d" %% (vm.id // 250, vm.id %% 250 + 2), state="ACTIVE") for vm in new])
"""

READY = """
const rows = document.querySelectorAll('#machines-table tbody tr').length;
const link = document.querySelector('#machines-table tbody a');
return rows >= arguments[0] && link ? performance.now() : null;
"""


def token(base):
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {
        "name": "bench", "domain": {"id": "default"}, "password": PASSWORD}}}}}
    req = urllib.request.Request(base + "/identity/v3/auth/tokens", method="POST",
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.headers["X-Subject-Token"]


def main():
    with tempfile.TemporaryDirectory(prefix="bench-ui-") as d:
        tmp = Path(d)
        environ = live_settings(tmp, WEBPROJECT_SERVE_STATIC=True, QUOTA_MAX_SERVERS=10 ** 6,
                                GANETI_CLUSTER_INFO=("bench.invalid", 5080, "u", "p"))

        def manage(*args, **kw):
            return snf_manage(environ, *args, **kw)
        manage("migrate", "-v0")
        manage("link_static", "-v", "0")
        manage("user-create", "bench", "--password-stdin", stdin=PASSWORD + "\n")
        manage("flavor-create", "1", "512", "5")
        manage("image-register", "debian-12", "debian-12-diskdump", "--public",
               "--meta", "OS=debian")
        manage("shell", "-c", "from synnefo.db.models import Network; Network.objects.create("
               "name='public', public=True, state='ACTIVE', type='PUBLIC_ROUTED', link='br0')")
        server = Gunicorn("synnefo.webproject.wsgi:application", environ,
                          str(tmp / "gunicorn.log"), workers=2, threads=4)
        browser = Browser(tmp)
        try:
            print("machine: %s, %d CPUs, %s" % (platform.platform(), os.cpu_count(),
                                                browser.driver.capabilities.get("browserVersion")))
            browser.driver.execute_cdp_cmd("Network.setCacheDisabled", {"cacheDisabled": True})
            browser.driver.get(server.base + "/ui/")
            browser.driver.execute_script(
                "sessionStorage.setItem('snf-ui', JSON.stringify({token: arguments[0], "
                "user: 'bench'}))", token(server.base))
            browser.driver.get(server.base + "/ui/#/machines")  # warm-up (not counted)
            print("%8s %12s %12s" % ("servers", "median ms", "max ms"))
            first = None
            for size in SIZES:
                manage("shell", "-c", SEED % size)
                samples = []
                for _ in range(ROUNDS):
                    browser.driver.get("about:blank")
                    browser.driver.get(server.base + "/ui/#/machines")
                    deadline = time.monotonic() + 120
                    while True:
                        t = browser.driver.execute_script(READY, min(size, 50))
                        if t is not None:
                            samples.append(t)
                            break
                        assert time.monotonic() < deadline, "the view never became ready"
                        time.sleep(0.01)
                median = statistics.median(samples)
                first = first or median
                print("%8d %12.0f %12.0f" % (size, median, max(samples)))
                print("SUMMARY|ui machines view, time to interactive, %d servers|%.0f ms|"
                      "%d servers: %.0f ms|%.1fx" % (size, median, SIZES[0], first,
                                                     median / first))
        finally:
            browser.quit()
            server.stop()


if __name__ == "__main__":
    main()
