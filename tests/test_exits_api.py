"""A failed delivery through the HTTP API (each reason, and the evidence "unreachable" needs), the retry and the
return at the counter. Each ends the rider's access as delivery does: the page answers 404, every grant is
revoked, the device is told (`order.revoked`), and the audit says so, with a reason code and never a note."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import AuditEvent, Grant, Order, Store, Tier
from dispatch.services.privacy import grant_create
from tests.exits_helpers import (
    NOTE,
    assert_access_ended,
    assert_no_note,
    make_call_attempts,
    pick_up,
    track,
)
from tests.factories import PII_STRINGS, order_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def picked_up(assigned_order, rider1, staff1):
    pick_up(assigned_order, rider1, staff1)
    return assigned_order


# --- fail -----------------------------------------------------------------------------------------------------
def test_fail_goes_back_to_the_store_and_ends_access(merchant, dispatcher, rider1, staff1, demo):
    """Each reason that needs no evidence, one order each, under the store's default policy ("return")."""
    for reason in ("refused", "wrong_address", "unsafe"):
        order = merchant.post("/api/orders/", order_payload(), format="json").json()
        order_id = order["id"]
        dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": demo["rider1"].rider.pk}, format="json")
        pick_up(order, rider1, staff1)
        r = rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": reason, "note": NOTE}, format="json")
        assert r.status_code == 200, r.content
        assert r.json() == {"id": order_id, "status": "returning"}  # the default policy: back at once
        assert_access_ended(order_id, rider1, demo, "failed")
        assert AuditEvent.objects.get(order_id=order_id, action="order.failed").data["reason"] == reason
        assert AuditEvent.objects.filter(order_id=order_id, action="order.returning").count() == 1
        assert_no_note(order_id)
        returns = rider1.get("/api/rider/returns/").json()
        assert (returns[0]["id"], returns[0]["status"]) == (order_id, "returning")
        assert set(returns[0]) == {"id", "status", "pickup_code", "store"}  # no customer, no destination
        assert not any(s in json.dumps(returns) for s in PII_STRINGS)
        exit_ = track(order)["exit"]
        assert (exit_["category"], exit_["reason"]) == ("returning", reason)
        again = rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": reason}, format="json")
        assert again.status_code == 404  # no longer the rider's order
    assert len(rider1.get("/api/rider/returns/").json()) == 3


def test_fail_refusals(assigned_order, rider1):
    order_id = assigned_order["id"]
    early = rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "refused"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "wrong_state"
    assert early.json()["detail"] == "An order that is assigned cannot be marked as failed."
    assert rider1.post(f"/api/rider/orders/{order_id}/door-wait/").json()["code"] == "wrong_state"
    bad = rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "bored"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


def test_unreachable_needs_calls_and_a_door_wait_run_out(picked_up, rider1, client_for, demo):
    order_id = picked_up["id"]
    unreachable = {"reason": "unreachable"}
    r = rider1.post(f"/api/rider/orders/{order_id}/fail/", unreachable, format="json")
    assert r.status_code == 409 and r.json()["code"] == "no_call_attempts"
    make_call_attempts(order_id, demo["rider1"], 1)
    r = rider1.post(f"/api/rider/orders/{order_id}/fail/", unreachable, format="json")
    assert r.json()["code"] == "no_call_attempts" and "(1 so far)" in r.json()["detail"]
    make_call_attempts(order_id, demo["rider1"], 1)
    r = rider1.post(f"/api/rider/orders/{order_id}/fail/", unreachable, format="json")
    assert r.status_code == 409 and r.json()["code"] == "wait_not_over"  # never started

    assert track(picked_up)["door_wait"] is None
    started = rider1.post(f"/api/rider/orders/{order_id}/door-wait/")
    assert started.status_code == 200, started.content
    wait = started.json()["door_wait"]
    view = track(picked_up)["door_wait"]
    assert view == wait
    ends = timezone.datetime.fromisoformat(view["ends_at"]) - timezone.datetime.fromisoformat(view["started_at"])
    assert ends == timedelta(seconds=300)
    assert rider1.post(f"/api/rider/orders/{order_id}/door-wait/").json()["door_wait"] == wait  # not restarted
    r = rider1.post(f"/api/rider/orders/{order_id}/fail/", unreachable, format="json")
    assert r.status_code == 409 and r.json()["code"] == "wait_not_over"
    assert Order.objects.get(pk=order_id).status == "picked_up"

    Order.objects.filter(pk=order_id).update(door_wait_started_at=timezone.now() - timedelta(seconds=301))
    r = rider1.post(f"/api/rider/orders/{order_id}/fail/", unreachable, format="json")
    assert r.status_code == 200 and r.json()["status"] == "returning"
    assert_access_ended(order_id, rider1, demo, "failed")
    exit_ = track(picked_up)["exit"]
    assert (exit_["reason"], exit_["detail"]) == ("unreachable", "the rider could not reach you")
    assert track(picked_up, "zh-CN,zh;q=0.9")["exit"]["detail"] == "骑手联系不上您"


