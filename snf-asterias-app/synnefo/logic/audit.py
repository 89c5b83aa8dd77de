"""The audit log of administrator actions: every operation the web admin or the admin
API performs is recorded here (who, what, on what, when, from where) and kept."""

import json

from synnefo.db.models import AuditEntry


def record(actor, action, target="", details=None, address="", via="web"):
    """Append one entry; ``details`` (a dict) is stored as JSON, secrets already removed."""
    return AuditEntry.objects.create(
        user=actor, user_name=actor.name, action=action[:64], target=str(target)[:255],
        details=json.dumps(details or {}, sort_keys=True, default=str),
        address=(address or "")[:45], via=via)


def entries(limit=200, target=None, user=None):
    """The newest ``limit`` entries, optionally only those on ``target`` or by ``user``
    (a user name)."""
    query = AuditEntry.objects.all()
    if target:
        query = query.filter(target=target)
    if user:
        query = query.filter(user_name=user)
    return list(query[:limit])


def entry_row(entry):
    return {"id": entry.id, "when": entry.created.strftime("%Y-%m-%d %H:%M:%S"),
            "user": entry.user_name, "action": entry.action, "target": entry.target,
            "details": json.loads(entry.details or "{}"), "address": entry.address,
            "via": entry.via}
