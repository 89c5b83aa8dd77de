"""What the tests on the shared Ganeti test cluster (ci/ganeti.sh) have in common: the
connection facts from ci/test-env.sh, a Backend row for the cluster with its RAPI
certificate pinned, a per-run name prefix, removing a prefix's instances, and applying
a finished job with the dispatcher's handlers in-process (``dispatch``).

Every module keeps a prefix of its own (``run_prefix("snfxx")``): concurrent runs and
other modules share the cluster, and each removes only the names under its prefix.
"""

import contextlib
import os
import time

from django.core.management import call_command

from synnefo.backend import instances
from synnefo.backend.client import certificates_only, client_for
from synnefo.db import models as m
from synnefo.logic import callbacks

RAPI_PEM = "/var/lib/ganeti/rapi.pem"


def env(name):
    value = os.environ.get(name)
    assert value, "%s is not set: run through `make test` (ci/test-env.sh)" % name
    return value


def run_prefix(tag):
    """``<tag><pid>-``: a module's and this run's own prefix. No other module's tag may
    start with this one followed by digits; a concurrent run of the same module (ids from
    1 again) has another pid."""
    return "%s%d-" % (tag, os.getpid())


def cluster_backend(**fields):
    """A Backend row for the test cluster (fake hypervisor), its self-signed RAPI
    certificate pinned; ``fields`` add to or override the defaults."""
    with open(RAPI_PEM) as f:
        certificate = certificates_only(f.read())
    args = dict(clustername=env("SNF_TEST_RAPI_HOST"), port=int(env("SNF_TEST_RAPI_PORT")),
                username=env("SNF_TEST_RAPI_USER"), password=env("SNF_TEST_RAPI_PASSWORD"),
                certificate=certificate, hypervisor="fake")
    args.update(fields)
    return m.Backend.objects.create(**args)


def add_cluster_backend(tmp_path, hypervisor):
    """The administrator's way: ``snf-manage backend-add`` for the test cluster, the RAPI
    password from a file and the self-signed certificate pinned. Returns the Backend row."""
    password = tmp_path / "rapi-password"
    password.write_text(env("SNF_TEST_RAPI_PASSWORD") + "\n")
    password.chmod(0o600)
    call_command("backend-add", env("SNF_TEST_RAPI_HOST"), "--port", env("SNF_TEST_RAPI_PORT"),
                 "--username", env("SNF_TEST_RAPI_USER"), "--password-file", str(password),
                 "--certificate", RAPI_PEM, "--hypervisor", hypervisor, "--json",
                 stdout=open(os.devnull, "w"))
    return m.Backend.objects.get()


def remove_instances(client, prefix):
    """Remove every Ganeti instance whose name starts with ``prefix``, waiting for each."""
    for inst in client.get_instances(bulk=True):
        name = inst["name"] if isinstance(inst, dict) else inst
        if name.startswith(prefix):
            client.wait_for_job(client.delete_instance(name))


def started_server(w, ips, name="server"):
    """A STARTED server created on the cluster with one NIC per address of ``ips`` on
    ``w["net"]`` (backend, client, user and flavor from ``w`` too), its NIC rows as the
    hook would leave them (MACs from Ganeti): (the VirtualMachine, Ganeti's instance)."""
    vm = m.VirtualMachine.objects.create(owner=w["user"], flavor=w["flavor"],
                                         backend=w["backend"], name=name, operstate="STARTED")
    for index, ip in enumerate(ips):
        m.NetworkInterface.objects.create(machine=vm, network=w["net"], index=index, ipv4=ip,
                                          state="ACTIVE")
    spec = instances.build_create_spec(vm, "pw")
    spec["start"], spec["pnode"] = True, env("SNF_TEST_GANETI_NODE")
    assert w["client"].wait_for_job(w["client"].create_instance(spec))["status"] == "success"
    inst = w["client"].get_instance(vm.backend_vm_id)
    assert inst["nic.ips"] == ips
    for index, mac in enumerate(inst["nic.macs"]):
        m.NetworkInterface.objects.filter(machine=vm, index=index).update(mac=mac)
    return vm, inst


def remove_ganeti_network(client, info):
    """Disconnect a Ganeti network (``info``: what RAPI says of it) from its node groups
    and remove it, waiting for each job."""
    name = info["name"]
    for group in info.get("group_list") or []:
        client.wait_for_job(client.request("PUT", "/2/networks/%s/disconnect" % name,
                                           body={"group_name": group[0]}))
    client.wait_for_job(client.request("DELETE", "/2/networks/%s" % name))


@contextlib.contextmanager
def cluster_world(settings, prefix, user, with_lan=False):
    """The test cluster set up for ``prefix`` (BACKEND_PREFIX_ID, OS noop+default) as a
    dict: its backend, RAPI client, ``user``, a diskless flavor and, ``with_lan``, a
    network "lan" on gnt-br0 without a subnet (plain bridged NICs with the row's address).
    The prefix's instances are removed before and after."""
    settings.BACKEND_PREFIX_ID = prefix
    settings.GANETI_OS = "noop+default"
    backend = cluster_backend()
    client = client_for(backend)
    remove_instances(client, prefix)
    w = {"backend": backend, "client": client, "user": m.User.objects.create(name=user),
         "flavor": m.Flavor.objects.create(cpu=1, ram=128, disk=1, disk_template="diskless")}
    if with_lan:
        w["net"] = m.Network.objects.create(name="lan", link="gnt-br0", state="ACTIVE")
    try:
        yield w
    finally:
        remove_instances(client, prefix)


def dispatch(client, vm_id):
    """Apply the VM's last job and its NICs as eventd, the hook and the dispatcher would."""
    vm = m.VirtualMachine.objects.get(pk=vm_id)
    job_id = vm.task_job_id or vm.backendjobid
    job = client.wait_for_job(job_id)
    assert job["status"] == "success", job
    end = job.get("end_ts") or [int(time.time()), 0]
    callbacks.update_db({"type": "ganeti-op-status", "instance": vm.backend_vm_id,
                         "operation": job["ops"][0]["OP_ID"], "jobId": int(job_id),
                         "status": "success", "logmsg": "", "event_time": list(end)})
    if job["ops"][0]["OP_ID"] == "OP_INSTANCE_REMOVE":
        return None
    info = client.get_instance(vm.backend_vm_id)
    nics = [{"index": i, "mac": mac, "ip": ip, "network": net}
            for i, (mac, ip, net) in enumerate(zip(info["nic.macs"], info["nic.ips"],
                                                   info["nic.networks.names"]))]
    callbacks.update_net({"type": "ganeti-net-status", "instance": vm.backend_vm_id,
                          "nics": nics, "event_time": [end[0], end[1] + 1]})
    return info
