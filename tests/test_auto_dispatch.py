"""A store's auto-dispatch, step by step under explicit clocks: offer to the best rider, a decline, the next rider,
a timeout, the next, a timeout, and the escalation to the board; every decision audited, every step idempotent."""

from __future__ import annotations

from datetime import timedelta

import pytest
from celery import current_app
from django.utils import timezone

from dispatch import tasks
from dispatch.models import Alert, AuditEvent, Offer, Order, Rider, Store
from dispatch.services.offers import offer_expire, offer_make
from tests.factories import order_payload

pytestmark = pytest.mark.django_db

NOODLE_BAR = (51.5155, -0.0922)  # demo store 2, the auto-dispatch store


@pytest.fixture
def sent(monkeypatch):
    """The Celery tasks the services send after commit: (name, args, countdown); not the customer's messages."""
    calls: list[tuple] = []
    monkeypatch.setattr(current_app, "send_task", lambda name, args, countdown=0: calls.append((name, args, countdown))
                        if name != "dispatch.tasks.message_send_task" else None)
    return calls


@pytest.fixture
def riders(demo):
    """rider1 ~100 m from the store, rider2 ~1 km, rider3 ~3 km: the ranking's order."""
    placed = []
    for name, north_m in (("rider1", 100), ("rider2", 1000), ("rider3", 3000)):
        rider = demo[name].rider
        rider.last_lat, rider.last_lng = NOODLE_BAR[0] + north_m / 111_000, NOODLE_BAR[1]
        rider.on_duty = True
        rider.save()
        placed.append(rider)
    return placed


def _post(client_for, django_capture_on_commit_callbacks) -> int:
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for("merchant2").post("/api/orders/", order_payload(), format="json")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def _open_offer(order_id: int) -> Offer:
    return Offer.objects.get(order_id=order_id, status="open")


def test_the_chain_offer_decline_next_timeout_next_timeout_escalate(riders, client_for, sent, settings,
                                                                   django_capture_on_commit_callbacks):
    settings.OFFER_TIMEOUT_S, settings.AUTO_DISPATCH_MAX_RIDERS = 45, 3
    r1, r2, r3 = riders
    t0 = timezone.now()
    order_id = _post(client_for, django_capture_on_commit_callbacks)
    assert sent == [("dispatch.tasks.auto_dispatch", [order_id], 0)]  # the first step goes out after commit

    # 1. The best rider is offered the job; a rerun of the same step changes nothing.
    with django_capture_on_commit_callbacks(execute=True):
        first = tasks.auto_dispatch_run(order_id, now=t0)
    assert (first.rider_id, first.auto, first.expires_at) == (r1.pk, True, t0 + timedelta(seconds=45))
    assert sent[-1] == ("dispatch.tasks.offer_timeout", [first.pk], 46)  # short: under the visibility timeout
    assert Order.objects.get(pk=order_id).status == "offered"
    assert tasks.auto_dispatch_run(order_id, now=t0) is None

    # 2. rider1 declines: the order waits again and the next step is sent.
    with django_capture_on_commit_callbacks(execute=True):
        r = client_for("rider1").post(f"/api/rider/offers/{first.pk}/decline/")
    assert r.status_code == 200
    assert Order.objects.get(pk=order_id).status == "created"
    assert sent[-1] == ("dispatch.tasks.auto_dispatch", [order_id], 0)

    # 3. Next: rider2. Its countdown task, run early, is a no-op.
    second = tasks.auto_dispatch_run(order_id, now=t0 + timedelta(seconds=10))
    assert second.rider_id == r2.pk
    assert tasks.offer_timeout(second.pk) is False  # not due by the real clock yet
    assert offer_expire(offer_id=second.pk, now=t0 + timedelta(seconds=54)) is None  # one second early

    # 4. rider2 lets it time out: expired, and the next step is sent.
    with django_capture_on_commit_callbacks(execute=True):
        assert offer_expire(offer_id=second.pk, now=t0 + timedelta(seconds=56)) is not None
    assert offer_expire(offer_id=second.pk, now=t0 + timedelta(seconds=57)) is None  # idempotent
    assert sent[-1] == ("dispatch.tasks.auto_dispatch", [order_id], 0)

    # 5. Next: rider3, who also times out.
    third = tasks.auto_dispatch_run(order_id, now=t0 + timedelta(seconds=56))
    assert third.rider_id == r3.pk
    offer_expire(offer_id=third.pk, now=t0 + timedelta(seconds=102))

    # 6. Three riders asked: escalated to the board, once.
    alert = tasks.auto_dispatch_run(order_id, now=t0 + timedelta(seconds=102))
    assert isinstance(alert, Alert)
    assert (alert.kind, alert.key, alert.order_id, alert.detail) == (
        "unassigned", f"unassigned:order:{order_id}", order_id, {"tried": 3, "reason": "nobody_accepted"})
    assert tasks.auto_dispatch_run(order_id, now=t0 + timedelta(seconds=110)) is None
    assert Alert.objects.filter(kind="unassigned").count() == 1 and Alert.objects.get().count == 1
    order = Order.objects.get(pk=order_id)
    assert (order.status, order.rider_id) == ("created", None)

    # Every decision, in order, in the audit log.
    trail = [(e.action, e.data.get("rider"), e.data.get("rank"))
             for e in AuditEvent.objects.filter(order_id=order_id).order_by("pk")
             if e.action.startswith(("offer.", "dispatch.auto."))]
    assert trail == [
        ("dispatch.auto.started", None, None),
        ("offer.made", r1.pk, 1), ("offer.declined", r1.pk, None),
        ("offer.made", r2.pk, 2), ("offer.expired", r2.pk, None),
        ("offer.made", r3.pk, 3), ("offer.expired", r3.pk, None),
        ("dispatch.auto.escalated", None, None),
    ]


