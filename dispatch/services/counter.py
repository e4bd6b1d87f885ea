"""The store counter: lookups and handoffs behind a failure limit per staff member (never per store: one
account's failures must not stop every pickup at its store), alerts to dispatch on repeated failures at a
store (a surge past the limit marked `surge`), undo of a mis-tapped handoff, today's handoff history, the
packing list, a coarse rider ETA, and the rider's own "is this bag mine?" check.

Lookups and handoff attempts are not wrapped in one transaction on purpose: a refusal is audited and
counted (committed) before it is raised, so a refused attempt always leaves its trace.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import geofence
from ..errors import DomainError, NotFound, RateLimited
from ..models import AuditEvent, Order, OrderItem, OrderStatus, Rider, Store
from .alerts import alert_raise
from .attempts import failed_attempt_counts, failed_attempt_note
from .audit import audit_record
from .handoff import (
    HandoffRefused,
    handoff_check,
    order_by_pickup_code,
    order_by_rider_code,
    pickup_handoff,
    pickup_return,
)
from .orders import order_event
from .pickup_numbers import business_date, normalise_pickup_code
from .privacy import ShreddedError, sensitive_item_names
from .states import Action, transition

WINDOW_S = 60  # failures are counted over a sliding minute


def failure_limit() -> int:
    return int(getattr(settings, "PICKUP_FAILURE_LIMIT", 30))


def alert_after() -> int:
    return int(getattr(settings, "PICKUP_ALERT_AFTER", 5))


def undo_window() -> timedelta:
    return timedelta(seconds=int(getattr(settings, "PICKUP_UNDO_WINDOW_S", 60)))


# --- Failure counting (in the database: a restart clears no limit; keys hold ids only) -----------
SCOPES = {"user": "pickup-user", "store": "pickup-store"}


def _now(now: float | None = None) -> datetime:
    return datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)


def failures(*, scope: str, ident: int, now: float | None = None) -> int:
    """Failures of this staff member (`user`) or store (`store`) in the last minute."""
    key = (SCOPES[scope], ident)
    return failed_attempt_counts(keys=[key], window=timedelta(seconds=WINDOW_S), now=_now(now))[key]


def _count(scope: str, ident: int) -> int:
    now = time.time()
    failed_attempt_note(scope=SCOPES[scope], key=ident, window=timedelta(seconds=WINDOW_S), now=_now(now))
    return failures(scope=scope, ident=ident, now=now)


def counter_guard(*, user, store: Store, action: str) -> None:
    """Refuse (429) once this staff member passed the failure limit. Audited. The store's own count only
    alerts dispatch (`failure_note`): a store-wide limit would let one account refuse its colleagues' valid codes."""
    limit = failure_limit()
    if failures(scope="user", ident=user.pk) < limit:
        return
    audit_record(actor=user, action="pickup.rate_limited", data={"store": store.pk, "scope": "user", "attempt": action})
    message = _("Too many failed pickup attempts at this counter in the last minute (%(limit)s).")
    raise RateLimited(message % {"limit": limit} + " "
                      + _("Wait a minute, then check the number and the rider's code. Dispatch has been alerted."))


def failure_note(*, user, store: Store) -> int:
    """Count one failure for the staff member and the store; alert dispatch when they pile up."""
    _count("user", user.pk)
    count = _count("store", store.pk)
    surge = count >= failure_limit()
    if count >= alert_after() and (cache.add(f"pickup-alert:{store.pk}", 1, timeout=WINDOW_S)
                                   or (surge and cache.add(f"pickup-surge:{store.pk}", 1, timeout=WINDOW_S))):
        with transaction.atomic():
            audit_record(action="pickup.alert", data={"store": store.pk, "count": count, "surge": surge})
            alert_raise(kind="rate", key=f"rate:pickup_failures:store:{store.pk}", store=store,
                        detail={"what": "pickup_failures", "per": "store", "count": count, "window_s": WINDOW_S,
                                "surge": surge})
    return count


