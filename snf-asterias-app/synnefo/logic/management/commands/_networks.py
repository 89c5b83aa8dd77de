"""Shared by the network-* commands."""

from synnefo.db.models import BackendNetwork

COLUMNS = ["id", "name", "type", "public", "owner", "state", "subnet", "gateway", "subnet6",
           "gateway6", "link", "mac_prefix", "ports", "backends", "ganeti_name"]


def network_row(n):
    backends = ["%s:%s" % (bn.backend.clustername, bn.operstate)
                for bn in BackendNetwork.objects.filter(network=n).select_related("backend")]
    return {"id": n.id, "name": n.name, "type": n.type, "public": n.public,
            "owner": n.owner.name if n.owner_id else None, "state": n.state,
            "deleted": n.deleted, "subnet": n.subnet, "gateway": n.gateway,
            "subnet6": n.subnet6, "gateway6": n.gateway6, "link": n.link,
            "mac_prefix": n.mac_prefix,
            "ports": n.nics.filter(machine__deleted=False).count(),
            "backends": ",".join(backends), "ganeti_name": n.backend_id}
