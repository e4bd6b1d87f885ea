"""The audit log: an append-only hash chain, and a signed anchor that makes the chain's end checkable.

The chain alone shows an event edited or removed in the middle. It cannot show a cut tail: someone who can
write the database deletes the last events (or edits them and recomputes their hashes, which are unkeyed)
and rewrites AuditHead to match, and the chain is consistent again. So the head (the last event's id, its
hash and the count of events up to it) is checkpointed to an anchor outside the database
(AUDIT_ANCHOR_PATH), HMAC-signed with AUDIT_ANCHOR_KEY, which the database never holds. Verifying then
demands that the anchored event still exists with that hash and count, that the chain reaches at least that
far, and that AuditHead names the last event.

What the checkpoints guarantee: beat writes one every AUDIT_CHECKPOINT_S (and every intact `audit_verify`
writes one). Every event up to the last checkpoint is protected against deletion and rewriting by anyone
who can write the database but not the anchor or its key. Events newer than the last checkpoint (at most
AUDIT_CHECKPOINT_S old while beat runs) rest on the chain and AuditHead alone: cutting them AND rewriting
AuditHead consistently inside that window goes unnoticed. Deleting the anchor, or putting back an older
signed copy, needs write access to where the anchor lives: keep it on another store than the database.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from ..models import AuditEvent, AuditHead

log = logging.getLogger(__name__)

GENESIS = "0" * 64


def _digest(prev_hash: str, *, at: str, actor: str, action: str, order_id: int | None, data: dict) -> str:
    body = json.dumps(
        {"prev": prev_hash, "at": at, "actor": actor, "action": action, "order": order_id, "data": data},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _event_digest(event: AuditEvent, prev_hash: str) -> str:
    return _digest(prev_hash, at=event.at.isoformat(), actor=event.actor_label, action=event.action,
                   order_id=event.order_id, data=event.data)


@transaction.atomic(savepoint=False)  # an append needs no savepoint of its own: it fails with its caller
def audit_record(*, actor=None, action: str, order=None, data: dict[str, Any] | None = None) -> AuditEvent:
    """Append one event to the hash chain. `data` must hold no plaintext PII.

    Lock order: the event's order row, then the chain's head. Every request path holds its order FOR UPDATE when
    it audits; a transaction that took the head first would wait at COMMIT for that order's row (the event's
    foreign-key check) while the order's holder waits for the head: a deadlock on PostgreSQL."""
    if order is not None and getattr(order, "pk", None) and connection.vendor == "postgresql":
        list(type(order).objects.select_for_update(no_key=True).filter(pk=order.pk).values_list("pk", flat=True))
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


@transaction.atomic(savepoint=False)
def audit_record_many(entries: list[dict[str, Any]]) -> list[AuditEvent]:
    """`audit_record` for many events (each a dict of its keyword arguments), appended to the chain in order
    under one lock of its head and written in one insert: the same events, hashes and chain as one by one.

    An entry may name its own `at` (a seeded or imported history, `seed_month`): the chain's order stays the
    order of appending, and its hashes cover the time given."""
    if not entries:
        return []
    head, _ = AuditHead.objects.select_for_update().get_or_create(pk=1)
    last, events = head.last_hash, []
    for entry in entries:
        actor, order, action, data = entry.get("actor"), entry.get("order"), entry["action"], entry.get("data") or {}
        at = entry.get("at") or timezone.now()
        label = getattr(actor, "username", "") or ("system" if actor is None else str(actor))
        event = AuditEvent(at=at, actor=actor if getattr(actor, "pk", None) else None, actor_label=label,
                           action=action, order=order, data=data, prev_hash=last)
        event.hash = last = _digest(last, at=at.isoformat(), actor=label, action=action,
                                    order_id=getattr(order, "pk", None), data=data)
        events.append(event)
    AuditEvent.objects.bulk_create(events)
    head.last_hash = last
    head.save(update_fields=["last_hash"])
    return events


