"""A fixed scene for suggestions: 2 stores, 2 merchants, 20 riders in 2 fleets (the platform's and merchant 1's
own), 10 orders. Positions are metres east and north of store 1 (51.5, -0.12); store 2 is 2 km east of it."""

from __future__ import annotations

import math
from datetime import date, timedelta

from django.utils import timezone

from dispatch.geofence import EARTH_R
from dispatch.grid import cell_of
from dispatch.models import Dispatcher, Merchant, Order, OrderStatus, Rider, Store
from tests.factories import UserFactory

S1 = (51.5, -0.12)
NOW = timezone.now()

# name, fleet ("p" platform, "m" merchant 1's own), (east m, north m) of store 1 or None, seconds since seen, on duty
RIDERS = [
    ("P01", "p", (300, 0), 5, True),
    ("P02", "p", (200, 0), 5, True),
    ("P03", "p", (1200, 0), 5, True),
    ("P04", "p", (0, 900), 5, True),
    ("P05", "p", (2500, 0), 5, True),
    ("P06", "p", (0, -1600), 5, True),
    ("P07", "p", (400, 400), 5, True),
    ("P08", "p", (5000, 0), 5, True),
    ("P09", "p", (12000, 0), 5, True),
    ("P10", "p", (80_000, 0), 5, True),  # beyond the search's reach
    ("P11", "p", None, None, True),  # on duty, never seen
    ("P12", "p", (100, 0), 1200, True),  # a position 20 minutes old
    ("P13", "p", None, None, False),  # off duty
    ("P14", "p", (300, 0), 5, True),  # where P01 is
    ("M01", "m", (250, 0), 5, True),
    ("M02", "m", (400, 0), 5, True),
    ("M03", "m", (1000, 0), 5, True),
    ("M04", "m", (3000, 0), 5, True),
    ("M05", "m", None, None, True),
    ("M06", "m", (8000, 0), 5, True),
]


def at(east: float, north: float) -> tuple[float, float]:
    lat = S1[0] + math.degrees(north / EARTH_R)
    return lat, S1[1] + math.degrees(east / (EARTH_R * math.cos(math.radians(lat))))


def build() -> dict:
    m1 = Merchant.objects.create(user=UserFactory(username="scene-m1"))
    m2 = Merchant.objects.create(user=UserFactory(username="scene-m2"))
    s1 = Store.objects.create(name="Scene 1", address="1 Scene Road", lat=S1[0], lng=S1[1])
    s2_lat, s2_lng = at(2000, 0)
    s2 = Store.objects.create(name="Scene 2", address="2 Scene Road", lat=s2_lat, lng=s2_lng)
    m1.stores.add(s1)
    m2.stores.add(s2)
    riders = {}
    for name, fleet, where, seen, on_duty in RIDERS:
        lat, lng = at(*where) if where else (None, None)
        riders[name] = Rider.objects.create(
            user=UserFactory(username=f"scene-{name}"), display_name=name, phone="+447700900000", on_duty=on_duty,
            last_lat=lat, last_lng=lng, cell=cell_of(lat, lng), fleet=m1 if fleet == "m" else None,
            last_seen_at=NOW - timedelta(seconds=seen) if seen is not None else None)
    seq = iter(range(1, 100))

    def order(store: Store, merchant: Merchant, status: str, rider: str | None = None) -> Order:
        n = next(seq)
        return Order.objects.create(
            store=store, merchant=merchant, status=status, rider=riders[rider] if rider else None,
            business_date=date(2026, 12, 7), pickup_seq=n, pickup_code=f"{n:03d}", display_name="Z**",
            phone_masked="****0000", area="Scene", delivery_pin_digest="x", tracking_token_digest=f"scene-{n}",
            tracking_expires_at=NOW + timedelta(days=1), retention_due_at=NOW + timedelta(days=90))

    orders = {
        "A": order(s1, m1, OrderStatus.CREATED),
        "B": order(s2, m2, OrderStatus.CREATED),
        "C": order(s1, m1, OrderStatus.OFFERED),
    }
    order(s1, m1, OrderStatus.ASSIGNED, "P02")
    order(s2, m2, OrderStatus.PICKED_UP, "P02")
    order(s1, m1, OrderStatus.READY, "P04")
    order(s1, m1, OrderStatus.ASSIGNED, "M02")
    order(s1, m1, OrderStatus.DELIVERED, "P05")  # done: no load
    order(s2, m2, OrderStatus.CANCELLED, "P06")  # gone: no load
    order(s2, m2, OrderStatus.RETURNING, "P08")  # riding back to the store: a load
    assert Order.objects.count() == 10 and Rider.objects.count() == 20
    dispatchers = {scope or "all": Dispatcher.objects.create(user=UserFactory(username=f"scene-d-{scope or 'all'}"),
                                                           fleet_scope=scope).user
                   for scope in ("", "platform", f"merchant:{m1.pk}")}
    return {"riders": riders, "orders": orders, "m1": m1, "m2": m2, "dispatchers": dispatchers}
