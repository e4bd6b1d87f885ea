"""The detectors that raise dispatch's alerts, each under a given `now=` (no waiting): a stale device with the
app's reason, a late order against its promise, unusual rates of reveals, break-glass and counter lookups, and
spoofing and failed pickups raised as rows. Each alert is audited once when raised, and an acknowledged episode
is not raised again by the next sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import Alert, AuditEvent, Event, Order, Rider
from dispatch.services.alerts import alert_ack
from dispatch.services.audit import audit_record
from dispatch.services.delivery import location_spoof_alert
from dispatch.services.detectors import (
    alerts_sweep,
    late_orders_detect,
    order_promise,
    rider_geo_state_set,
    stale_devices_detect,
    unusual_rates_detect,
)
from tests.factories import order_payload

pytestmark = pytest.mark.django_db


def _alerts(kind):
    return list(Alert.objects.filter(kind=kind).order_by("pk"))


def _frames():
    return [e.payload["alert"] for e in Event.objects.filter(group="dispatch", type="alert").order_by("pk")]


@pytest.fixture
def held(assigned_order, demo):
    """rider1 holds the order, assigned now, and has sent no fix since."""
    rider = demo["rider1"].rider
    Rider.objects.filter(pk=rider.pk).update(last_seen_at=None, last_lat=51.51, last_lng=-0.12)
    return Order.objects.get(pk=assigned_order["id"]), rider


def test_a_silent_device_on_an_active_order_raises_one_alert_with_the_apps_reason(held, settings):
    settings.ALERT_STALE_AFTER_S = 120
    order, rider = held
    now = timezone.now()
    assert stale_devices_detect(now=now + timedelta(seconds=60)) == 0  # just assigned: its first fix may come
    assert rider_geo_state_set(rider=rider, state="denied") is True
    assert rider_geo_state_set(rider=rider, state="<script>") is False  # not a state: ignored
    assert stale_devices_detect(now=now + timedelta(seconds=121)) == 1
    [alert] = _alerts("stale_device")
    assert (alert.rider_id, alert.order_id, alert.fleet) == (rider.pk, order.pk, "platform")
    assert alert.detail["reason"] == "denied" and alert.detail["orders"] == [order.pk]
    # The next sweep finds the same condition: no second row, no second frame, no second audit.
    stale_devices_detect(now=now + timedelta(seconds=150))
    assert len(_alerts("stale_device")) == 1 and len(_frames()) == 1
    assert AuditEvent.objects.filter(action="alert.raised").count() == 1
    # The reason changes (the socket closed): the same alert, its detail updated and told again.
    rider_geo_state_set(rider=rider, state="offline")
    stale_devices_detect(now=now + timedelta(seconds=180))
    alert.refresh_from_db()
    assert alert.detail["reason"] == "offline" and alert.count == 2 and len(_frames()) == 2


def test_a_device_that_sends_fixes_is_not_stale_and_an_acknowledged_silence_stays_quiet(held, settings):
    settings.ALERT_STALE_AFTER_S = 120
    order, rider = held
    now = timezone.now()
    Order.objects.filter(pk=order.pk).update(assigned_at=now - timedelta(seconds=600))
    Rider.objects.filter(pk=rider.pk).update(last_seen_at=now - timedelta(seconds=100))
    assert stale_devices_detect(now=now) == 0
    assert stale_devices_detect(now=now + timedelta(seconds=21)) == 1
    alert = _alerts("stale_device")[0]
    assert alert.detail["reason"] == ""  # the app said nothing: no reason is made up
    alert_ack(alert=alert, by=None, note="Called the rider, phone battery died")
    stale_devices_detect(now=now + timedelta(seconds=400))
    assert len(_alerts("stale_device")) == 1  # the same silence, already seen
    # A fix after the acknowledgement, then a new silence: a new alert.
    later = timezone.now()
    Rider.objects.filter(pk=rider.pk).update(last_seen_at=later)
    assert stale_devices_detect(now=later + timedelta(seconds=100)) == 0
    assert stale_devices_detect(now=later + timedelta(seconds=121)) == 1
    assert len(_alerts("stale_device")) == 2


def test_an_order_still_open_after_its_promise_is_late_once(merchant, demo, settings):
    settings.ORDER_PROMISE_S = 1800
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    order = Order.objects.get(pk=created["id"])
    assert abs(order.promised_at - order.created_at - timedelta(seconds=1800)) < timedelta(seconds=1)
    assert late_orders_detect(now=order.promised_at - timedelta(seconds=1)) == 0
    assert late_orders_detect(now=order.promised_at + timedelta(seconds=1)) == 1
    late_orders_detect(now=order.promised_at + timedelta(seconds=60))
    [alert] = _alerts("late")
    assert alert.order_id == order.pk and alert.store_id == order.store_id and alert.count == 1
    assert alert.detail == {"promised_at": order.promised_at.isoformat(), "status": "created"}
    Order.objects.filter(pk=order.pk).update(status="delivered")
    alert_ack(alert=alert, by=None, note="Delivered late, customer informed")
    assert late_orders_detect(now=order.promised_at + timedelta(hours=1)) == 0


def test_the_promise_is_the_merchants_else_the_stores_else_the_sites(merchant, demo, settings):
    settings.ORDER_PROMISE_S = 2700
    at = (timezone.now() + timedelta(minutes=20)).replace(microsecond=0)
    created = merchant.post("/api/orders/", order_payload(promised_at=at.isoformat()), format="json").json()
    assert Order.objects.get(pk=created["id"]).promised_at == at
    assert merchant.post("/api/orders/", order_payload(promised_at="2001-01-01T00:00:00Z"),
                         format="json").status_code == 400
    order = Order.objects.get(pk=created["id"])
    order.store.promise_s = 600
    assert order_promise(store=order.store, created_at=order.created_at) == order.created_at + timedelta(minutes=10)


def test_unusual_rates_of_reveals_break_glass_and_lookups_raise_per_rider_and_store(held, demo, settings):
    order, rider = held
    settings.ALERT_RATE_WINDOW_S = 600
    settings.ALERT_RATE_REVEALS_PER_RIDER = 3
    settings.ALERT_RATE_BREAK_GLASS_PER_STORE = 1
    settings.ALERT_RATE_LOOKUPS_PER_STORE = 2
    for _ in range(4):
        audit_record(actor=rider.user, action="address.read", order=order)
    for _ in range(2):
        audit_record(actor=demo["dispatcher1"], action="breakglass.used", order=order)
    for _ in range(3):  # refused lookups carry the store in their data, not an order
        audit_record(actor=demo["store1"], action="pickup.lookup", data={"store": order.store_id, "result": "x"})
    now = timezone.now()
    assert unusual_rates_detect(now=now) == 3
    by_what = {a.detail["what"]: a for a in _alerts("rate")}
    assert by_what["reveals"].rider_id == rider.pk and by_what["reveals"].detail["count"] == 4
    assert by_what["break_glass"].store_id == order.store_id and by_what["break_glass"].detail["count"] == 2
    assert by_what["lookups"].store_id == order.store_id and by_what["lookups"].detail["limit"] == 2
    # Outside the window nothing counts.
    Alert.objects.all().delete()
    assert unusual_rates_detect(now=now + timedelta(seconds=601)) == 0


def test_spoofing_is_an_alert_row_told_to_dispatch(held):
    order, rider = held
    location_spoof_alert(order_id=order.pk, rider=rider, flags=["teleport"])
    [alert] = _alerts("spoof")
    assert (alert.order_id, alert.rider_id, alert.detail) == (order.pk, rider.pk, {"flags": ["teleport"]})
    assert _frames()[-1]["kind"] == "spoof"


def test_the_sweep_runs_every_detector(held, settings):
    settings.ALERT_STALE_AFTER_S = 10
    assert alerts_sweep(now=timezone.now() + timedelta(seconds=11)) == {"stale_device": 1, "late": 0, "late_pickup": 0,
                                                                        "rate": 0}


def test_a_sweep_over_many_open_late_orders_that_did_not_change_costs_a_few_queries(
        merchant, demo, settings, django_assert_max_num_queries):
    settings.ORDER_PROMISE_S = 60
    for _ in range(6):
        merchant.post("/api/orders/", order_payload(), format="json")
    later = timezone.now() + timedelta(minutes=5)
    assert late_orders_detect(now=later) == 6
    assert len(_alerts("late")) == 6
    with django_assert_max_num_queries(3):  # the orders, what the alerts table knows: no lock, no write
        assert late_orders_detect(now=later + timedelta(seconds=30)) == 6
