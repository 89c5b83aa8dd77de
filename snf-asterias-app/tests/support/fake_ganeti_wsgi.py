"""WSGI entry point of the client-compatibility integration tests: the real web
project and API, with the Ganeti job submission replaced by a simulator.

What the OpenStack clients exercise is the HTTP API; Ganeti and the dispatcher are
tested by their own suites. The simulator accepts each job and, a moment later,
reports its end through the dispatcher's own handlers (support.ganeti_jobs; a new
server's NICs first, as the hook would), from another thread, through its own DB
connection.
"""

import itertools
import os
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.webproject.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402

from support import ganeti_jobs  # noqa: E402
from synnefo.backend import instances, networks  # noqa: E402
from synnefo.db.models import NetworkInterface  # noqa: E402

DELAY = float(os.environ.get("SNF_FAKE_GANETI_DELAY", "0.5"))
_ids = itertools.count(int(time.time()) % 100000 * 100)
_clock = ganeti_jobs.Clock()


def _created_nics(vm_id):
    """The hook's report of a new server's NICs: addresses made up from the VM id."""
    return [{"index": nic.index, "name": "%snic-%d" % (settings.BACKEND_PREFIX_ID, nic.id),
             "mac": "aa:00:00:%02x:%02x:%02x" % (vm_id >> 16 & 255, vm_id >> 8 & 255,
                                                 vm_id & 255),
             "ip": "10.251.%d.%d" % (vm_id // 250, vm_id % 250 + 2)}
            for nic in NetworkInterface.objects.filter(machine_id=vm_id)]


def _apply(kind, vm_id, job_id, op_input):
    try:
        if kind == "create":
            ganeti_jobs.report_nics(_clock, vm_id, _created_nics(vm_id))
        ganeti_jobs.report_job(_clock, vm_id, kind, job_id, **op_input)
    finally:
        connection.close()


def _job(kind):
    def submit(vm, *args, **kwargs):
        job_id = next(_ids)
        threading.Timer(DELAY, _apply, (kind, vm.id, job_id,
                                        ganeti_jobs.job_input(kind, *args))).start()
        return job_id
    return submit


instances.create_instance = _job("create")
instances.startup_instance = _job("start")
instances.shutdown_instance = _job("stop")
instances.reboot_instance = _job("reboot")
instances.delete_instance = _job("delete")
instances.resize_instance = _job("resize")
instances.set_firewall_profile = _job("firewall")


# Network jobs (subnets, ports) are accepted and given ids; their results are not
# applied (the networks stay as the API left them), which is all the API tests need.
def _accepted(count=1):
    def submit(*args, **kwargs):
        jobs = [next(_ids) for _ in range(count)]
        return jobs if count > 1 else jobs[0]
    return submit


networks.create_network = _accepted(2)
networks.delete_network = _accepted(2)
networks.modify_network = _accepted()
networks.add_nic = _accepted()
networks.remove_nic = _accepted()
