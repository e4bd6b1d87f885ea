"""What the rider's app needs to show the exits: the delivery attempt on the order (the door wait and the calls
made, against the store's numbers) and a frame that names nothing when their returns change."""

from __future__ import annotations

import pytest

from dispatch.models import Event, Store
from tests.exits_helpers import make_call_attempts, pick_up

pytestmark = pytest.mark.django_db


def test_the_attempt_counts_calls_and_shows_the_door_wait(assigned_order, rider1, staff1, demo):
    order_id = assigned_order["id"]
    assert rider1.get(f"/api/rider/orders/{order_id}/").json()["attempt"] is None  # not out for delivery yet
    pick_up(assigned_order, rider1, staff1)
    Store.objects.filter(orders__pk=order_id).update(door_wait_s=90, fail_min_calls=3)
    attempt = rider1.get(f"/api/rider/orders/{order_id}/").json()["attempt"]
    assert attempt == {"door_wait": None, "door_wait_s": 90, "call_attempts": 0, "calls_needed": 3}
    make_call_attempts(order_id, demo["rider1"], 2)
    wait = rider1.post(f"/api/rider/orders/{order_id}/door-wait/").json()["door_wait"]
    listed = {o["id"]: o for o in rider1.get("/api/rider/orders/").json()}[order_id]["attempt"]
    assert listed == {"door_wait": wait, "door_wait_s": 90, "call_attempts": 2, "calls_needed": 3}


def test_returns_changed_tells_the_rider_without_naming_the_order(assigned_order, rider1, staff1, demo):
    order_id = assigned_order["id"]
    pick_up(assigned_order, rider1, staff1)
    group = f"rider.{demo['rider1'].rider.pk}"
    rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "refused"}, format="json")
    frames = Event.objects.filter(group=group, type="returns.changed")
    assert [e.payload for e in frames] == [{}]
    code = rider1.get(f"/api/rider/returns/{order_id}/handoff-code/").json()["code"]
    assert staff1.post(f"/api/pickup/orders/{order_id}/return/", {"rider_code": code}, format="json").status_code == 200
    assert [e.payload for e in frames.all()] == [{}, {}]
    assert rider1.get("/api/rider/returns/").json() == []
