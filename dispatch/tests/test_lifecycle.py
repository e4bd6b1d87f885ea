"""Revocation, retention and location-history sweeps; spoofing alerts; list query counts."""

import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from dispatch import tasks
from dispatch.live.ping import location_ping
from dispatch.models import AuditEvent, Event, Grant, LocationFix, Order, OrderStatus, SealedRecord
from dispatch.services.lifecycle import access_revoke_due, retention_sweep


def customer_pin(created: dict) -> str:
    """The PIN as the customer's page shows it: derived from the link, stored nowhere."""
    token = created["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    return Client().get(f"/api/track/{token}/").json()["delivery_pin"]


@pytest.mark.django_db
def test_revocation_is_idempotent_and_tells_the_device(assigned_order, demo):
    Grant.objects.filter(order_id=assigned_order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert access_revoke_due() == 1
    assert access_revoke_due() == 0  # a countdown and a sweep may both run: the second does nothing
    assert tasks.revoke_order_access.run(assigned_order["id"]) == 0
    rider = demo["rider1"].rider
    assert Event.objects.filter(group=f"rider.{rider.pk}", type="order.revoked").count() == 1
    assert AuditEvent.objects.filter(order_id=assigned_order["id"], action="access.revoked").count() == 1


@pytest.mark.django_db
def test_task_serialises_with_ids_only(assigned_order):
    sig = tasks.revoke_order_access.s(assigned_order["id"])
    assert sig.args == (assigned_order["id"],)
    import json

    json.dumps(sig)  # JSON-only broker: the signature must serialise


@pytest.mark.django_db
def test_delivery_schedules_revocation_after_commit(django_capture_on_commit_callbacks, assigned_order, client_for,
                                                    demo, monkeypatch, settings):
    sent = []
    monkeypatch.setattr("dispatch.services.delivery.current_app.send_task",
                        lambda name, args, countdown: sent.append((name, args, countdown)))
    settings.ACCESS_REVOKE_AFTER_S = 30
    Order.objects.filter(pk=assigned_order["id"]).update(status=OrderStatus.PICKED_UP)
    pin = customer_pin(assigned_order)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        r = client_for("rider1").post(f"/api/rider/orders/{assigned_order['id']}/deliver/", {"pin": pin}, format="json")
        assert r.status_code == 200
    assert sent == []  # nothing is enqueued before the commit
    for callback in callbacks:
        callback()
    assert sent == [("dispatch.tasks.revoke_order_access", [assigned_order["id"]], 31)]


@pytest.mark.django_db
def test_long_revocation_windows_use_the_sweep_not_a_countdown(assigned_order, client_for, monkeypatch, settings,
                                                               django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr("dispatch.services.delivery.current_app.send_task", lambda *a, **k: sent.append(a))
    settings.ACCESS_REVOKE_AFTER_S = 7200  # longer than Redis's visibility timeout would allow
    Order.objects.filter(pk=assigned_order["id"]).update(status=OrderStatus.PICKED_UP)
    pin = customer_pin(assigned_order)
    before = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        client_for("rider1").post(f"/api/rider/orders/{assigned_order['id']}/deliver/", {"pin": pin}, format="json")
    after = timezone.now()
    assert [a for a in sent if a[0] != "dispatch.tasks.message_send_task"] == []  # the customer's message goes
    grant = Grant.objects.get(order_id=assigned_order["id"])
    window = timedelta(seconds=7200)  # from the delivery, which happened between `before` and `after`
    assert before + window <= grant.expires_at <= after + window


@pytest.mark.django_db
def test_retention_shreds_and_history_expires(posted_order, demo, settings):
    Order.objects.filter(pk=posted_order["id"]).update(retention_due_at=timezone.now())
    rider = demo["rider1"].rider
    old = timezone.now() - timedelta(days=settings.LOCATION_HISTORY_DAYS, seconds=1)
    LocationFix.objects.create(rider=rider, lat=1, lng=1, accuracy=5, at=old, received_at=old, seq=1, accepted=True)
    LocationFix.objects.create(rider=rider, lat=1, lng=1, accuracy=5, at=old, received_at=timezone.now(), seq=2,
                               accepted=True)
    result = retention_sweep()
    assert result["shredded"] == 1 and result["fixes_deleted"] == 1
    assert SealedRecord.objects.get(order_id=posted_order["id"]).ciphertext is None
    assert LocationFix.objects.count() == 1
    assert retention_sweep()["shredded"] == 0


@pytest.mark.django_db
def test_spoofing_is_flagged_to_dispatch_and_not_used(assigned_order, demo):
    Order.objects.filter(pk=assigned_order["id"]).update(status=OrderStatus.PICKED_UP)
    rider = demo["rider1"].rider
    t = time.time()
    location_ping(rider=rider, lat=51.60, lng=-0.1196, accuracy=5, timestamp=t - 10, seq=1)  # ~10 km away
    result = location_ping(rider=rider, lat=51.5034, lng=-0.1196, accuracy=5, timestamp=t - 5, seq=2)
    assert not result.accepted and result.reason == "speed"
    alert = Event.objects.get(group="dispatch", type="alert")
    shown = alert.payload["alert"]
    assert (shown["kind"], shown["rider"], shown["order"], shown["detail"]) == (
        "spoof", rider.pk, assigned_order["id"], {"flags": ["teleport"]})
    assert AuditEvent.objects.filter(action="location.spoof_flagged").count() == 1
    assert LocationFix.objects.filter(accepted=False, reason="speed").count() == 1


@pytest.mark.django_db
def test_off_duty_riders_are_not_tracked(rider1, demo):
    assert rider1.post("/api/rider/duty/", {"on_duty": False}, format="json").json() == {"on_duty": False}
    r = rider1.post("/api/rider/location/", {"lat": 51.5, "lng": -0.1, "accuracy": 5, "timestamp": time.time(),
                                             "seq": 1}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "off_duty"
    assert LocationFix.objects.count() == 0


@pytest.mark.django_db
def test_lists_do_not_go_n_plus_one(merchant, dispatcher, demo, client_for, django_assert_num_queries):
    from tests.factories import order_payload

    rider = demo["rider1"].rider
    for _ in range(3):
        oid = merchant.post("/api/orders/", order_payload(), format="json").json()["id"]
        dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": rider.pk}, format="json")
    counts = {}
    for path, user in (("/api/dispatch/orders/", "dispatcher1"), ("/api/pickup/orders/", "store1"),
                       ("/api/rider/orders/", "rider1")):
        client = client_for(user)
        client.get(path)  # warm the per-user role caches
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert len(client.get(path).json()) == 3
        counts[path] = len(ctx.captured_queries)
    for _ in range(3):
        oid = merchant.post("/api/orders/", order_payload(), format="json").json()["id"]
        dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": rider.pk}, format="json")
    for path, user in (("/api/dispatch/orders/", "dispatcher1"), ("/api/pickup/orders/", "store1"),
                       ("/api/rider/orders/", "rider1")):
        client = client_for(user)
        client.get(path)
        with django_assert_num_queries(counts[path]):
            assert len(client.get(path).json()) == 6


@pytest.mark.django_db
def test_wrong_pins_are_audited_and_lock_after_five(assigned_order, client_for):
    Order.objects.filter(pk=assigned_order["id"]).update(status=OrderStatus.PICKED_UP)
    rider = client_for("rider1")
    codes = [rider.post(f"/api/rider/orders/{assigned_order['id']}/deliver/", {"pin": "00000"}, format="json").json()["code"]
             for _ in range(6)]
    assert codes == ["wrong_pin"] * 5 + ["pin_locked"]
    assert AuditEvent.objects.filter(action="delivery.wrong_pin").count() == 5


@pytest.mark.django_db
def test_break_glass_needs_a_reason_and_has_a_quota(assigned_order, dispatcher, settings):
    settings.BREAK_GLASS_QUOTA_PER_DAY = 2
    url = f"/api/dispatch/orders/{assigned_order['id']}/break-glass/"
    assert dispatcher.post(url, {"reason": "short"}, format="json").status_code == 400
    ok = dispatcher.post(url, {"reason": "Rider fell off the bike at the door"}, format="json")
    assert ok.status_code == 200 and ok.json()["name"] == "Zhang Sanfeng" and ok["Cache-Control"] == "no-store"
    assert dispatcher.post(url, {"reason": "Customer not answering, medicine urgent"}, format="json").status_code == 200
    third = dispatcher.post(url, {"reason": "One more time, please, it matters"}, format="json")
    assert third.status_code == 429 and third.json()["code"] == "quota_exceeded"
    assert AuditEvent.objects.filter(action="contact.read").count() == 2


@pytest.mark.django_db
def test_retention_reduces_old_interactions_to_counts(assigned_order, settings):
    """The interaction log follows retention: rows older than RETENTION_DAYS become counts, newer ones stay."""
    from datetime import timedelta

    from django.utils import timezone

    from dispatch.models import Interaction
    from dispatch.services.lifecycle import retention_sweep

    def row(days_ago: int, outcome: str) -> None:
        i = Interaction.objects.create(order_id=assigned_order["id"], kind="call", caller_role="rider", caller_hash="a",
                                       callee_role="customer", state="ended", outcome=outcome)
        Interaction.objects.filter(pk=i.pk).update(started_at=timezone.now() - timedelta(days=days_ago))

    row(settings.RETENTION_DAYS + 1, "completed")
    row(settings.RETENTION_DAYS + 2, "missed")
    row(1, "completed")
    assert retention_sweep()["interactions_aggregated"] == 2
    assert list(Interaction.objects.values_list("outcome", flat=True)) == ["completed"]


@pytest.mark.django_db
def test_the_customers_page_lists_access_ended_at_read_time_before_the_worker_records_it(
        assigned_order, client_for, settings, django_capture_on_commit_callbacks):
    """Access ends at the grant's end whether or not the worker has run: the customer's page says so on time,
    and says when to look again (a worker down or late must not leave the page claiming the rider still has it)."""
    settings.ACCESS_REVOKE_AFTER_S = 30
    Order.objects.filter(pk=assigned_order["id"]).update(status=OrderStatus.PICKED_UP)
    token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    pin = customer_pin(assigned_order)
    with django_capture_on_commit_callbacks(execute=False):  # the worker never hears of it
        r = client_for("rider1").post(f"/api/rider/orders/{assigned_order['id']}/deliver/", {"pin": pin}, format="json")
        assert r.status_code == 200
    ends = Grant.objects.get(order_id=assigned_order["id"]).expires_at

    page = Client().get(f"/api/track/{token}/").json()
    assert page["access_revoked_at"] == []
    assert page["access_ends_at"] == ends.isoformat()

    Grant.objects.filter(order_id=assigned_order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    ended = Grant.objects.get(order_id=assigned_order["id"]).expires_at
    page = Client().get(f"/api/track/{token}/").json()
    assert page["access_revoked_at"] == [ended.isoformat()]  # not yet swept: listed at the grant's end
    assert page["access_ends_at"] is None
    assert not AuditEvent.objects.filter(order_id=assigned_order["id"], action="access.revoked").exists()

    assert access_revoke_due() == 1  # the worker comes round: its record replaces the read-time entry
    recorded = AuditEvent.objects.get(order_id=assigned_order["id"], action="access.revoked").at
    page = Client().get(f"/api/track/{token}/").json()
    assert page["access_revoked_at"] == [recorded.isoformat()]
    assert page["access_ends_at"] is None


@pytest.mark.django_db
def test_the_customers_page_names_no_access_end_before_delivery(assigned_order):
    token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    page = Client().get(f"/api/track/{token}/").json()
    assert page["access_ends_at"] is None and page["access_revoked_at"] == []