# --- The anchor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Anchor:
    last_id: int  # the last event when the checkpoint was taken
    hash: str  # its hash
    count: int  # events from the first up to it
    at: str  # when the checkpoint was taken (ISO 8601)


class _Broken(Exception):
    def __init__(self, problem: str, count: int = 0, broken: int | None = None):
        super().__init__(problem)
        self.problem, self.count, self.broken = problem, count, broken


def _mac(fields: dict[str, Any]) -> str:
    body = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(settings.AUDIT_ANCHOR_KEY.encode(), b"audit-anchor:" + body, hashlib.sha256).hexdigest()


def _anchor_read() -> Anchor | None:
    """The last checkpoint, or None when none was ever written. A bad signature is a failure, never None."""
    path = settings.AUDIT_ANCHOR_PATH
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _Broken(f"The audit anchor {path} cannot be read ({exc.__class__.__name__}).") from exc
    try:
        anchor = Anchor(last_id=int(raw["last_id"]), hash=str(raw["hash"]), count=int(raw["count"]), at=str(raw["at"]))
        mac = str(raw["mac"])
    except (KeyError, TypeError, ValueError) as exc:
        raise _Broken(f"The audit anchor {path} is malformed.") from exc
    if not hmac.compare_digest(mac, _mac(asdict(anchor))):
        raise _Broken(f"The audit anchor {path} has an invalid signature: it was forged or edited, "
                      "or AUDIT_ANCHOR_KEY changed.")
    return anchor


def audit_anchor_taken_at() -> datetime | None:
    """When the last checkpoint was taken (its signature checked), None when there is none or it does not check
    (for the metrics: a broken anchor is reported as missing, and `manage.py audit_verify` says why)."""
    try:
        anchor = _anchor_read()
    except _Broken:
        return None
    if anchor is None:
        return None
    try:
        return datetime.fromisoformat(anchor.at)
    except ValueError:
        return None


def _anchor_write(*, last_id: int, hash: str, count: int) -> Anchor:
    anchor = Anchor(last_id=last_id, hash=hash, count=count, at=timezone.now().isoformat())
    fields = asdict(anchor)
    path = settings.AUDIT_ANCHOR_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({**fields, "mac": _mac(fields)}, sort_keys=True))
    tmp.chmod(0o600)
    os.replace(tmp, path)  # atomic: a reader sees the old anchor or the new one, never half of one
    return anchor


# --- Verification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditVerdict:
    ok: bool
    count: int  # events verified (before the break, when there is one)
    broken: int | None  # the first event found wrong or missing
    problem: str = ""
    anchor: Anchor | None = None  # the checkpoint written, or the one compared against
    compared: bool = False  # whether an earlier checkpoint existed to compare the chain's end with

    def __iter__(self):  # callers written before the anchor unpack (ok, count, broken)
        return iter((self.ok, self.count, self.broken))


def _missing(anchor: Anchor, last_id: int, count: int) -> _Broken:
    return _Broken(
        f"Anchored event #{anchor.last_id} is missing: the chain ends at #{last_id} after {count} events, but the "
        f"checkpoint of {anchor.at} had {anchor.count} events up to #{anchor.last_id}. Events were deleted.",
        count, anchor.last_id,
    )


def _walk(events: QuerySet[AuditEvent], *, prev: str, count: int, last_id: int,
          anchor: Anchor | None) -> tuple[str, int, int]:
    """Check each event's link and hash, and the anchored event on the way. Returns (hash, count, id) at the end."""
    for event in events.iterator():
        if anchor and last_id < anchor.last_id < event.pk:
            raise _missing(anchor, last_id, count)
        if event.prev_hash != prev or event.hash != _event_digest(event, prev):
            raise _Broken(f"Audit chain broken at event {event.pk} after {count} good events.", count, event.pk)
        if anchor and event.pk == anchor.last_id and (event.hash != anchor.hash or count + 1 != anchor.count):
            raise _Broken(
                f"Event #{event.pk} does not match the checkpoint of {anchor.at} (hash or position differs): "
                "the chain was rewritten after it was anchored.", count, event.pk,
            )
        prev, count, last_id = event.hash, count + 1, event.pk
    return prev, count, last_id


