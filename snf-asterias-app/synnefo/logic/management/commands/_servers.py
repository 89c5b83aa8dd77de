from synnefo.logic import server_state


def server_row(vm, full=False):
    row = {"id": vm.id, "name": vm.name, "owner": vm.owner.name,
           "status": server_state.api_status(vm),
           "operstate": vm.operstate, "task": vm.action if server_state.task_pending(vm) else "",
           "flavor": vm.flavor.name, "image": vm.image.name if vm.image_id else "-",
           "backend": vm.backend.clustername if vm.backend_id else "-",
           "instance": vm.backend_vm_id, "deleted": vm.deleted}
    if full:
        row.update({
            "suspended": vm.suspended, "key_name": vm.key_name,
            "created": vm.created.isoformat(), "updated": vm.updated.isoformat(),
            "backendjobid": vm.backendjobid, "backendopcode": vm.backendopcode,
            "backendjobstatus": vm.backendjobstatus, "backendlogmsg": vm.backendlogmsg,
            "task_job_id": vm.task_job_id, "buildpercentage": vm.buildpercentage,
            "fault_message": vm.fault_message, "fault_details": vm.fault_details,
            "metadata": {m.meta_key: m.meta_value for m in vm.metadata.all()},
            "nics": [{"index": n.index, "network": n.network.name, "mac": n.mac, "ipv4": n.ipv4,
                      "ipv6": n.ipv6, "firewall_profile": n.firewall_profile, "state": n.state}
                     for n in vm.nics.all()],
        })
    return row
