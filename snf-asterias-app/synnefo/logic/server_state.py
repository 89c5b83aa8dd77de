"""A server's state as users see it, and the one way a user action reaches Ganeti.

Every action on an existing server (start, stop, reboot, resize, firewall, delete,
attach and detach of ports) goes the same way, Synnefo's ``server_command``:

1. under the server's row lock, check that its state allows the action (``guard``) and
   record the action with no job id yet (``record_action``);
2. submit the Ganeti job outside the transaction (``submit``): when RAPI refuses,
   the recorded action is rolled back (what it replaced comes back) and the user gets
   ``BackendUnavailable``;
3. store the job id (``store_job``): the dispatcher callbacks apply the job's result
   to ``operstate`` and the ``backend*`` fields; until that job is seen finished the
   server shows a transitional status (REBOOT, RESIZE) or task (deleting).

Writes after a RAPI call use ``QuerySet.update`` on the fields this module owns, never
``save()`` of a stale object: the dispatcher may have written the row meanwhile.
``servers`` and ``ports`` both build on this module; it imports neither.
"""

import logging

from django.db import transaction

from synnefo.backend.rapi import RapiError, user_reason
from synnefo.common.protocol import FINAL_JOB_STATUSES
from synnefo.db.models import VirtualMachine

from .errors import BackendUnavailable, BuildInProgress, Conflict, Forbidden, NotFound
from .ids import parse_id

log = logging.getLogger(__name__)

# operstate -> API status (OpenStack clients expect SHUTOFF for a stopped server)
OPERSTATE_TO_STATUS = {"BUILD": "BUILD", "STARTED": "ACTIVE", "STOPPED": "SHUTOFF",
                       "ERROR": "ERROR", "DESTROYED": "DELETED"}
ACTION_TO_STATUS = {"REBOOT": "REBOOT", "RESIZE": "RESIZE"}
ACTION_TO_TASK = {"START": "powering-on", "STOP": "powering-off", "REBOOT": "rebooting",
                  "RESIZE": "resize_migrating", "DESTROY": "deleting", "CREATE": "spawning",
                  "MODIFY": "updating"}
# action -> the operstates it may start from (DESTROY: any, see guard)
ALLOWED_FROM = {"START": ("STOPPED",), "STOP": ("STARTED",), "REBOOT": ("STARTED",),
                "RESIZE": ("STARTED", "STOPPED"), "MODIFY": ("STARTED", "STOPPED"),
                "CONSOLE": ("STARTED",)}


# -- reading state ---------------------------------------------------------------------

def task_pending(vm):
    """True while the user action recorded on ``vm`` has not been seen finished."""
    if not vm.action or vm.action == "CREATE":
        return False
    if vm.task_job_id is None:
        return True  # submitted a moment ago; the job id is being stored
    if vm.backendjobid is None:
        return True
    if vm.backendjobid > vm.task_job_id:
        return False  # a later job of this instance has been seen: ours is over
    return not (vm.backendjobid == vm.task_job_id
                and vm.backendjobstatus in FINAL_JOB_STATUSES)


def api_status(vm):
    if vm.deleted:
        return "DELETED"
    status = OPERSTATE_TO_STATUS.get(vm.operstate, "UNKNOWN")
    if status in ("ACTIVE", "SHUTOFF") and task_pending(vm):
        status = ACTION_TO_STATUS.get(vm.action, status)
    if (status == "ACTIVE" and vm.backendopcode == "OP_INSTANCE_REBOOT"
            and vm.backendjobstatus in ("queued", "waiting", "running")):
        status = "REBOOT"
    return status


def task_state(vm):
    """OpenStack's task_state: what is being done to the server now, or None."""
    if vm.deleted:
        return None
    if vm.operstate == "BUILD":
        return "deleting" if vm.action == "DESTROY" else "spawning"
    if task_pending(vm):
        return ACTION_TO_TASK.get(vm.action)
    return None


def progress(vm):
    if vm.operstate == "BUILD":
        return max(0, min(100, vm.buildpercentage))
    return 100 if vm.operstate in ("STARTED", "STOPPED") else 0


# -- finding servers -------------------------------------------------------------------

def visible_servers(user, include_deleted=False):
    query = VirtualMachine.objects.all()
    if not user.is_admin:
        query = query.filter(owner=user)
    if not include_deleted:
        query = query.filter(deleted=False)
    return query


