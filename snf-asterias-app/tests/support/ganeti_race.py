"""Ganeti's transient network disconnect failure, forced every time on the real cluster.

What Ganeti does (3.0, cmdlib/network.py LUNetworkDisconnect): the disconnect declares
shared locks on the instances the node group has *at declaration time*, waits for them
and the group lock, then checks the group's instances again (cmdlib/common.py
CheckNodeGroupInstances) and fails with "Instances in node group '…' changed since locks
were acquired, wanted '…', have '…'; retry the operation" when they differ. Waiting for
locks goes in attempts (mcpu.LockAttemptTimeoutStrategy: 5 s, then about 8, 14, 29, 73,
75… s, each ±5 %); an attempt that times out drops its request (wconfd), and the next
one declares the instances anew from the configuration.

How DisconnectRace forces it, rather than hoping instances come and go at the right time:

1. A pawn instance of ours (diskless, stopped) is in the group.
2. A rename of the pawn is submitted and held in its *pre* hook (a script of this run in
   instance-rename-pre.d that waits while the gate file exists, for this pawn only): the
   rename job owns the pawn's lock, and the configuration still has the old name.
3. The disconnect (submitted by the code under test) declares the group's instances,
   the pawn under its old name, and waits for the pawn's lock. However many attempts it
   makes while the rename is held, each declares the old name again: all agree.
4. The gate opens, the rename writes the new name and releases the locks; the
   disconnect's pending request (old name) is granted and its check sees the new name:
   the transient failure, which force() checks in the disconnect job's result.

The one order that would escape: the disconnect starting a new lock attempt between
the rename's configuration write and its lock release (it would then declare the new
name). So the gate opens right after an attempt *began*, and a long one: while the
disconnect waits, a marker instance is created and the disconnect's pending request
(RAPI's lock query) is watched until it names the marker (it declared again: attempt 2
or later began); then a second marker the same way (attempt 3 or later: 13.5 s or
more). The gate opens at once; the rename's remaining work (a configuration write, the
noop OS rename script, hooks: about a second on a loaded machine) is far shorter, so the
disconnect is still in that attempt when the locks are released. Should Ganeti ever
behave otherwise, force() fails loudly instead of passing unnoticed.

Everything is this run's own (``<prefix>pawn``, ``<prefix>mark1/2``, the hook's name,
the gate under a private directory); other runs' instances and jobs are never touched,
but their disconnects from the group wait for the pawn too while the rename is held
(up to about half a minute), and then fail the same way. Two races at once (two pawns)
each align on their own disconnect only, so that case is not covered by the argument
above; force() checks that Ganeti's transient failure was met, not whose rename caused it.
"""

import os
import tempfile
import threading
import time
from urllib.parse import quote

from support.cluster import env
from synnefo.backend import instances
from synnefo.db import models as m

HOOK_DIR = "/etc/ganeti/hooks/instance-rename-pre.d"
# The hook's own bound: a test that died with the gate shut must not hold the pawn's
# lock (which every disconnect from the group waits for) for long.
HOOK_MAX_WAIT = 300
TRANSIENT = "changed since locks were acquired"

HOOK = """#!/bin/sh
# Written by synnefo's tests/support/ganeti_race.py: holds the rename of %(pawn)s (only) in its
# pre hook while %(gate)s exists, %(max)d s at most.
[ "$GANETI_INSTANCE_NAME" = "%(pawn)s" ] || exit 0
end=$(($(date +%%s) + %(max)d))
while [ -e "%(gate)s" ] && [ "$(date +%%s)" -lt "$end" ]; do sleep 0.05; done
exit 0
"""


class RaceError(AssertionError):
    """The forced condition did not happen."""


def _wait(what, check, timeout, stop):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if stop.is_set():
            raise RaceError("given up waiting for %s: the race was left" % what)
        if time.monotonic() > deadline:
            raise RaceError("timed out waiting for %s" % what)
        time.sleep(0.1)


def pawn_spec(backend):
    """A RAPI create body for a diskless noop instance on the test node (the race's pawn
    and marker), from the project's own builder."""
    user = m.User.objects.create(name="racer")
    flavor = m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")
    vm = m.VirtualMachine.objects.create(owner=user, flavor=flavor, backend=backend,
                                         name="pawn")
    spec = instances.build_create_spec(vm, "pw")
    spec["pnode"], spec["nics"] = env("SNF_TEST_GANETI_NODE"), []
    return spec


