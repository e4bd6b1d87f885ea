"""After retention, nothing in the database may lead back to the door or the customer's phone (finding 5).

A generic scan walks every table of every installed model: every pair of numbers in a row (float
columns, numbers inside text, JSON values at any depth) that reads as a point within 500 m of the
destination, and every occurrence of the order's phone digests. A new table is scanned without
anyone remembering to add it.
"""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.apps import apps
from django.utils import timezone

from dispatch import geofence, tokens, vault
from dispatch.live import state as live_state
from dispatch.models import AuditEvent, Grant, LocationFix, Order, ProxySession, Rider
from dispatch.services.audit import audit_verify
from dispatch.services.calls import call_sessions_end_due
from dispatch.services.lifecycle import access_revoke_due, retention_sweep
from tests.factories import CUSTOMER_PHONE, order_payload

# Far (> 2 km) from both demo stores, so only data derived from this order can lie near it.
DOOR = (51.4900, -0.1000)
NEAR_M = 500.0
NUMBER = re.compile(r"-?\d{1,3}\.\d+")


def _walk(value: Any, numbers: list[float], texts: list[str]) -> None:
    if value is None or isinstance(value, bool):
        return
    if isinstance(value, (int, float, Decimal)):
        numbers.append(float(value))
    elif isinstance(value, str):
        texts.append(value)
        numbers.extend(float(m) for m in NUMBER.findall(value))
        if value[:1] in "[{":
            try:
                _walk(json.loads(value), numbers, texts)
            except ValueError:
                pass
    elif isinstance(value, dict):
        for k, v in value.items():
            _walk(k, numbers, texts)
            _walk(v, numbers, texts)
    elif isinstance(value, (list, tuple)):
        for v in value:
            _walk(v, numbers, texts)
    elif isinstance(value, (bytes, memoryview)):
        texts.append(bytes(value).decode("latin-1"))


def scan(dest: tuple[float, float], needles: list[str]) -> list[str]:
    """Every row of every table: points near `dest` (as lat,lng or lng,lat pairs) and the needles."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        for row in model._default_manager.all().values():
            numbers: list[float] = []
            texts: list[str] = []
            for value in row.values():
                _walk(value, numbers, texts)
            for i, a in enumerate(numbers):
                for j, b in enumerate(numbers):
                    if i != j and -90 <= a <= 90 and -180 <= b <= 180 \
                            and geofence.fast_distance(a, b, *dest) <= NEAR_M:
                        found.append(f"{model._meta.label} {row.get('id')}: ({a}, {b})")
            for text in texts:
                for needle in needles:
                    if needle in text:
                        found.append(f"{model._meta.label} {row.get('id')}: digest {needle[:8]}...")
    return found


def ping(client, rider, lat, lng, seq, ts):
    live_state._saved_at.pop(rider.pk, None)  # as if the rider's phone waited out the position throttle
    r = client.post("/api/rider/location/", {"lat": lat, "lng": lng, "accuracy": 8.0, "timestamp": ts, "seq": seq},
                    format="json")
    assert r.status_code == 200, r.content
    return r.json()


def deliver_near_the_door(merchant, dispatcher, staff1, client_for, demo) -> tuple[int, Rider]:
    """A whole delivery through the real services: street and door tiers, a masked call, the PIN,
    and the rider's phone still reporting at the door after delivery."""
    rider = demo["rider1"].rider
    rider_api = client_for("rider1")
    payload = order_payload()
    payload["customer"] = {**payload["customer"], "lat": DOOR[0], "lng": DOOR[1]}
    created = merchant.post("/api/orders/", payload, format="json").json()
    order_id = created["id"]
    assert dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": rider.pk},
                           format="json").status_code == 200
    assert staff1.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    code = rider_api.get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    assert staff1.post("/api/pickup/handoff/", {"pickup_code": created["pickup_code"], "rider_code": code},
                       format="json").status_code == 200
    t = time.time()
    ping(rider_api, rider, DOOR[0] + 0.027, DOOR[1], 1, t - 200)
    ping(rider_api, rider, DOOR[0] + 0.0072, DOOR[1], 2, t - 6)
    assert ping(rider_api, rider, DOOR[0] + 0.0071, DOOR[1], 3, t - 3)["tiers"] == {str(order_id): "street"}
    ping(rider_api, rider, DOOR[0] + 0.0005, DOOR[1], 4, t + 20)
    assert ping(rider_api, rider, DOOR[0] + 0.0004, DOOR[1], 5, t + 24)["tiers"] == {str(order_id): "door"}
    call = rider_api.post(f"/api/rider/orders/{order_id}/call/")
    assert call.status_code == 200, call.content
    pin = tokens.delivery_pin(created["tracking_url"].rstrip("/").rsplit("/", 1)[1])  # what the customer's link shows
    assert rider_api.post(f"/api/rider/orders/{order_id}/deliver/", {"pin": pin}, format="json").status_code == 200
    ping(rider_api, rider, DOOR[0] + 0.0002, DOOR[1] + 0.0001, 6, t + 28)  # no active order: an untagged fix
    return order_id, rider


@pytest.mark.django_db
def test_after_shredding_nothing_near_the_door_or_the_phone_remains(merchant, dispatcher, staff1, client_for, demo):
    """Plays someone who later reads the whole database (a leaked backup, a curious operator) against
    finding 5: after retention, no position within 500 m of the door and no phone digest is left."""
    order_id, rider = deliver_near_the_door(merchant, dispatcher, staff1, client_for, demo)
    digests = [vault.digest(vault.normalise_phone(CUSTOMER_PHONE)), vault.digest(vault.normalise_phone(rider.phone))]
    assert scan(DOOR, digests), "the delivery left no trace to look for: the scan proves nothing"
    assert ProxySession.objects.filter(order_id=order_id).exists()

    later = timezone.now() - timedelta(seconds=1)
    Grant.objects.filter(order_id=order_id).update(expires_at=later)
    ProxySession.objects.filter(order_id=order_id).update(expires_at=later)
    access_revoke_due()
    call_sessions_end_due()
    Order.objects.filter(pk=order_id).update(retention_due_at=later)
    assert retention_sweep()["shredded"] == 1

    left = scan(DOOR, digests)
    assert left == [], "\n".join(left)
    # Statistics survive: the order, its area and status, the call session's row, a sound audit chain.
    order = Order.objects.get(pk=order_id)
    assert (order.status, order.area) == ("delivered", "Westminster")
    assert ProxySession.objects.filter(order_id=order_id).count() == 1
    assert audit_verify().ok


@pytest.mark.django_db
def test_tier_audit_events_carry_distance_bands_not_coordinates(merchant, dispatcher, staff1, client_for, demo):
    """Plays an auditor reading the append-only log (finding 5): a reached tier is recorded with a
    distance band, so the log never needs rewriting to forget the door."""
    order_id, _ = deliver_near_the_door(merchant, dispatcher, staff1, client_for, demo)
    events = AuditEvent.objects.filter(order_id=order_id, action="grant.created", data__tier__in=["street", "door"])
    assert events.count() == 2
    for event in events:
        assert not {"lat", "lng", "distance_m"} & set(event.data), event.data
    assert {e.data["distance_band"] for e in events} == {"150-1000 m", "<150 m"}
    assert scan(DOOR, []) != []  # before retention the history is still there, for disputes
    assert LocationFix.objects.filter(order_id=order_id).exists()
