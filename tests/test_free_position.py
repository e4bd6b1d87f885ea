"""A free rider (on duty, no order) shares a sparse position: at most one stored per 30 s, over HTTP and the
socket; ranked by suggestions for dispatch of the rider's fleet only; nothing off duty; forgotten with the
location history."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from dispatch import grid
from dispatch.live import state as live_state
from dispatch.live.ping import FREE_POSITION_EVERY_S
from dispatch.models import Dispatcher, LocationFix, Rider
from dispatch.selectors.suggestions import suggest_riders
from dispatch.services.lifecycle import retention_sweep
from tests.factories import UserFactory
from tests.test_websockets import connect, cookie_for

pytestmark = pytest.mark.django_db(transaction=False)
HERE = (51.503, -0.115)


def post(client, seq: int, t: float, lat: float = HERE[0]) -> dict:
    r = client.post("/api/rider/location/", {"lat": lat, "lng": HERE[1], "accuracy": 10, "timestamp": t * 1000,
                                             "seq": seq}, format="json")
    assert r.status_code == 200, r.content
    return r.json()


def wind_clock(rider_id: int, seconds: float) -> None:
    """This process's clock of the rider's last stored position, moved back (instead of waiting)."""
    live_state._free_stored_at[rider_id] -= seconds


def test_a_free_riders_position_is_stored_at_most_every_30_s_over_http(demo, rider1, posted_order):
    rider = demo["rider1"].rider
    assert not rider.orders.exists() and rider.on_duty and rider.last_lat is None  # "no position yet", before
    t = time.time() - 60
    assert post(rider1, 1, t) == {"seq": 1, "accepted": True, "reason": "", "tiers": {}}
    rider.refresh_from_db()
    assert (rider.last_lat, rider.last_lng, rider.cell) == (HERE[0], HERE[1], grid.cell_of(*HERE))
    assert list(LocationFix.objects.filter(rider=rider).values_list("order_id", "seq")) == [(None, 1)]
    # 10 s later: answered, not stored.
    assert post(rider1, 2, t + 10, lat=51.51) == {"seq": 2, "accepted": False, "reason": "sparse", "tiers": {}}
    # 29 s after the first by the fix's time, even with this process's clock wound on (another process).
    wind_clock(rider.pk, FREE_POSITION_EVERY_S)
    assert post(rider1, 3, t + 29, lat=51.51)["reason"] == "sparse"
    assert LocationFix.objects.filter(rider=rider).count() == 1
    rider.refresh_from_db()
    assert rider.last_lat == HERE[0]
    # 31 s after it: stored.
    wind_clock(rider.pk, FREE_POSITION_EVERY_S)
    assert post(rider1, 4, t + 31, lat=51.51)["accepted"] is True
    rider.refresh_from_db()
    assert rider.last_lat == 51.51 and rider.cell == grid.cell_of(51.51, HERE[1])
    assert LocationFix.objects.filter(rider=rider).count() == 2


def test_a_rider_with_an_order_is_not_made_sparse(demo, rider1, assigned_order):
    t = time.time() - 30
    for seq in range(1, 4):
        assert post(rider1, seq, t + seq)["accepted"] is True
    assert LocationFix.objects.filter(rider=demo["rider1"].rider, order_id=assigned_order["id"]).count() == 3


def test_a_free_riders_socket_pings_are_sparse_too(demo):
    ck = cookie_for(demo["rider1"])

    async def scenario():
        comm, ok, _ = await connect("/ws/rider/", ck)
        assert ok
        t = time.time() * 1000
        acks = []
        for seq in (1, 2, 3):
            await comm.send_json_to({"type": "location", "lat": HERE[0], "lng": HERE[1], "accuracy": 8,
                                     "timestamp": t + seq * 1000, "seq": seq})
            acks.append(await comm.receive_json_from(timeout=3))
        await comm.disconnect()
        return acks

    acks = async_to_sync(scenario)()
    assert [(a["accepted"], a["reason"]) for a in acks] == [(True, ""), (False, "sparse"), (False, "sparse")]
    assert LocationFix.objects.filter(rider=demo["rider1"].rider).count() == 1


def test_off_duty_nothing_is_stored_and_the_position_is_forgotten(demo, rider1):
    post(rider1, 1, time.time() - 5)
    r = rider1.post("/api/rider/duty/", {"on_duty": False}, format="json")
    assert r.status_code == 200
    rider = Rider.objects.get(pk=demo["rider1"].rider.pk)
    assert (rider.last_lat, rider.last_lng, rider.cell) == (None, None, None)
    wind_clock(rider.pk, FREE_POSITION_EVERY_S)
    r = rider1.post("/api/rider/location/", {"lat": 51.5, "lng": -0.1, "accuracy": 10,
                                             "timestamp": time.time() * 1000, "seq": 9}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "off_duty"
    assert LocationFix.objects.filter(rider=rider).count() == 1
    rider.refresh_from_db()
    assert rider.last_lat is None


def test_ranked_for_dispatch_of_the_riders_fleet_only(demo, rider1, posted_order):
    from dispatch.models import Order

    post(rider1, 1, time.time() - 5)
    order = Order.objects.get(pk=posted_order["id"])
    rider = demo["rider1"].rider
    mine = next(s for s in suggest_riders(order=order) if s.rider == rider.pk)
    assert mine.distance_m is not None and mine.eta_s is not None and mine.fleet == "platform"
    other = Dispatcher.objects.create(user=UserFactory(username="desk-m"),
                                      fleet_scope=f"merchant:{order.merchant_id}")
    assert all(s.rider != rider.pk for s in suggest_riders(order=order, user=other.user))


def test_kept_no_longer_than_the_location_history(demo, rider1, settings):
    post(rider1, 1, time.time() - 5)
    rider = demo["rider1"].rider
    retention_sweep()
    rider.refresh_from_db()
    assert rider.last_lat is not None  # a fresh position stays
    old = timezone.now() - timedelta(days=settings.LOCATION_HISTORY_DAYS, minutes=1)
    Rider.objects.filter(pk=rider.pk).update(last_seen_at=old)
    LocationFix.objects.filter(rider=rider).update(received_at=old)
    result = retention_sweep()
    assert result["positions_cleared"] == 1 and result["fixes_deleted"] == 1
    rider.refresh_from_db()
    assert (rider.last_lat, rider.last_lng, rider.cell, rider.last_seen_at) == (None, None, None, None)


def test_a_free_position_stored_does_not_hold_back_the_next_order_pings_last_position(
        demo, rider1, dispatcher, posted_order, django_capture_on_commit_callbacks):
    """The free riders' 30 s clock and the 5 s last-position throttle are two clocks: a free position stored a
    moment ago does not stop the first ping with an order from saving the rider's last position."""
    live_state.state_clear()
    rider = demo["rider1"].rider
    t = time.time() - 60
    assert post(rider1, 1, t)["accepted"] is True  # free: stored (the free clock set)
    with django_capture_on_commit_callbacks(execute=True):  # the rider's context follows the assignment
        r = dispatcher.post(f"/api/dispatch/orders/{posted_order['id']}/assign/", {"rider": rider.pk}, format="json")
    assert r.status_code == 200
    assert post(rider1, 2, t + 1, lat=51.5031)["accepted"] is True  # with the order, a second later
    rider.refresh_from_db()
    assert rider.last_lat == 51.5031  # saved: the free clock's save did not throttle it


def test_an_order_pings_last_position_saved_does_not_make_the_first_free_ping_sparse(
        demo, rider1, merchant, assigned_order, django_capture_on_commit_callbacks):
    """The other way: the 5 s throttle's save (a ping with an order) does not hold back the free clock once the
    order is gone; the free ping is judged by the last position's time only (here 31 s on by the fix)."""
    live_state.state_clear()
    rider = demo["rider1"].rider
    t = time.time() - 60
    assert post(rider1, 1, t)["accepted"] is True  # with the order: the last position saved (the 5 s clock set)
    with django_capture_on_commit_callbacks(execute=True):  # the rider's context follows the cancel
        r = merchant.post(f"/api/orders/{assigned_order['id']}/cancel/", {"reason": "out_of_stock"}, format="json")
    assert r.status_code == 200, r.content
    assert post(rider1, 2, t + 31, lat=51.5031) == {"seq": 2, "accepted": True, "reason": "", "tiers": {}}
    rider.refresh_from_db()
    assert rider.last_lat == 51.5031
    assert post(rider1, 3, t + 40, lat=51.5032)["reason"] == "sparse"  # and the free clock holds from there
