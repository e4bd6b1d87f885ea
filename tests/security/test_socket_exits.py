"""Plays a rider whose delivery leaves the road (cancelled by each party, failed, taken back at the counter) while
the app is open, then rides on toward the door: the socket sends the purge (`order.revoked`) and then nothing
more of that order, and no tier is reached. The control rides the same way with no exit and reaches the street
tier, so the pings would have revealed it."""

from __future__ import annotations

import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from dispatch.models import Grant, Order, Store
from tests.factories import DOOR

from .socket_helpers import frames_until_quiet, login_cookie, open_socket, shut

pytestmark = pytest.mark.django_db(transaction=True)


def picked_up(merchant, dispatcher, staff1, rider1, demo, *, hand_over: bool = True) -> dict:
    from tests.factories import order_payload

    order = merchant.post("/api/orders/", order_payload(), format="json").json()
    oid = order["id"]
    dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": demo["rider1"].rider.pk}, format="json")
    staff1.post(f"/api/pickup/orders/{oid}/ready/")
    if hand_over:
        code = rider1.get(f"/api/rider/orders/{oid}/handoff-code/").json()["code"]
        r = staff1.post("/api/pickup/handoff/", {"pickup_code": order["pickup_code"], "rider_code": code}, format="json")
        assert r.status_code == 200, r.content
    return order


def _fail(rider1, oid, reason="refused"):
    return rider1.post(f"/api/rider/orders/{oid}/fail/", {"reason": reason}, format="json")


def _unreachable(rider1, user, oid):
    """With the evidence: two unanswered in-app calls and a door wait that has run out."""
    from datetime import timedelta

    from django.utils import timezone

    from tests.exits_helpers import make_call_attempts

    make_call_attempts(oid, user, 2)
    assert rider1.post(f"/api/rider/orders/{oid}/door-wait/").status_code == 200
    Order.objects.filter(pk=oid).update(door_wait_started_at=timezone.now() - timedelta(seconds=301))
    return _fail(rider1, oid, "unreachable")


EXITS = {
    "none": lambda c, oid: None,
    "merchant_cancel": lambda c, oid: c["merchant"].post(f"/api/orders/{oid}/cancel/", {"reason": "other"},
                                                         format="json"),
    "dispatch_cancel": lambda c, oid: c["dispatcher"].post(f"/api/dispatch/orders/{oid}/cancel/",
                                                           {"reason": "no_rider"}, format="json"),
    "store_cancel": lambda c, oid: c["staff1"].post(f"/api/pickup/orders/{oid}/cancel/", {"reason": "out_of_stock"},
                                                    format="json"),
    "fail_refused": lambda c, oid: _fail(c["rider1"], oid),
    "fail_wrong_address": lambda c, oid: _fail(c["rider1"], oid, "wrong_address"),
    "fail_unsafe": lambda c, oid: _fail(c["rider1"], oid, "unsafe"),
    "fail_unreachable": lambda c, oid: _unreachable(c["rider1"], c["rider_user"], oid),
}


async def ride_to_the_street(comm) -> None:
    t = time.time()
    for seq, ts in ((1, t - 6), (2, t - 3)):
        await comm.send_json_to({"type": "location", "lat": DOOR[0] + 0.0071, "lng": DOOR[1], "accuracy": 5.0,
                                 "timestamp": ts, "seq": seq})


def order_frames(frames: list[dict], oid: int) -> list[tuple]:
    return [(f["type"], f.get("status"), f.get("tier")) for f in frames if f.get("order") == oid]


def test_each_exit_purges_and_stops_the_order_on_the_riders_socket(demo, merchant, dispatcher, staff1, rider1):
    """One order per exit, all held by the rider, and a control order with no exit; all exits happen while the
    socket is open, then the rider rides toward the (shared) door."""
    clients = {"merchant": merchant, "dispatcher": dispatcher, "staff1": staff1, "rider1": rider1,
               "rider_user": demo["rider1"]}
    orders = {exit_: picked_up(merchant, dispatcher, staff1, rider1, demo, hand_over=exit_ != "store_cancel")["id"]
              for exit_ in EXITS}
    cookie = login_cookie(demo["rider1"])

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        for exit_, oid in orders.items():
            response = await sync_to_async(EXITS[exit_])(clients, oid)
            assert response is None or response.status_code == 200, response.content
        before = await frames_until_quiet(comm, quiet_s=0.3)
        await ride_to_the_street(comm)
        after = await frames_until_quiet(comm, quiet_s=0.3)
        await shut(comm)
        return before, after

    before, after = async_to_sync(scenario)()
    assert [a["accepted"] for a in after if a["type"] == "location.ack"] == [True, True]
    control = orders.pop("none")
    assert order_frames(before, control) == []
    assert order_frames(after, control) == [("order.updated", "picked_up", "street")]  # the ride reveals a tier
    for exit_, oid in orders.items():
        assert order_frames(before, oid) == [("order.revoked", None, None)], exit_
        assert order_frames(after, oid) == [], exit_  # no tier, no state change: nothing after the purge
        assert not Grant.objects.filter(order_id=oid, revoked_at__isnull=True).exists(), exit_
        assert rider1.get(f"/api/rider/orders/{oid}/").status_code == 404, exit_


def test_retry_and_return_on_the_riders_socket(demo, merchant, dispatcher, staff1, rider1):
    """A failure under the retry policy purges; dispatch's retry gives the order back (tiers flow again, from
    the area tier); the second failure purges again; the counter's return sends nothing more to the rider."""
    order = picked_up(merchant, dispatcher, staff1, rider1, demo)
    oid = order["id"]
    Store.objects.filter(orders__pk=oid).update(fail_policy="retry")
    cookie = login_cookie(demo["rider1"])

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        assert (await sync_to_async(_fail)(rider1, oid)).json()["status"] == "failed"
        failed = await frames_until_quiet(comm, quiet_s=0.3)
        retried = await sync_to_async(dispatcher.post)(f"/api/dispatch/orders/{oid}/retry/")
        assert retried.status_code == 200
        back = await frames_until_quiet(comm, quiet_s=0.3)
        await ride_to_the_street(comm)
        riding = await frames_until_quiet(comm, quiet_s=0.3)
        await sync_to_async(Store.objects.filter(orders__pk=oid).update)(fail_policy="return")
        assert (await sync_to_async(_fail)(rider1, oid)).json()["status"] == "returning"
        code = (await sync_to_async(rider1.get)(f"/api/rider/returns/{oid}/handoff-code/")).json()["code"]
        returned = await sync_to_async(staff1.post)(f"/api/pickup/orders/{oid}/return/", {"rider_code": code},
                                                    format="json")
        assert returned.status_code == 200
        gone = await frames_until_quiet(comm, quiet_s=0.3)
        await shut(comm)
        return failed, back, riding, gone

    failed, back, riding, gone = async_to_sync(scenario)()
    assert order_frames(failed, oid) == [("order.revoked", None, None)]
    assert order_frames(back, oid) == [("order.assigned", "picked_up", None)]
    assert order_frames(riding, oid) == [("order.updated", "picked_up", "street")]
    assert order_frames(gone, oid) == [("order.revoked", None, None)]
    assert Order.objects.get(pk=oid).status == "returned"