# --- Lookups and handoffs ----------------------------------------------------------------
def pickup_lookup(*, store: Store, user, pickup_code: str = "", rider_code: str = "") -> Order:
    """The bag for a pickup number, or for a rider's code (typed or scanned). Audited, limited."""
    by = "rider_code" if rider_code else "pickup_number"
    counter_guard(user=user, store=store, action="lookup")
    try:
        if rider_code:
            order = order_by_rider_code(store=store, rider_code=rider_code)
        else:
            order = order_by_pickup_code(store=store, pickup_code=pickup_code)
    except HandoffRefused as refusal:
        audit_record(actor=user, action="pickup.lookup", data={"store": store.pk, "by": by, "result": refusal.code})
        failure_note(user=user, store=store)
        raise
    audit_record(actor=user, action="pickup.lookup", order=order, data={"store": store.pk, "by": by, "result": "found"})
    return order


def counter_handoff(*, store: Store, user, pickup_code: str, rider_code: str, dry_run: bool = False) -> Order:
    """Check (dry run) or perform the handoff. Both are audited in dispatch.services.handoff."""
    counter_guard(user=user, store=store, action="check" if dry_run else "handoff")
    try:
        if dry_run:
            return handoff_check(store=store, pickup_code=pickup_code, rider_code=rider_code, by=user)
        return pickup_handoff(store=store, pickup_code=pickup_code, rider_code=rider_code, by=user)
    except HandoffRefused:
        failure_note(user=user, store=store)
        raise


def counter_return(*, store: Store, user, order_id: int, rider_code: str) -> Order:
    """A failed delivery's bag back at the counter, under the same failure limit as the handoff."""
    counter_guard(user=user, store=store, action="return")
    try:
        return pickup_return(store=store, order_id=order_id, rider_code=rider_code, by=user)
    except HandoffRefused:
        failure_note(user=user, store=store)
        raise


@transaction.atomic
def handoff_undo(*, store: Store, order_id: int, by) -> Order:
    """Take back a bag handed over by mistake, within the undo window: the order is ready again."""
    order = Order.objects.select_for_update(of=("self",)).filter(store=store, pk=order_id).first()
    if order is None:
        raise NotFound()
    if order.status != OrderStatus.PICKED_UP or order.picked_up_at is None:
        raise DomainError(_("Only a bag that was just handed over can be taken back."), code="not_picked_up")
    if timezone.now() - order.picked_up_at > undo_window():
        raise DomainError(_("The one-minute undo has passed. Call dispatch if the wrong rider has the bag."),
                          code="undo_expired")
    transition(order, Action.UNDO_PICK_UP)
    order.picked_up_at = None
    order.save(update_fields=["status", "picked_up_at"])
    audit_record(actor=by, action="handoff.undone", order=order, data={"rider": order.rider_id, "store": store.pk})
    order_event(order)
    return order


