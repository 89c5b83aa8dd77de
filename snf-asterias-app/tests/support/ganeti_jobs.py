"""The end of a Ganeti job as eventd and the hook report it, applied by the dispatcher's
own handlers (synnefo.logic.callbacks): what the fakes standing in for Ganeti
(support.api.FakeBackend in-process, support/fake_ganeti_wsgi.py under gunicorn) do
instead of writing the VM row themselves, so every test runs production's state machine.
"""

import threading
import time

from synnefo.backend import instances
from synnefo.db.models import VirtualMachine
from synnefo.logic import callbacks

# The backend call logic makes -> the opcode of the job it submits.
OPCODES = {"create": "OP_INSTANCE_CREATE", "start": "OP_INSTANCE_STARTUP",
           "stop": "OP_INSTANCE_SHUTDOWN", "reboot": "OP_INSTANCE_REBOOT",
           "delete": "OP_INSTANCE_REMOVE", "resize": "OP_INSTANCE_SET_PARAMS",
           "firewall": "OP_TAGS_SET"}


def job_input(kind, *args):
    """What eventd copies from the op into its message, given the backend call's
    arguments: a resize's beparams (instances.resize_instance(vm, flavor)), a tag
    job's tags (instances.set_firewall_profile(vm, index, profile))."""
    if kind == "resize":
        flavor, = args
        return {"beparams": {"vcpus": flavor.cpu, "maxmem": flavor.ram, "minmem": flavor.ram}}
    if kind == "firewall":
        return {"tags": [instances.firewall_tag(*args)]}
    return {}


class Clock:
    """Ganeti event times ([s, us]) that only move forward, also across threads: jobs end
    in the order they are reported."""

    def __init__(self):
        self._last = 0
        self._lock = threading.Lock()

    def now(self):
        with self._lock:
            self._last = max(int(time.time() * 1e6), self._last + 1)
            return [self._last // 10**6, self._last % 10**6]


def report_job(clock, vm_id, kind, job_id, status="success", **op_input):
    """Job ``job_id`` (a ``kind`` call on VM ``vm_id``) ended with ``status``: its
    ganeti-op-status message goes through the dispatcher's handler."""
    return callbacks.handle({
        "type": "ganeti-op-status", "instance": VirtualMachine(pk=vm_id).backend_vm_id,
        "operation": OPCODES[kind], "jobId": job_id, "status": status, "logmsg": "",
        "event_time": clock.now(), **op_input})


def report_nics(clock, vm_id, nics):
    """The hook's ganeti-net-status for VM ``vm_id``: ``nics``, dicts with index, name,
    mac, ip."""
    return callbacks.handle({
        "type": "ganeti-net-status", "instance": VirtualMachine(pk=vm_id).backend_vm_id,
        "nics": nics, "event_time": clock.now()})