def test_calls_before_pick_up_or_per_store_settings(assigned_order, rider1, staff1, demo):
    """Calls made before the bag was picked up are no evidence; the number of calls and the wait are the store's."""
    order_id = assigned_order["id"]
    make_call_attempts(order_id, demo["rider1"], 2)
    pick_up(assigned_order, rider1, staff1)
    Store.objects.filter(orders__pk=order_id).update(fail_min_calls=1, door_wait_s=60)
    r = rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "unreachable"}, format="json")
    assert r.json()["code"] == "no_call_attempts"
    make_call_attempts(order_id, demo["rider1"], 1)
    wait = rider1.post(f"/api/rider/orders/{order_id}/door-wait/").json()["door_wait"]
    gap = timezone.datetime.fromisoformat(wait["ends_at"]) - timezone.datetime.fromisoformat(wait["started_at"])
    assert gap == timedelta(seconds=60)


# --- retry and return -----------------------------------------------------------------------------------------
@pytest.fixture
def retry_store(picked_up):
    Store.objects.filter(orders__pk=picked_up["id"]).update(fail_policy="retry")
    return picked_up


def test_retry_gives_a_fresh_area_grant_to_the_rider_with_the_bag(retry_store, rider1, dispatcher, demo):
    order_id = retry_store["id"]
    order = Order.objects.get(pk=order_id)
    grant_create(order=order, user=demo["rider1"], scope="address", tier=Tier.DOOR, purpose="delivery")
    assert rider1.get(f"/api/rider/orders/{order_id}/").json()["destination"]["tier"] == "door"
    r = rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "refused"}, format="json")
    assert r.json() == {"id": order_id, "status": "failed"}
    assert_access_ended(order_id, rider1, demo, "failed")
    assert Order.objects.get(pk=order_id).retry_until is not None
    assert track(retry_store)["exit"]["category"] == "delivery_failed"
    board = {o["id"]: o for o in dispatcher.get("/api/dispatch/orders/").json()}  # the board shows what to retry
    assert (board[order_id]["status"], board[order_id]["fail_reason"]) == ("failed", "refused")
    assert board[order_id]["retry_until"] is not None

    r = dispatcher.post(f"/api/dispatch/orders/{order_id}/retry/")
    assert r.status_code == 200 and r.json() == {"id": order_id, "status": "picked_up"}
    live = Grant.objects.filter(order_id=order_id, principal=demo["rider1"], revoked_at__isnull=True)
    assert [(g.tier, g.scope) for g in live] == [(Tier.AREA, "address")]
    assert rider1.get(f"/api/rider/orders/{order_id}/").json()["destination"]["tier"] == "area"
    assert AuditEvent.objects.filter(order_id=order_id, action="order.retried").count() == 1
    again = dispatcher.post(f"/api/dispatch/orders/{order_id}/retry/")
    assert again.status_code == 409 and again.json()["code"] == "wrong_state"
    assert rider1.post(f"/api/dispatch/orders/{order_id}/retry/").status_code == 403