def _check_end(*, head_hash: str, prev: str, count: int, last_id: int, anchor: Anchor | None) -> None:
    if anchor and last_id < anchor.last_id:
        raise _missing(anchor, last_id, count)
    if head_hash != prev:
        raise _Broken(
            f"AuditHead does not match the last event #{last_id}: events after it are missing, or the head was "
            "rewritten.", count, last_id or None,
        )


def _locked_head_hash() -> str:
    head = AuditHead.objects.select_for_update().filter(pk=1).first()
    return head.last_hash if head else GENESIS


def audit_verify(*, checkpoint: bool = False) -> AuditVerdict:
    """Walk the whole chain and compare its end with the last checkpoint and AuditHead. With `checkpoint`, an
    intact chain is anchored at its head. The walk runs without a lock; only the events appended meanwhile and
    the head are checked under the head's lock, so appends wait for milliseconds, not for the walk."""
    anchor: Anchor | None = None
    try:
        anchor = _anchor_read()
        state = _walk(AuditEvent.objects.order_by("id"), prev=GENESIS, count=0, last_id=0, anchor=anchor)
        with transaction.atomic():
            head_hash = _locked_head_hash()
            prev, count, last_id = _walk(AuditEvent.objects.filter(id__gt=state[2]).order_by("id"),
                                         prev=state[0], count=state[1], last_id=state[2], anchor=anchor)
            _check_end(head_hash=head_hash, prev=prev, count=count, last_id=last_id, anchor=anchor)
            compared = anchor is not None
            if checkpoint and count:
                anchor = _anchor_write(last_id=last_id, hash=prev, count=count)
    except _Broken as broken:
        return AuditVerdict(False, broken.count, broken.broken, broken.problem, anchor, anchor is not None)
    return AuditVerdict(True, count, None, "", anchor, compared)


def audit_checkpoint() -> AuditVerdict:
    """Anchor the head, after verifying the events since the last checkpoint (the whole chain when there is
    none). A chain that fails is never anchored: the last good anchor stays as evidence."""
    try:
        anchor = _anchor_read()
    except _Broken as broken:
        log.error("audit checkpoint refused: %s", broken.problem)
        return AuditVerdict(False, 0, None, broken.problem)
    if anchor is None:
        return audit_verify(checkpoint=True)
    try:
        with transaction.atomic():
            head_hash = _locked_head_hash()
            anchored = AuditEvent.objects.filter(pk=anchor.last_id).first()
            if anchored is None:
                raise _missing(anchor, AuditEvent.objects.filter(pk__lt=anchor.last_id).order_by("-id")
                               .values_list("id", flat=True).first() or 0,
                               AuditEvent.objects.filter(pk__lt=anchor.last_id).count())
            position = AuditEvent.objects.filter(pk__lte=anchor.last_id).count()
            if (anchored.hash != anchor.hash or anchored.hash != _event_digest(anchored, anchored.prev_hash)
                    or position != anchor.count):
                raise _Broken(f"Event #{anchored.pk} does not match the checkpoint of {anchor.at}: the chain was "
                              "rewritten after it was anchored.", position - 1, anchored.pk)
            prev, count, last_id = _walk(AuditEvent.objects.filter(id__gt=anchor.last_id).order_by("id"),
                                         prev=anchor.hash, count=anchor.count, last_id=anchor.last_id, anchor=None)
            _check_end(head_hash=head_hash, prev=prev, count=count, last_id=last_id, anchor=anchor)
            written = _anchor_write(last_id=last_id, hash=prev, count=count)
    except _Broken as broken:
        log.error("audit checkpoint refused: %s", broken.problem)
        return AuditVerdict(False, broken.count, broken.broken, broken.problem, anchor, True)
    return AuditVerdict(True, count, None, "", written, True)
