"""Network administration (snf-manage network-*): the public network, removal retries,
waiting for Ganeti jobs, and a backend added later.

The admin tools wait for their Ganeti jobs and record the results the way the
dispatcher would; the service itself never polls.
"""

import time

from django.conf import settings
from django.db import transaction

from synnefo.backend import networks as gnet
from synnefo.backend.jobs import job_status, wait_for_job
from synnefo.backend.rapi import RapiError
from synnefo.common.protocol import FAILED_JOB_STATUSES
from synnefo.db.models import BackendNetwork, Network, User

from . import network_callbacks
from .errors import NotFound
from .networks import check_name, delete_network, id_or_not_found, remove_from_backends
from .subnets import add_subnet_to


def admin_user():
    """A stand-in requester with every right, for the admin tools."""
    return User(id=0, name="(snf-manage)", is_admin=True)


def create_public_network(name, subnet, gateway=None, subnet6=None, gateway6=None,
                          link=None, dhcp=True):
    """The public routed network (administrators: snf-manage network-create --public)."""
    name = check_name(name)
    with transaction.atomic():
        network = Network.objects.create(
            name=name, public=True, type="PUBLIC_ROUTED", state="ACTIVE", dhcp=dhcp,
            link=link or settings.PUBLIC_NETWORK_LINK)
    if subnet6:
        network = add_subnet_to(network, 6, subnet6, gateway6, dhcp, name="")
    if subnet:
        network = add_subnet_to(network, 4, subnet, gateway, dhcp, name="")
    return Network.objects.get(pk=network.pk)


def remove_network(network_id):
    """Delete a network (as ``networks.delete_network``), or, when it is deleted already,
    submit again the removal of what is left of it in Ganeti (a retry). Returns
    (network, the problems met submitting the removals)."""
    network = Network.objects.filter(pk=id_or_not_found(network_id, "Network")).first()
    if network is None:
        raise NotFound("Network %s not found." % (network_id,))
    if network.deleted:
        return network, remove_from_backends(network)
    return network, delete_network(admin_user(), network.id)


def settle_state(network):
    """Set ``network``'s state to what its BackendNetwork rows add up to (after waiting
    for their jobs)."""
    network.refresh_from_db()
    state = network_callbacks.network_state(network, network.backend_networks.all())
    Network.objects.filter(pk=network.pk).update(state=state)


def wait_for_backends(network, timeout=120):
    """Wait for the pending Ganeti jobs of ``network`` and record their results the way
    the dispatcher would (admin tools only: the service itself never polls).

    Returns [(clustername, operstate, job status)] per backend.
    """
    out = []
    deadline = time.monotonic() + timeout
    for bn in BackendNetwork.objects.filter(network=network).select_related("backend",
                                                                            "network"):
        # A transient failure is resubmitted (network_callbacks), which gives the row a
        # new last job: wait again, until the operation is over.
        while bn.operstate == "PENDING" and bn.backendjobid is not None:
            waited = bn.backendjobid
            job = wait_for_job(bn.backend, waited,
                               timeout=max(1, deadline - time.monotonic()))
            if job.status != "success":
                # The last job failed: maybe only because an earlier one of the same
                # submission did (the removal depends on the disconnects). Those are
                # applied first, so that a transient failure there is retried.
                for other in _failed_jobs_before(bn, waited):
                    network_callbacks.apply_job(bn, other)
                bn.refresh_from_db()
            if bn.backendjobid == waited:
                network_callbacks.apply_job(bn, job)
                bn.refresh_from_db()
            if bn.backendjobid == waited:
                break  # not resubmitted: this was the end
        out.append((bn.backend.clustername, bn.operstate, bn.backendjobstatus))
    return out


def _failed_jobs_before(bn, last):
    """The failed jobs of ``bn``'s current submission before job ``last`` (ours only:
    job ids are shared with everything else on the cluster)."""
    failed = []
    if bn.batchjobid is None:
        return failed
    for job_id in range(bn.batchjobid, last):
        try:
            job = job_status(bn.backend, job_id)
        except RapiError:
            continue
        if (job is not None and job.status in FAILED_JOB_STATUSES
                and job.network_name == bn.network.backend_id):
            failed.append(job)
    return failed


def ensure_on_backend(backend):
    """Create every live network with a subnet on ``backend`` (a backend added later).
    Returns the networks submitted."""
    done = []
    for network in Network.objects.filter(deleted=False).exclude(subnet="").order_by("pk"):
        bn, _ = BackendNetwork.objects.get_or_create(network=network, backend=backend)
        if bn.operstate in ("ACTIVE", "PENDING") and bn.backendjobid is not None:
            continue
        jobs = gnet.create_network(network, backend)
        BackendNetwork.objects.filter(pk=bn.pk).update(
            operstate="PENDING", backendjobid=jobs[-1], backendopcode="OP_NETWORK_CONNECT",
            backendjobstatus="queued", backendlogmsg="", backendtime=None,
            batchjobid=jobs[0], retries=0)
        Network.objects.filter(pk=network.pk).update(state="PENDING")
        done.append(network)
    return done
