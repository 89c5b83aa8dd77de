"""WSGI entry point of the client-compatibility integration tests: the real web
project and API, with the Ganeti job submission replaced by a simulator.

What the OpenStack clients exercise is the HTTP API; Ganeti and the dispatcher are
tested by their own suites. The simulator accepts each job and, a moment later,
writes its result to the VM row the way the dispatcher callbacks do (job fields,
then the new operstate), from another thread, through its own DB connection.
"""

import itertools
import os
import threading
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "synnefo.webproject.settings")

from django.core.wsgi import get_wsgi_application  # noqa: E402

application = get_wsgi_application()

from django.db import connection  # noqa: E402

from synnefo.backend import instances, networks  # noqa: E402
from synnefo.db.models import NetworkInterface, VirtualMachine  # noqa: E402

DELAY = float(os.environ.get("SNF_FAKE_GANETI_DELAY", "0.5"))
_ids = itertools.count(int(time.time()) % 100000 * 100)
RESULTS = {"create": ("OP_INSTANCE_CREATE", "STARTED"),
           "start": ("OP_INSTANCE_STARTUP", "STARTED"),
           "stop": ("OP_INSTANCE_SHUTDOWN", "STOPPED"),
           "reboot": ("OP_INSTANCE_REBOOT", "STARTED"),
           "delete": ("OP_INSTANCE_REMOVE", "DESTROYED"),
           "resize": ("OP_INSTANCE_SET_PARAMS", None),
           "firewall": ("OP_TAGS_SET", None)}


def _apply(kind, vm_id, job_id, new_flavor=None):
    try:
        opcode, state = RESULTS[kind]
        fields = {"backendjobid": job_id, "backendopcode": opcode,
                  "backendjobstatus": "success"}
        if state:
            fields["operstate"] = state
        if state == "DESTROYED":
            fields["deleted"] = True
        if new_flavor is not None:
            fields["flavor_id"] = new_flavor.id
        if kind == "create":
            fields["buildpercentage"] = 100
            for nic in NetworkInterface.objects.filter(machine_id=vm_id):
                NetworkInterface.objects.filter(pk=nic.pk).update(
                    state="ACTIVE", ipv4="10.251.%d.%d" % (vm_id // 250, vm_id % 250 + 2),
                    mac="aa:00:00:%02x:%02x:%02x" % (vm_id >> 16 & 255, vm_id >> 8 & 255,
                                                     vm_id & 255))
        VirtualMachine.objects.filter(pk=vm_id).update(**fields)
    finally:
        connection.close()


def _job(kind):
    def submit(vm, *args, **kwargs):
        job_id = next(_ids)
        new_flavor = args[0] if kind == "resize" else None
        threading.Timer(DELAY, _apply, (kind, vm.id, job_id, new_flavor)).start()
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