def test_accept_ends_the_chain_and_busy_or_absent_riders_are_skipped(riders, client_for, sent, demo,
                                                                    django_capture_on_commit_callbacks):
    r1, r2, r3 = riders
    now = timezone.now()
    first_order = _post(client_for, django_capture_on_commit_callbacks)
    held = tasks.auto_dispatch_run(first_order, now=now)
    assert held.rider_id == r1.pk
    # A second order: rider1 holds an open offer already, so the next best is asked.
    other = _post(client_for, django_capture_on_commit_callbacks)
    offer = tasks.auto_dispatch_run(other, now=now)
    assert offer.rider_id == r2.pk
    r = client_for("rider2").post(f"/api/rider/offers/{offer.pk}/accept/")
    assert r.status_code == 200
    assert tasks.auto_dispatch_run(other, now=now) is None  # taken: nothing more to do
    assert Order.objects.get(pk=other).rider_id == r2.pk

    # Nobody left to ask (everyone else off duty): straight to the board.
    Rider.objects.exclude(pk=r1.pk).update(on_duty=False)
    client_for("rider1").post(f"/api/rider/offers/{held.pk}/decline/")
    alert = tasks.auto_dispatch_run(first_order, now=now)
    assert alert.detail == {"tried": 1, "reason": "no_rider"}


def test_auto_dispatch_is_off_by_default_and_a_store_may_turn_it_on(posted_order, sent):
    assert not Store._meta.get_field("auto_dispatch").default
    assert Store.objects.filter(auto_dispatch=True).count() == 1  # the one demo store
    assert tasks.auto_dispatch_run(posted_order["id"]) is None
    assert not AuditEvent.objects.filter(action__startswith="dispatch.auto.").exists()


def test_a_bag_marked_ready_during_an_offer_stays_ready(posted_order, demo, client_for):
    order = Order.objects.get(pk=posted_order["id"])
    offer = offer_make(order=order, rider_id=demo["rider1"].rider.pk)
    assert client_for("store1").post(f"/api/pickup/orders/{order.pk}/ready/").status_code == 200
    assert Order.objects.get(pk=order.pk).status == "ready"
    assert client_for("rider1").post(f"/api/rider/offers/{offer.pk}/accept/").status_code == 200
    order.refresh_from_db()
    assert (order.status, order.rider_id) == ("ready", demo["rider1"].rider.pk)


def _escalated(client_for, django_capture_on_commit_callbacks) -> tuple[int, Alert]:
    from dispatch.services.alerts import alert_raise, unassigned_key

    order_id = _post(client_for, django_capture_on_commit_callbacks)
    alert = alert_raise(kind="unassigned", key=unassigned_key(order_id), order=Order.objects.get(pk=order_id),
                        detail={"tried": 3, "reason": "nobody_accepted"})
    return order_id, alert


@pytest.mark.parametrize("how", ["assigned", "cancelled"])
def test_the_unassigned_alert_closes_itself_when_the_order_gets_a_rider_or_is_cancelled(
        how, riders, client_for, sent, demo, django_capture_on_commit_callbacks):
    order_id, alert = _escalated(client_for, django_capture_on_commit_callbacks)
    desk = client_for("dispatcher1")
    assert [a["id"] for a in desk.get("/api/dispatch/alerts/?open=1").json()] == [alert.pk]
    if how == "assigned":
        r = desk.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": riders[0].pk}, format="json")
    else:
        r = client_for("merchant2").post(f"/api/orders/{order_id}/cancel/", {"reason": "out_of_stock"}, format="json")
    assert r.status_code == 200, r.content
    alert.refresh_from_db()
    assert alert.acked_at is not None and alert.ack_note == "" and alert.detail["resolved"] == how
    assert desk.get("/api/dispatch/alerts/?open=1").json() == []
    resolved = AuditEvent.objects.get(action="alert.resolved")
    assert (resolved.order_id, resolved.data["alert"], resolved.data["reason"]) == (order_id, alert.pk, how)


def test_a_rider_accepting_an_offer_after_the_escalation_closes_the_alert(riders, client_for, sent, demo,
                                                                         django_capture_on_commit_callbacks):
    order_id, alert = _escalated(client_for, django_capture_on_commit_callbacks)
    offer = offer_make(order=Order.objects.get(pk=order_id), rider_id=riders[1].pk, by=demo["dispatcher1"])
    assert client_for("rider2").post(f"/api/rider/offers/{offer.pk}/accept/").status_code == 200
    alert.refresh_from_db()
    assert alert.acked_at is not None and alert.detail["resolved"] == "assigned"
    assert alert.acked_by == demo["rider2"]  # closed by the rider who took it, no dispatcher's note


def test_an_order_with_no_unassigned_alert_is_assigned_without_touching_other_alerts(riders, client_for, sent, demo,
                                                                                     django_capture_on_commit_callbacks):
    from dispatch.services.alerts import alert_raise

    order_id = _post(client_for, django_capture_on_commit_callbacks)
    late = alert_raise(kind="late", key=f"late:order:{order_id}", order=Order.objects.get(pk=order_id))
    r = client_for("dispatcher1").post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": riders[0].pk},
                                       format="json")
    assert r.status_code == 200
    late.refresh_from_db()
    assert late.acked_at is None and not AuditEvent.objects.filter(action="alert.resolved").exists()
