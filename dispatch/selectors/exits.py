"""Reads about the exits from a delivery: what the customer is told of one (a category and words, never a person
or a note), the door wait's countdown, and the returns a rider is bringing back (the store only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from ..errors import NotFound
from ..models import Order, OrderStatus
from ..permissions import rider_of
from ..services.exits import door_wait_ends_at
from ..services.reasons import CANCEL_REASONS, CANCELLED_BY_TEXT, EXIT_TEXT, FAIL_REASONS

S = OrderStatus
EXITS = (S.FAILED, S.RETURNING, S.RETURNED, S.CANCELLED)


@dataclass(frozen=True)
class DoorWait:
    started_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class OrderExit:
    status: str
    category: str
    reason: str
    headline: str
    detail: str


def door_wait(order: Order) -> DoorWait | None:
    """The running door wait of an order out for delivery (its countdown), else None."""
    ends = door_wait_ends_at(order)
    if order.status != S.PICKED_UP or ends is None or order.door_wait_started_at is None:
        return None
    return DoorWait(order.door_wait_started_at, ends)


def order_exit(order: Order) -> OrderExit | None:
    """Why the order left the road, as the customer may read it, in the request's language."""
    if order.status not in EXITS:
        return None
    headline = str(EXIT_TEXT[order.status])
    if order.status == S.CANCELLED:
        by = order.cancelled_by if order.cancelled_by in CANCELLED_BY_TEXT else "dispatch"
        reason = order.cancel_reason if order.cancel_reason in CANCEL_REASONS else "other"
        category = "cancelled_by_service" if by == "dispatch" else "cancelled_by_store"
        detail = _("%(who)s: %(why)s") % {"who": CANCELLED_BY_TEXT[by], "why": CANCEL_REASONS[reason]}
        return OrderExit(order.status, category, reason, headline, detail)
    reason = order.fail_reason if order.fail_reason in FAIL_REASONS else ""
    category = {S.FAILED: "delivery_failed", S.RETURNING: "returning", S.RETURNED: "returned"}[S(order.status)]
    return OrderExit(order.status, category, reason, headline, str(FAIL_REASONS[reason]) if reason else "")


def rider_returns(*, user) -> QuerySet[Order]:
    """The bags this rider is bringing back to their store: no grant, no destination, only the store."""
    rider = rider_of(user)
    if rider is None:
        return Order.objects.none()
    return Order.objects.select_related("store").filter(rider=rider, status=S.RETURNING).order_by("-pk")


def access_rider_return(*, user, order_id) -> Order:
    try:
        return rider_returns(user=user).get(pk=int(order_id))
    except (Order.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
