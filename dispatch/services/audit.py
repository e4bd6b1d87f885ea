from __future__ import annotations

import hashlib
import json
from typing import Any

from django.db import transaction
from django.utils import timezone

from ..models import AuditEvent, AuditHead


def _digest(prev_hash: str, *, at: str, actor: str, action: str, order_id: int | None, data: dict) -> str:
    body = json.dumps(
        {"prev": prev_hash, "at": at, "actor": actor, "action": action, "order": order_id, "data": data},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


@transaction.atomic(savepoint=False)  # an append needs no savepoint of its own: it fails with its caller
def audit_record(*, actor=None, action: str, order=None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the hash chain. `data` must hold no plaintext PII."""
    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
    at = timezone.now()
    label = getattr(actor, "username", "") or ("system" if actor is None else str(actor))
    data = data or {}
    event = AuditEvent(
        at=at,
        actor=actor if getattr(actor, "pk", None) else None,
        actor_label=label,
        action=action,
        order=order,
        data=data,
        prev_hash=head.last_hash,
    )
    event.hash = _digest(
        head.last_hash, at=at.isoformat(), actor=label, action=action, order_id=getattr(order, "pk", None), data=data
    )
    event.save()
    head.last_hash = event.hash
    head.save(update_fields=["last_hash"])
    return event


def audit_verify() -> tuple[bool, int, int | None]:
    """Walk the chain. Returns (ok, events checked, id of the first broken event)."""
    prev = "0" * 64
    count = 0
    for event in AuditEvent.objects.order_by("id").iterator():
        expected = _digest(
            prev,
            at=event.at.isoformat(),
            actor=event.actor_label,
            action=event.action,
            order_id=event.order_id,
            data=event.data,
        )
        if event.prev_hash != prev or event.hash != expected:
            return False, count, event.pk
        prev = event.hash
        count += 1
    return True, count, None
