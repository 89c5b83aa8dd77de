"""A Ganeti cluster as a whole: its capacity and settings, the instances it runs, and the
removals reconciliation asks for. Logic gets plain values, never RAPI's dicts.
"""

from dataclasses import dataclass
from typing import Any, NamedTuple, Optional

from synnefo.backend.client import client_for
from synnefo.backend.rapi import RapiError

# Node capacity fields summed over the usable nodes (Backend has a field of each name).
CAPACITY_FIELDS = ("mfree", "mtotal", "dfree", "dtotal", "pinst_cnt", "ctotal")


class ClusterInfo(NamedTuple):
    enabled_hypervisors: list
    default_hypervisor: str
    disk_templates: list
    capacity: dict          # CAPACITY_FIELDS -> sum over the vm-capable, online nodes


@dataclass(frozen=True)
class Nic:  # not a NamedTuple: its "index" would hide tuple.index
    index: int
    mac: Optional[str]
    ip: Optional[str]
    name: Optional[str]
    network: Optional[str]  # the Ganeti network's name (None: a plain NIC on a link)
    link: Optional[str]
    uuid: Optional[str]


class Instance(NamedTuple):
    name: str
    running: bool
    nics: list              # of Nic, by index


def cluster_info(backend: Any) -> ClusterInfo:
    """The ``ClusterInfo`` of ``backend`` (two RAPI reads)."""
    client = client_for(backend)
    info = client.get_info()
    usable = [n for n in client.get_nodes(bulk=True)
              if n.get("vm_capable", True) and not n.get("offline")]
    return ClusterInfo(
        enabled_hypervisors=info.get("enabled_hypervisors") or [],
        default_hypervisor=info.get("default_hypervisor") or "",
        disk_templates=info.get("enabled_disk_templates") or [],
        capacity={field: sum(int(n.get(field) or 0) for n in usable)
                  for field in CAPACITY_FIELDS})


class ClusterStatus(NamedTuple):
    instances: int
    nodes: int
    nodes_offline: int
    running_jobs: Optional[int]  # queued, waiting or running; None: not known in time
    mfree: int              # MiB over the usable nodes
    dfree: int              # MiB over the usable nodes


UNFINISHED_JOB_STATUSES = ("queued", "waiting", "running", "canceling")


def cluster_status(backend: Any, timeout: float) -> ClusterStatus:
    """What the administrator's dashboard shows of ``backend``: three RAPI reads, each
    given ``timeout`` seconds (a dashboard must not hang on a dead cluster). The job
    count is best effort: Ganeti reads every job file not yet archived to answer it,
    which a busy cluster may not do in time; nodes and instances say it is up."""
    client = client_for(backend, timeout=timeout)
    nodes = client.get_nodes(bulk=True)
    usable = [n for n in nodes if n.get("vm_capable", True) and not n.get("offline")]
    instances = client.get_instances(bulk=False)
    try:
        running: Optional[int] = len(client.query("job", ["id"], ["|"] + [
            ["=", "status", status] for status in UNFINISHED_JOB_STATUSES]))
    except RapiError:
        running = None
    return ClusterStatus(
        instances=len(instances),
        nodes=len(nodes), nodes_offline=sum(1 for n in nodes if n.get("offline")),
        running_jobs=running,
        mfree=sum(int(n.get("mfree") or 0) for n in usable),
        dfree=sum(int(n.get("dfree") or 0) for n in usable))


def _nics(inst: dict) -> list:
    def field(key: str, i: int) -> Any:
        values = inst.get(key) or []
        return values[i] if i < len(values) else None
    return [Nic(index=i, mac=mac, ip=field("nic.ips", i), name=field("nic.names", i),
                network=field("nic.networks.names", i), link=field("nic.links", i),
                uuid=field("nic.uuids", i))
            for i, mac in enumerate(inst.get("nic.macs") or [])]


def list_instances(backend: Any) -> list:
    """Every instance of ``backend`` (ours or not) with its NICs (one bulk RAPI read)."""
    return [Instance(name=inst.get("name"), running=bool(inst.get("oper_state")),
                     nics=_nics(inst))
            for inst in client_for(backend).get_instances(bulk=True)]


def remove_instance(backend: Any, name: str) -> int:
    """Submit the removal of instance ``name`` (one not ours to keep); the job id."""
    return client_for(backend).delete_instance(name)


def remove_nic_by_uuid(backend: Any, instance_name: str, uuid: str) -> int:
    """Submit the removal of the NIC Ganeti knows as ``uuid``; the job id."""
    return client_for(backend).modify_instance(instance_name, nics=[["remove", uuid, {}]],
                                               hotplug_if_possible=True)
