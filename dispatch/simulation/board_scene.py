# ruff: noqa: S311 - simulated placement, nothing secret
"""A busy board for the browser test and Lighthouse: open orders at the demo stores, of every age (some late),
some held by riders, and on-duty riders with positions spread around the stores (every tenth in the second
store's merchant's own fleet). Orders are made through `order_create` (so each has its vault record and masked
views); the riders' hold and status are then written directly, as the load tools do (no grants, no events: the
scene is for looking at, not for delivering). Riders are `scene-rider-NN` accounts with unusable passwords."""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

from .geo import offset

PREFIX = "scene-rider"
HELD_STATUSES = ("assigned", "ready", "picked_up")


def board_scene(*, orders: int = 100, riders: int = 50, seed: int = 26, now: datetime | None = None) -> dict[str, Any]:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone

    from dispatch.models import Merchant, Order, Rider, Store
    from dispatch.services.detectors import order_promise
    from dispatch.services.orders import order_create

    rng = random.Random(seed)
    now = now or timezone.now()
    stores = list(Store.objects.order_by("pk")[:2])
    if not stores:
        raise RuntimeError("No store: run demo_data first.")
    merchants = {s.pk: Merchant.objects.filter(stores=s).order_by("pk").first() for s in stores}
    own_fleet = merchants[stores[-1].pk]  # every tenth rider rides for the last store's merchant
    User = get_user_model()
    unusable = make_password(None)
    with transaction.atomic():
        rider_rows = []
        for i in range(1, riders + 1):
            user, _ = User.objects.get_or_create(username=f"{PREFIX}-{i:02d}", defaults={"password": unusable})
            store = stores[i % len(stores)]
            bearing, far = rng.uniform(0, 2 * math.pi), rng.uniform(100, 2500)
            lat, lng = offset(store.lat, store.lng, far * math.cos(bearing), far * math.sin(bearing))
            rider, _ = Rider.objects.update_or_create(user=user, defaults={
                "display_name": f"Rider {i:02d}", "phone": "+447700900000", "on_duty": True, "last_lat": lat,
                "last_lng": lng, "last_seen_at": now - timedelta(seconds=rng.randint(1, 50)),
                "fleet": own_fleet if i % 10 == 0 else None})
            rider_rows.append(rider)
        made = []
        for i in range(orders):
            store = stores[i % len(stores)]
            bearing, far = rng.uniform(0, 2 * math.pi), rng.uniform(300, 4000)
            lat, lng = offset(store.lat, store.lng, far * math.cos(bearing), far * math.sin(bearing))
            order = order_create(
                merchant=merchants[store.pk], store=store, external_ref=f"SCENE-{i + 1}",
                customer={"name": "Scene Customer", "phone": "+447700900000", "lat": lat, "lng": lng,
                          "address": {"area": rng.choice(["Riverside", "Old Town", "Southbank", "Docklands"]),
                                      "street": "1 Scene Street"}},
                items=[{"name": "Parcel", "qty": rng.randint(1, 3)}], consent={"number_protection": True})
            made.append(order)
        for i, order in enumerate(made):
            created = now - timedelta(minutes=rng.uniform(0, 50))
            # Promised as the order would have been, placed then: some held orders are past their promise.
            fields: dict[str, Any] = {"created_at": created,
                                      "promised_at": order_promise(store=order.store, created_at=created)}
            if i % 5 >= 2:  # three in five held by a rider who may take them
                allowed = [r for r in rider_rows if r.fleet_id is None or r.fleet_id == order.merchant_id]
                status = HELD_STATUSES[i % len(HELD_STATUSES)]
                fields.update(rider=rng.choice(allowed), status=status,
                              assigned_at=created + timedelta(minutes=2))
            Order.objects.filter(pk=order.pk).update(**fields)
    return {"orders": len(made), "riders": len(rider_rows), "stores": [s.pk for s in stores]}
