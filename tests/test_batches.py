"""Batches: one rider, several orders from one store. Stops are numbered nearest first, and each order's address
is revealed on its own: reaching one door reveals nothing of the other."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone

from dispatch.models import Order
from dispatch.selectors.batches import sequence_stops
from tests.factories import DOOR, order_payload

pytestmark = pytest.mark.django_db

FAR_DOOR = (51.4900, -0.1500)  # ~2.7 km from store 1; DOOR is ~0.8 km


def test_stops_are_a_nearest_neighbour_walk():
    start = (0.0, 0.0)
    points = {7: (0.0, 0.03), 8: (0.0, 0.01), 9: (0.0, 0.02), 10: None, 11: (0.0, -0.005)}
    # 11 is nearest the start, then back east through 8, 9, 7; the order without a point comes last.
    assert sequence_stops(start, points) == {11: 1, 8: 2, 9: 3, 7: 4, 10: 5}
    assert sequence_stops(None, {3: (1.0, 1.0), 2: (0.0, 0.0)}) == {2: 1, 3: 2}
    assert sequence_stops(start, {}) == {}


def _ping(client, lat, lng, seq, ts):
    r = client.post("/api/rider/location/", {"lat": lat, "lng": lng, "accuracy": 10.0, "timestamp": ts, "seq": seq},
                    format="json")
    assert r.status_code == 200, r.content


def test_a_batch_of_two_is_sequenced_and_each_reveal_stays_its_own(merchant, dispatcher, rider1, demo):
    rider = demo["rider1"].rider
    far = merchant.post("/api/orders/", order_payload(customer={
        **order_payload()["customer"], "lat": FAR_DOOR[0], "lng": FAR_DOOR[1]}), format="json").json()["id"]
    near = merchant.post("/api/orders/", order_payload(), format="json").json()["id"]
    for oid in (far, near):
        assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": rider.pk},
                               format="json").status_code == 200
    listed = {o["id"]: o for o in rider1.get("/api/rider/orders/").json()}
    assert {oid: o["stop"] for oid, o in listed.items()} == {near: 1, far: 2}  # nearest the store first
    assert rider1.get(f"/api/rider/orders/{far}/").json()["stop"] == 2

    Order.objects.filter(pk__in=[far, near]).update(status="picked_up", picked_up_at=timezone.now())
    t = time.time()
    _ping(rider1, DOOR[0] + 0.027, DOOR[1], 1, t - 200)
    _ping(rider1, DOOR[0] + 0.0072, DOOR[1], 2, t - 6)
    _ping(rider1, DOOR[0] + 0.0071, DOOR[1], 3, t - 3)
    _ping(rider1, DOOR[0] + 0.0005, DOOR[1], 4, t + 24)
    _ping(rider1, DOOR[0] + 0.0004, DOOR[1], 5, t + 28)
    listed = {o["id"]: o for o in rider1.get("/api/rider/orders/").json()}
    assert listed[near]["destination"]["tier"] == "door"
    assert listed[far]["destination"]["tier"] == "area"  # the other order's address stays at its own tier
    assert "lat" not in listed[far]["destination"] and listed[far]["destination"]["text"] == "Westminster"
    assert listed[near]["stop"] == 1 and listed[far]["stop"] == 2

    # Delivered or not, the far order's reveal does not move with the near one's.
    detail = rider1.get(f"/api/rider/orders/{far}/").json()
    assert detail["destination"]["tier"] == "area" and detail["destination"]["distance_approx"] is True
