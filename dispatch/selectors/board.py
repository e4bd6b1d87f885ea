"""The dispatch board's order list: the caller's open orders (`board_orders`, which scopes them), filtered by
status, store, fleet and pickup number, most urgent first, each with the time it is due and whether it is late.

Urgency: orders with no rider first, then the oldest first. Due: with a rider, the time promised to the customer
(`services.detectors.order_promise`, the very deadline of the `late` alert; a scheduled order's dropoff_deadline);
with none, ORDER_ASSIGN_DUE_MIN after it was placed (a scheduled order: after SCHEDULE_OFFER_LEAD_S before its
ready time), or the promise when that comes first. Late: now past due.

Fleet: an order is in a fleet when one of the fleet's riders holds it, or when nobody holds it and the fleet's
riders may take it (`services.fleets.rider_may_take`): the platform's riders any order, a merchant's own riders
only that merchant's orders."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from ..models import Order
from ..services.detectors import order_promise
from ..services.fleets import PLATFORM
from ..services.pickup_numbers import normalise_pickup_code
from .access import board_orders

FLEET_RE = re.compile(r"^(platform|merchant:([1-9]\d{0,9}))$")
BOARD_LIMIT = 500


@dataclass(frozen=True)
class BoardFilter:
    statuses: tuple[str, ...] = ()
    store: int | None = None
    fleet: str = ""
    q: str = ""


def order_due_at(order: Order) -> datetime:
    """Held by a rider: the promise. Unassigned: ORDER_ASSIGN_DUE_MIN after it was placed, a scheduled order
    counting from SCHEDULE_OFFER_LEAD_S before its pickup_ready_at (when auto-dispatch would offer it), or the
    promise if that comes first."""
    promise = order_promise(store=order.store, created_at=order.created_at, promised_at=order.promised_at)
    if order.rider_id:
        return promise
    start = order.created_at
    if order.pickup_ready_at:
        start = max(start, order.pickup_ready_at - timedelta(seconds=settings.SCHEDULE_OFFER_LEAD_S))
    return min(start + timedelta(minutes=settings.ORDER_ASSIGN_DUE_MIN), promise)


def fleet_q(fleet: str) -> Q:
    """The orders of `fleet` ("platform" or "merchant:<id>"), as the module's docstring says."""
    if fleet == PLATFORM:
        return Q(rider__isnull=True) | Q(rider__isnull=False, rider__fleet__isnull=True)
    merchant_id = int(fleet.split(":", 1)[1])
    return Q(rider__fleet_id=merchant_id) | Q(rider__isnull=True, merchant_id=merchant_id)


def pickup_q(text: str) -> Q | None:
    """A pickup number as staff say it: digits alone match that number at every store (`27`: A27, B27); with the
    store's letter, that one code. None if `text` is neither."""
    cleaned = re.sub(r"[\s#-]", "", text or "")
    if cleaned.isdigit() and 0 < int(cleaned) < 10**9:
        return Q(pickup_seq=int(cleaned))
    code = normalise_pickup_code(text)
    return Q(pickup_code=code) if code else None


def board_order_list(*, user, filters: BoardFilter | None = None, now: datetime | None = None,
                     limit: int = BOARD_LIMIT) -> list[Order]:
    """The caller's open orders, filtered and most urgent first, each with `due_at` and `late` set on it."""
    filters = filters or BoardFilter()
    now = now or timezone.now()
    qs = board_orders(user=user)
    if filters.statuses:
        qs = qs.filter(status__in=filters.statuses)
    if filters.store is not None:
        qs = qs.filter(store_id=filters.store)
    if filters.fleet:
        qs = qs.filter(fleet_q(filters.fleet))
    if filters.q:
        match = pickup_q(filters.q)
        qs = qs.filter(match) if match is not None else qs.none()
    qs = qs.annotate(held=Case(When(rider__isnull=True, then=Value(0)), default=Value(1), output_field=IntegerField()))
    orders = list(qs.order_by("held", "created_at", "pk")[:limit])
    for order in orders:
        order.due_at = order_due_at(order)
        order.late = now > order.due_at
    return orders