def server_not_found(server_id):
    return NotFound("Server %s not found." % (server_id,))


def server_query(user, server_id, include_deleted=False):
    """The query of ``user``'s server ``server_id`` (at most one row); NotFound for an
    id that cannot be one."""
    pk = parse_id(server_id)
    if pk is None:
        raise server_not_found(server_id)
    return visible_servers(user, include_deleted).filter(pk=pk)


def get_server(user, server_id, include_deleted=False, for_update=False):
    query = server_query(user, server_id, include_deleted)
    if for_update:
        query = query.select_for_update()
    try:
        return query.get()
    except VirtualMachine.DoesNotExist:
        raise server_not_found(server_id) from None


# -- the command: guard, record, submit, store -------------------------------------------

def guard(vm, action):
    """Raise the error a user can act on when ``vm``'s state forbids ``action``."""
    if vm.deleted:
        raise NotFound("Server %d has been deleted." % vm.id)
    if vm.action == "DESTROY" and (task_pending(vm) or vm.operstate == "BUILD"):
        raise Conflict("Server %d is being deleted." % vm.id)
    if action == "DESTROY":
        return
    if vm.suspended:
        raise Forbidden("Server %d is suspended by an administrator; ask them to release it."
                        % vm.id)
    if vm.operstate == "BUILD":
        raise BuildInProgress("Server %d is being built; wait until it is ACTIVE." % vm.id)
    if vm.operstate == "ERROR":
        raise Conflict("Server %d is in ERROR; only deleting it is possible." % vm.id)
    if task_pending(vm):
        raise Conflict("Server %d is busy with %s; try again when it has finished."
                       % (vm.id, vm.action))
    if vm.operstate not in ALLOWED_FROM[action]:
        raise Conflict("Cannot %s server %d while it is %s." % (
            action.lower(), vm.id, OPERSTATE_TO_STATUS.get(vm.operstate, vm.operstate)))


def record_action(vm, action, **fields):
    """Mark the locked ``vm`` busy with ``action`` (no job id yet), inside the caller's
    transaction. Returns what it replaced, for ``submit`` and ``store_job``."""
    previous = (vm.action, vm.task_job_id)
    VirtualMachine.objects.filter(pk=vm.pk).update(action=action, task_job_id=None, **fields)
    return previous


def _restore(vm, action, previous):
    """Put back what ``record_action`` replaced, unless something else came meanwhile."""
    VirtualMachine.objects.filter(pk=vm.pk, action=action, task_job_id=None).update(
        action=previous[0], task_job_id=previous[1])


def submit(vm, call, what, action=None, previous=None, undo=None):
    """``call(vm)`` (a backend function submitting one job) with ``vm`` freshly read;
    its job id. When RAPI refuses, ``undo()`` (if any) and the recorded ``action`` are
    rolled back and BackendUnavailable names ``what`` was not accepted."""
    vm = VirtualMachine.objects.select_related("backend", "flavor").get(pk=vm.pk)
    try:
        return call(vm)
    except RapiError as exc:
        if undo is not None:
            undo()
        if action is not None:
            _restore(vm, action, previous)
        log.warning("the %s failed at submission: %s", what, user_reason(exc))
        raise BackendUnavailable("The compute cluster did not accept the %s (%s); try again "
                                 "later." % (what, user_reason(exc))) from None


def store_job(vm, action, previous, job_id):
    """The job of the recorded ``action`` was accepted: keep its id (None: no job was
    needed after all, so what the action replaced comes back)."""
    if job_id is None:
        _restore(vm, action, previous)
    else:
        VirtualMachine.objects.filter(pk=vm.pk, action=action).update(task_job_id=job_id)


def server_command(user, server_id, action, call, noun=None, record=True, **fields):
    """Lock and guard the server, record ``action`` (with ``fields``), submit
    ``call(vm)`` and store its job id; ``record=False`` checks and submits only.
    A refusal names "the <noun> of server <id>" (noun: the action in lower case)."""
    with transaction.atomic():
        vm = get_server(user, server_id, for_update=True)
        guard(vm, action)
        if record:
            previous = record_action(vm, action, **fields)
    what = "%s of server %d" % (noun or action.lower(), vm.id)
    if not record:
        return submit(vm, call, what)
    job_id = submit(vm, call, what, action, previous)
    store_job(vm, action, previous, job_id)
    return job_id