def test_the_retry_window_runs_out_into_returning(retry_store, rider1, dispatcher, demo, monkeypatch,
                                                   django_capture_on_commit_callbacks):
    from celery import current_app

    from dispatch import tasks
    from dispatch.services.lifecycle import lifecycle_sweep

    sent = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args, countdown: sent.append((name, args, countdown)))
    order_id = retry_store["id"]
    Store.objects.filter(orders__pk=order_id).update(retry_window_s=120)
    with django_capture_on_commit_callbacks(execute=True):
        rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "refused"}, format="json")
    assert sent == [("dispatch.tasks.return_failed_order", [order_id], 121)]
    assert tasks.return_failed_order.run(order_id) == 0  # not yet due: nothing moves
    Order.objects.filter(pk=order_id).update(retry_until=timezone.now() - timedelta(seconds=1))
    assert lifecycle_sweep()["returns_started"] == 1  # the fallback, when no countdown ran
    assert tasks.return_failed_order.run(order_id) == 0  # idempotent
    assert Order.objects.get(pk=order_id).status == "returning"
    late = dispatcher.post(f"/api/dispatch/orders/{order_id}/retry/")
    assert late.status_code == 409 and late.json()["code"] == "wrong_state"


def test_a_retry_after_the_window_returns_the_bag_instead(retry_store, rider1, dispatcher, monkeypatch):
    order_id = retry_store["id"]
    Store.objects.filter(orders__pk=order_id).update(retry_window_s=3600)  # past the countdown limit: sweep only
    rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "unsafe"}, format="json")
    Order.objects.filter(pk=order_id).update(retry_until=timezone.now() - timedelta(seconds=1))
    r = dispatcher.post(f"/api/dispatch/orders/{order_id}/retry/")
    assert r.status_code == 409 and r.json()["code"] == "retry_window_over"
    assert Order.objects.get(pk=order_id).status == "returning"  # committed with the refusal


def test_the_counter_takes_the_bag_back_with_the_riders_code(picked_up, rider1, staff1, client_for, demo):
    order_id = picked_up["id"]
    early = staff1.post(f"/api/pickup/orders/{order_id}/return/", {"rider_code": "123456"}, format="json")
    assert early.status_code == 409 and early.json()["code"] == "wrong_state"
    rider1.post(f"/api/rider/orders/{order_id}/fail/", {"reason": "wrong_address"}, format="json")
    code = rider1.get(f"/api/rider/returns/{order_id}/handoff-code/").json()["code"]
    assert client_for("rider2").get(f"/api/rider/returns/{order_id}/handoff-code/").status_code == 404
    wrong = staff1.post(f"/api/pickup/orders/{order_id}/return/", {"rider_code": "000000"}, format="json")
    assert wrong.status_code == 409 and wrong.json()["code"] == "wrong_rider"
    elsewhere = client_for("store2").post(f"/api/pickup/orders/{order_id}/return/", {"rider_code": code}, format="json")
    assert elsewhere.status_code == 404
    r = staff1.post(f"/api/pickup/orders/{order_id}/return/", {"rider_code": code}, format="json")
    assert r.status_code == 200 and r.json() == {"id": order_id, "status": "returned"}
    order = Order.objects.get(pk=order_id)
    assert order.returned_at is not None
    assert AuditEvent.objects.get(order_id=order_id, action="order.returned").data["rider"] == demo["rider1"].rider.pk
    assert [e.data["code"] for e in AuditEvent.objects.filter(order_id=order_id, action="return.refused")] == [
        "wrong_state", "wrong_rider"]
    assert_access_ended(order_id, rider1, demo, "failed")  # nothing new to revoke: one purge, one row
    assert rider1.get("/api/rider/returns/").json() == []
    reused = staff1.post(f"/api/pickup/orders/{order_id}/return/", {"rider_code": code}, format="json")
    assert reused.status_code == 409 and reused.json()["code"] == "wrong_state"
    out_again = staff1.post("/api/pickup/handoff/", {"pickup_code": picked_up["pickup_code"], "rider_code": code},
                            format="json")
    assert out_again.status_code == 409 and out_again.json()["code"] == "returned"
    assert track(picked_up)["exit"]["headline"] == "Your order was returned to the store"
