"""Servers as plain rows for the detailed views: the columns the API shows, with their
NICs (and network names) and metadata, in three queries for any number of servers.

Django model instances (``select_related``/``prefetch_related``) cost tens of
microseconds each and a server brought four of them plus per-server related
managers; a 1,000-server ``/servers/detail`` spent most of its time there. Rows are
tuples from ``values_list`` put into slotted objects with the model's attribute
names, so ``server_state`` and the serialisers read them like the model.
"""

from synnefo.db.models import NetworkInterface, VirtualMachineMetadata

SERVER_COLUMNS = ("id", "name", "operstate", "action", "deleted", "suspended",
                  "task_job_id", "backendjobid", "backendjobstatus", "backendopcode",
                  "backendlogmsg", "buildpercentage", "image_id", "flavor_id", "owner_id",
                  "key_name", "created", "updated", "fault_code", "fault_message",
                  "fault_details", "access_ipv4", "access_ipv6")
NIC_COLUMNS = ("machine_id", "id", "index", "network_id", "network__name", "mac", "ipv4",
               "ipv6", "state", "firewall_profile")


class ServerRow:
    """One server: SERVER_COLUMNS, ``nics`` (NicRows in NIC index order) and
    ``metadata`` (a dict)."""

    __slots__ = SERVER_COLUMNS + ("nics", "metadata")

    def __init__(self, values):
        for name, value in zip(SERVER_COLUMNS, values):
            setattr(self, name, value)
        self.nics = []
        self.metadata = {}


class NicRow:
    """One NIC of a server, with its network's name."""

    __slots__ = ("machine_id", "id", "index", "network_id", "network_name", "mac", "ipv4",
                 "ipv6", "state", "firewall_profile")

    def __init__(self, values):
        (self.machine_id, self.id, self.index, self.network_id, self.network_name, self.mac,
         self.ipv4, self.ipv6, self.state, self.firewall_profile) = values


def row_query(query):
    """``query`` (of VirtualMachine) giving the tuples ``complete`` turns into rows."""
    return query.values_list(*SERVER_COLUMNS)


def complete(values):
    """ServerRows for the tuples of a ``row_query``, with their NICs and metadata
    (two queries, whatever the number of servers)."""
    rows = [ServerRow(v) for v in values]
    if not rows:
        return rows
    by_id = {row.id: row for row in rows}
    ids = list(by_id)
    for nic in NetworkInterface.objects.filter(machine_id__in=ids).values_list(*NIC_COLUMNS):
        by_id[nic[0]].nics.append(NicRow(nic))
    for row in rows:
        if len(row.nics) > 1:
            # Ganeti's NIC order; a NIC without an index yet last (SQL orders NULLs
            # differently on each database, so not in the query)
            row.nics.sort(key=lambda n: (n.index is None, n.index or 0, n.id))
    for vm_id, key, value in (VirtualMachineMetadata.objects.filter(vm_id__in=ids)
                              .order_by("id").values_list("vm_id", "meta_key", "meta_value")):
        by_id[vm_id].metadata[key] = value
    return rows