def handoff_history(*, store: Store, now: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Today's handoffs at the store, newest first, each with whether it can still be undone."""
    now = now or timezone.now()
    today = business_date(store=store, at=now)
    orders = {o["pk"]: o for o in Order.objects.filter(
        store=store, business_date__in=[today, today - timedelta(days=1)],
        status__in=(OrderStatus.READY, OrderStatus.PICKED_UP, OrderStatus.DELIVERED, OrderStatus.CANCELLED),
    ).values("pk", "pickup_code", "status", "picked_up_at", "rider_id", "rider__display_name")}
    events = (AuditEvent.objects.filter(order_id__in=list(orders), action__in=("handoff.completed", "handoff.undone"))
              .order_by("pk").values_list("order_id", "action", "at", "actor_label"))
    entries: list[dict[str, Any]] = []
    last: dict[int, dict[str, Any]] = {}
    for order_id, action, at, actor in events:
        order = orders[order_id]
        if action == "handoff.undone":
            if order_id in last:
                last[order_id].update(undone=True, undone_at=at.isoformat(), undone_by=actor)
            continue
        rider = {"id": order["rider_id"], "name": order["rider__display_name"]} if order["rider_id"] else None
        entry = {"order": order_id, "pickup_code": order["pickup_code"], "at": at.isoformat(), "by": actor,
                 "rider": rider, "undone": False, "undone_at": None, "undone_by": None, "undo_until": None}
        entries.append(entry)
        last[order_id] = entry
    window = undo_window()
    for order_id, entry in last.items():
        order = orders[order_id]
        if (not entry["undone"] and order["status"] == OrderStatus.PICKED_UP and order["picked_up_at"]
                and now - order["picked_up_at"] <= window):
            entry["undo_until"] = (order["picked_up_at"] + window).isoformat()
    return list(reversed(entries))[:limit]


# --- The bag -------------------------------------------------------------------------------
PACKABLE = (OrderStatus.CREATED, OrderStatus.OFFERED, OrderStatus.ASSIGNED, OrderStatus.READY)


def order_packing_list(*, order: Order, user) -> list[dict[str, Any]]:
    """Every line with its name, sensitive ones unsealed from the vault for packing (audited there)."""
    if order.status not in PACKABLE:
        raise DomainError(_("This bag is no longer at the counter: its item names stay sealed."), code="not_packing")
    items: list[OrderItem] = list(order.items.all())
    sealed: list[str] = []
    if any(i.sensitive for i in items):
        try:
            sealed = sensitive_item_names(order=order, user=user, purpose="packing")
        except ShreddedError as exc:
            raise NotFound() from exc
    names = iter(sealed)
    return [{"name": next(names, "(sealed item)") if i.sensitive else i.name, "qty": i.qty, "sensitive": i.sensitive,
             "category": i.category} for i in items]


@dataclass(frozen=True)
class Eta:
    minutes: int | None
    label: str


RIDER_SPEED_MPS = 4.5  # a city rider, door to door
AT_STORE_M = 120
STALE_AFTER = timedelta(minutes=5)
_BUCKETS = (1, 2, 3, 4, 5, 10, 15, 20, 30)


def rider_eta(*, order: Order, now: datetime | None = None) -> Eta | None:
    """Coarse minutes until the assigned rider reaches the store, from their last reported position.
    Only the bucket leaves this function, never the position or the distance."""
    rider: Rider | None = order.rider
    if rider is None or order.status not in (OrderStatus.ASSIGNED, OrderStatus.READY):
        return None
    now = now or timezone.now()
    if rider.last_lat is None or rider.last_lng is None or rider.last_seen_at is None:
        return Eta(None, "no location from the rider yet")
    if now - rider.last_seen_at > STALE_AFTER:
        return Eta(None, "rider location not recent")
    metres = geofence.fast_distance(rider.last_lat, rider.last_lng, order.store.lat, order.store.lng)
    if metres <= AT_STORE_M:
        return Eta(0, "at the store")
    minutes = math.ceil(metres / RIDER_SPEED_MPS / 60)
    bucket = next((b for b in _BUCKETS if minutes <= b), None)
    if bucket is None:
        return Eta(None, "more than 30 min away")
    return Eta(bucket, _("arriving in ~%(minutes)s min") % {"minutes": bucket})


# --- The rider at the store ------------------------------------------------------------------
def pickup_code_check(*, rider: Rider, store_id: int, code: str) -> dict[str, Any]:
    """For the rider's own screen: is the bag with this pickup number at this store theirs? Says
    nothing about any other rider's order: a foreign and a missing number look the same."""
    store = Store.objects.filter(pk=store_id).first()
    if store is None or normalise_pickup_code(code) is None:
        return {"mine": False}
    try:
        order = order_by_pickup_code(store=store, pickup_code=code)
    except HandoffRefused:
        return {"mine": False}
    if order.rider_id != rider.pk:
        return {"mine": False}
    return {"mine": True, "order": order.pk, "pickup_code": order.pickup_code, "status": order.status}
