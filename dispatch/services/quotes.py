"""Delivery quotes and service areas. A quote prices the straight line from the store to the customer's door:

    fee   = QUOTE_BASE_FEE + QUOTE_PER_KM_FEE * distance_km   (whole metres, in started 100 m steps; to cents)
    eta_s = max(0, pickup_ready_at - now) + QUOTE_PICKUP_S + distance_m * QUOTE_ROAD_FACTOR / QUOTE_SPEED_MPS

The door is address data: the quote keeps a salted keyed digest of it (`tokens.point_digest`) and the distance,
never the coordinates, and nothing echoes them back."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import tokens
from ..errors import DomainError, Invalid
from ..geofence import distance_m
from ..models import Merchant, Quote, Store

WINDOW_LEEWAY = timedelta(minutes=1)  # a clock a little behind ours is not "in the past"


def service_polygon(value: object) -> list[tuple[float, float]] | None:
    """A store's `service_polygon` as corners, or None when unset or not a list of at least 3 [lat, lng] pairs of
    finite numbers (then the radius applies: a mistyped polygon must not refuse every order, nor be a 500)."""
    if not isinstance(value, list) or len(value) < 3:
        return None
    corners = []
    for corner in value:
        if not (isinstance(corner, list | tuple) and len(corner) == 2
                and all(isinstance(c, int | float) and not isinstance(c, bool) and math.isfinite(c) for c in corner)):
            return None
        corners.append((float(corner[0]), float(corner[1])))
    return corners


def in_service_area(store: Store, lat: float, lng: float) -> bool:
    """Inside the store's polygon when it has one (ray casting on lat/lng: fine at a city's scale), else within
    its service radius."""
    polygon = service_polygon(store.service_polygon)
    if polygon:
        inside = False
        n = len(polygon)
        for i in range(n):
            (y1, x1), (y2, x2) = polygon[i], polygon[(i + 1) % n]
            if (y1 > lat) != (y2 > lat) and lng < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
                inside = not inside
        return inside
    return distance_m(store.lat, store.lng, lat, lng) <= store.service_radius_m


def area_check(*, store: Store, lat: float, lng: float) -> None:
    if not in_service_area(store, lat, lng):
        raise Invalid(_("That address is outside the store's delivery area."), code="out_of_area")


def window_check(*, pickup_ready_at: datetime | None, dropoff_deadline: datetime | None, now: datetime) -> None:
    for at in (pickup_ready_at, dropoff_deadline):
        if at is not None and at < now - WINDOW_LEEWAY:
            raise Invalid(_("That time has already passed."), code="window_in_past")
    if pickup_ready_at and dropoff_deadline and dropoff_deadline <= pickup_ready_at:
        raise Invalid(_("The delivery deadline must come after the pickup time."), code="bad_window")


@dataclass(frozen=True)
class Price:
    distance_m: int
    fee: Decimal
    currency: str
    eta_s: int


def price(*, store: Store, lat: float, lng: float, pickup_ready_at: datetime | None, now: datetime) -> Price:
    metres = distance_m(store.lat, store.lng, lat, lng)
    km = Decimal(math.ceil(round(metres) / 100)) / 10  # whole metres first: 2000.0001 m is 2.0 km
    fee = (Decimal(settings.QUOTE_BASE_FEE) + Decimal(settings.QUOTE_PER_KM_FEE) * km).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP)
    wait = max(0.0, (pickup_ready_at - now).total_seconds()) if pickup_ready_at else 0.0
    ride = metres * settings.QUOTE_ROAD_FACTOR / settings.QUOTE_SPEED_MPS
    return Price(distance_m=round(metres), fee=fee, currency=settings.QUOTE_CURRENCY,
                 eta_s=round(wait + settings.QUOTE_PICKUP_S + ride))


@transaction.atomic
def quote_create(*, merchant: Merchant, store: Store, lat: float, lng: float, pickup_ready_at: datetime | None = None,
                 dropoff_deadline: datetime | None = None, now: datetime | None = None) -> Quote:
    now = now or timezone.now()
    window_check(pickup_ready_at=pickup_ready_at, dropoff_deadline=dropoff_deadline, now=now)
    area_check(store=store, lat=lat, lng=lng)
    p = price(store=store, lat=lat, lng=lng, pickup_ready_at=pickup_ready_at, now=now)
    return Quote.objects.create(
        merchant=merchant, store=store, point_digest=tokens.point_digest(lat, lng), distance_m=p.distance_m,
        fee=p.fee, currency=p.currency, eta_s=p.eta_s, pickup_ready_at=pickup_ready_at,
        dropoff_deadline=dropoff_deadline, created_at=now, expires_at=now + timedelta(seconds=settings.QUOTE_TTL_S))


def quote_take(*, merchant: Merchant, quote_id: int, store: Store | None, lat: float, lng: float,
               now: datetime) -> Quote:
    """The merchant's quote for a new order, locked (the caller's transaction marks it used). Refusals: another
    merchant's or no such quote (400 unknown_quote), expired (400 quote_expired), already used (409 quote_used),
    another store or door (400 quote_mismatch)."""
    quote = Quote.objects.select_for_update(of=("self",)).select_related("store").filter(pk=quote_id, merchant=merchant).first()
    if quote is None:
        raise Invalid(_("No such quote."), code="unknown_quote")
    if quote.used_at is not None:
        raise DomainError(_("That quote was already used for an order."), code="quote_used")
    if quote.expires_at <= now:
        raise Invalid(_("That quote has expired: ask for a new one."), code="quote_expired")
    if (store is not None and store.pk != quote.store_id) or not tokens.point_matches(quote.point_digest, lat, lng):
        raise Invalid(_("The order's store or address is not the one quoted."), code="quote_mismatch")
    return quote


def quotes_expired_delete(*, now: datetime, keep_s: int = 86400) -> int:
    """Unused quotes a day past their expiry (the beat's intake sweep)."""
    deleted, _n = Quote.objects.filter(used_at__isnull=True, expires_at__lt=now - timedelta(seconds=keep_s)).delete()
    return deleted