class DisconnectRace:
    """``with DisconnectRace(client, prefix, spec) as race:`` holds the pawn's rename;
    start the removal of a network under test, and ``race.force(network_name)`` makes
    its disconnect fail transiently once (or ``race.force_in_thread`` while a blocking
    call submits it). ``spec``: a RAPI create body for a diskless instance (pawn_spec())."""

    def __init__(self, client, prefix, spec):
        self.client, self.spec = client, spec
        self.pawn, self.renamed = prefix + "pawn", prefix + "pawn-r"
        self.markers = [prefix + "mark1", prefix + "mark2"]
        self.hook = os.path.join(HOOK_DIR, "90-%sgate" % prefix.replace(".", "-"))
        self.workdir = tempfile.mkdtemp(prefix="snf-race-")
        self.gate = os.path.join(self.workdir, "gate")
        self.rename_job = None
        self.failed_job = None  # the disconnect job that failed transiently (force())
        self.thread, self.error = None, None
        self.stop = threading.Event()  # set on leaving: a force() in a thread gives up

    # -- set up: the pawn, the hook, the held rename ---------------------------------
    def _create(self, name):
        spec = dict(self.spec, name=name, start=False, nics=[])
        job = self.client.wait_for_job(self.client.create_instance(spec), timeout=300)
        if job["status"] != "success":
            raise RaceError("creating %s failed: %s" % (name, job.get("opresult")))

    def __enter__(self):
        try:
            self._hold_rename()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _hold_rename(self):
        self._create(self.pawn)
        os.makedirs(HOOK_DIR, exist_ok=True)
        open(self.gate, "w").close()
        with open(self.hook, "w") as f:
            f.write(HOOK % {"pawn": self.pawn, "gate": self.gate, "max": HOOK_MAX_WAIT})
        os.chmod(self.hook, 0o755)
        self.rename_job = int(self.client.request(
            "PUT", "/2/instances/%s/rename" % quote(self.pawn, safe=""),
            body={"new_name": self.renamed, "ip_check": False, "name_check": False}))
        # Held: the rename job owns the pawn's lock and runs (its pre hook waits).
        _wait("the rename of %s to hold its lock" % self.pawn,
              lambda: str(self.rename_job) in self._locks().get(
                  "instance/" + self.pawn, ((), ()))[0], 120, self.stop)

    def __exit__(self, *exc):
        self.stop.set()
        if self.thread is not None:
            self.thread.join(600)
        self._open_gate()
        if os.path.exists(self.hook):
            os.unlink(self.hook)
        if self.rename_job is not None:
            self.client.wait_for_job(self.rename_job, timeout=300)
        present = {i["name"] for i in self.client.get_instances(bulk=True)}
        for name in [self.pawn, self.renamed] + self.markers:
            if name in present:
                self.client.wait_for_job(self.client.delete_instance(name), timeout=300)
        os.rmdir(self.workdir)

    def _open_gate(self):
        if os.path.exists(self.gate):
            os.unlink(self.gate)

    # -- Ganeti's lock table ---------------------------------------------------------
    def _locks(self):
        """{lock name: (owner job ids, pending job ids)} from RAPI's lock query."""
        rows = self.client.request("GET", "/2/query/lock",
                                   {"fields": "name,owner,pending"})["data"]
        table = {}
        for (_, name), (_, owners), (_, pending) in rows:
            waiting = {job for _, jobs in pending or () for job in jobs}
            table[name] = (set(owners or ()), waiting)
        return table

    def _waiting_for(self, job_id):
        """The locks ``job_id`` has a pending request for."""
        return {name for name, (_, waiting) in self._locks().items()
                if str(job_id) in waiting}

    def _disconnect_waiting(self, network_name):
        for job_id in self._locks().get("instance/" + self.pawn, ((), ()))[1]:
            ops = self.client.get_job_status(int(job_id)).get("ops") or []
            if any(op.get("OP_ID") == "OP_NETWORK_DISCONNECT"
                   and op.get("network_name") == network_name for op in ops):
                return int(job_id)
        return None

    # -- the race ------------------------------------------------------------------
    def force(self, network_name, timeout=300):
        """Wait for the disconnect of ``network_name`` to wait for the pawn, let it fail
        transiently as the module docstring says, and return its failed job."""
        try:
            job_id = _wait("a disconnect of %s waiting for %s" % (network_name, self.pawn),
                           lambda: self._disconnect_waiting(network_name), timeout,
                           self.stop)
            for marker in self.markers:
                self._create(marker)
                _wait("disconnect job %d to declare %s" % (job_id, marker),
                      lambda: "instance/" + marker in self._waiting_for(job_id), timeout,
                      self.stop)
        finally:
            self._open_gate()  # whatever happened: nobody waits for the pawn any longer
        opened = time.monotonic()
        renamed = self.client.wait_for_job(self.rename_job, timeout=timeout)
        took = time.monotonic() - opened
        if renamed["status"] != "success":
            raise RaceError("the rename failed: %s" % renamed.get("opresult"))
        job = self.client.wait_for_job(job_id, timeout=timeout)
        message = str(job.get("opresult"))
        if job["status"] != "error" or TRANSIENT not in message:
            raise RaceError("disconnect job %d did not fail transiently: %s %s"
                            % (job_id, job["status"], message))
        print("race: disconnect job %d failed transiently; the rename ended %.1f s after "
              "the gate opened, within the disconnect's lock attempt (13.5 s or more)"
              % (job_id, took))
        self.failed_job = job
        return job

    def force_in_thread(self, network_name):
        """force() in a thread (the caller then blocks in the command under test);
        __exit__ joins it and check() raises what it raised."""
        def run():
            try:
                self.force(network_name)
            except BaseException as exc:  # reported by check()
                self.error = exc
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def check(self):
        if self.thread is not None:
            self.thread.join(600)
        if self.error is not None:
            raise self.error
        if self.failed_job is None:
            raise RaceError("the disconnect was never forced")
