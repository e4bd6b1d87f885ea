"""The merchant portal's reads: an order's timeline and, while the bag is on the road, where its rider is at the
level of a grid cell. Never the door: the merchant's map shows the store, the order's area (about 1 km, as the
masked view gives it) and the rider's cell, and nothing finer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from .. import grid
from ..models import Order, OrderStatus

# The rider is shown only while carrying the bag (picked up, not yet delivered): before pick-up the merchant has
# no need of the rider's whereabouts, after it none at all. A position older than this is not shown either.
RIDER_AREA_STATUSES = frozenset({OrderStatus.PICKED_UP})
RIDER_AREA_MAX_AGE = timedelta(minutes=5)

STATUSES = tuple(OrderStatus.values)  # every status, in the state machine's order (the list's filter)

# The order's steps as the portal's timeline lists them, each with the order's field that dates it.
TIMELINE = (
    ("created", "created_at"),
    ("assigned", "assigned_at"),
    ("ready", "ready_at"),
    ("picked_up", "picked_up_at"),
    ("delivered", "delivered_at"),
    ("failed", "failed_at"),
    ("returning", "returning_at"),
    ("returned", "returned_at"),
    ("cancelled", "cancelled_at"),
)


@dataclass(frozen=True)
class RiderArea:
    """The centre of the grid cell (dispatch/grid.py, about 1.1 × 0.7 km) holding the rider, and the minute of
    the fix: a coarse position that says "on the way, about here", never a street."""

    lat: float
    lng: float
    at: datetime


@dataclass(frozen=True)
class PortalOrder:
    order: Order
    rider_area: RiderArea | None
    timeline: list[dict]  # [{"status", "at"}], oldest first


def cell_centre(lat: float, lng: float) -> tuple[float, float]:
    row, col = grid.row_col(lat, lng)
    return (round(-90.0 + (row + 0.5) * grid.CELL_DEG, 5), round(-180.0 + (col + 0.5) * grid.CELL_DEG, 5))


def rider_area(order: Order, *, now: datetime | None = None) -> RiderArea | None:
    rider = order.rider
    if order.status not in RIDER_AREA_STATUSES or rider is None:
        return None
    if rider.last_lat is None or rider.last_lng is None or rider.last_seen_at is None:
        return None
    now = now or timezone.now()
    if now - rider.last_seen_at > RIDER_AREA_MAX_AGE:
        return None
    lat, lng = cell_centre(rider.last_lat, rider.last_lng)
    return RiderArea(lat=lat, lng=lng, at=rider.last_seen_at.replace(second=0, microsecond=0))


def portal_order(order: Order, *, now: datetime | None = None) -> PortalOrder:
    steps = [{"status": step, "at": getattr(order, field)} for step, field in TIMELINE
             if getattr(order, field, None) is not None]
    steps.sort(key=lambda s: s["at"])
    return PortalOrder(order=order, rider_area=rider_area(order, now=now), timeline=steps)
