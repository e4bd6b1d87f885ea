"""Signed webhooks: registration, the address policy, emission on every status change, signed sends checked by
the documented snippet on a real receiver, retries by due time under an injected clock, rotation, redelivery,
no PII, and other merchants' 404s."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from dispatch import geofence
from dispatch.models import Merchant, Order, WebhookDelivery, WebhookEndpoint
from dispatch.services import hook_http
from dispatch.services.delivery import location_tier_reached, radii_for
from dispatch.services.webhooks import (
    backoff_s,
    webhook_delivery_attempt,
    webhook_endpoint_rotate,
    webhook_sweep,
)
from tests.exits_helpers import pick_up
from tests.factories import DOOR, PII_STRINGS, delivery_pin_of, order_payload
from tests.webhook_receiver import documented_verifier, start_receiver

ALL = ["order.created", "order.assigned", "order.ready", "order.picked_up", "order.courier_imminent",
       "order.delivered", "order.failed", "order.returned", "order.cancelled"]


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True  # the receiver listens on 127.0.0.1
    r, server = start_receiver()
    yield r
    server.shutdown()
    server.server_close()


@pytest.fixture
def hook(merchant, receiver):
    r = merchant.post("/api/webhooks/", {"url": receiver.url, "events": ALL}, format="json")
    assert r.status_code == 201, r.content
    receiver.secrets = [r.json()["secret"]]
    return r.json()


def _public(monkeypatch, address="93.184.216.34"):
    monkeypatch.setattr(hook_http, "_resolve", lambda host, port: [address])


def _send_all(now=None):
    for d in WebhookDelivery.objects.filter(state="pending").order_by("pk"):
        webhook_delivery_attempt(delivery_id=d.pk, now=now)


# --- Registration and the secret --------------------------------------------------------------------------------
@pytest.mark.django_db
def test_the_secret_is_shown_at_creation_only_and_stored_sealed(merchant, monkeypatch):
    _public(monkeypatch)
    r = merchant.post("/api/webhooks/", {"url": "https://hooks.example.com/in", "events": ["order.delivered"]},
                      format="json")
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert {"id", "url", "events", "state"} <= body.keys() and body["state"] == "active"
    detail = merchant.get(f"/api/webhooks/{body['id']}/").json()
    listing = merchant.get("/api/webhooks/").json()
    assert "secret" not in detail and all("secret" not in e for e in listing)
    assert body["secret"] not in json.dumps([detail, listing])
    row = WebhookEndpoint.objects.get(pk=body["id"])
    assert body["secret"].encode() not in bytes(row.secret_sealed)


@pytest.mark.django_db
def test_unknown_event_types_and_other_roles_are_refused(merchant, rider1, monkeypatch):
    _public(monkeypatch)
    r = merchant.post("/api/webhooks/", {"url": "https://hooks.example.com/", "events": ["order.teleported"]},
                      format="json")
    assert r.status_code == 400
    r = merchant.post("/api/webhooks/", {"url": "https://hooks.example.com/", "events": []}, format="json")
    assert r.status_code == 400
    assert rider1.post("/api/webhooks/", {"url": "https://hooks.example.com/", "events": ALL},
                       format="json").status_code == 403
    assert rider1.get("/api/webhooks/").status_code == 403


# --- The address policy (SSRF) -----------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "http://127.0.0.1/hooks", "http://127.1.2.3:8000/", "http://10.0.0.5/", "http://172.16.3.4/", "http://192.168.1.1/",
    "http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/",
    "http://[fc00::1]/", "http://0.0.0.0/", "http://224.0.0.1/", "http://100.64.0.1/", "http://240.0.0.1/",
    "ftp://example.com/hooks", "file:///etc/passwd", "gopher://example.com/", "https://user:pw@example.com/",
    "not a url",
])
def test_unsafe_urls_are_refused(merchant, url, monkeypatch):
    _public(monkeypatch)
    r = merchant.post("/api/webhooks/", {"url": url, "events": ALL}, format="json")
    assert r.status_code == 400, (url, r.content)
    assert r.json()["code"] == "unsafe_url" and r.json()["detail"]
    assert not WebhookEndpoint.objects.exists()


@pytest.mark.django_db
def test_a_host_name_resolving_to_loopback_is_refused(merchant, monkeypatch):
    monkeypatch.setattr(hook_http, "_resolve", lambda host, port: ["93.184.216.34", "127.0.0.1"])
    r = merchant.post("/api/webhooks/", {"url": "https://looks-public.example/", "events": ALL}, format="json")
    assert r.status_code == 400 and r.json()["code"] == "unsafe_url"
    _public(monkeypatch)
    r = merchant.post("/api/webhooks/", {"url": "https://looks-public.example/", "events": ALL}, format="json")
    assert r.status_code == 201


@pytest.mark.django_db
def test_dns_rebinding_after_registration_reaches_nothing(merchant, monkeypatch, posted_order, settings):
    """Registered while the name was public; at send time it resolves to the receiver on 127.0.0.1: refused."""
    r, server = start_receiver()
    try:
        _public(monkeypatch)
        created = merchant.post("/api/webhooks/", {"url": f"http://rebind.example:{r.port}/", "events": ALL},
                                format="json")
        assert created.status_code == 201
        merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
        _public(monkeypatch, "127.0.0.1")
        _send_all()
        d = WebhookDelivery.objects.get(type="order.cancelled")
        assert d.state == "pending" and d.last_error == "unsafe_url" and d.attempts == 1
        assert r.received == []
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.django_db
def test_the_connection_goes_to_the_vetted_address_under_the_urls_name(merchant, monkeypatch, receiver, posted_order):
    """The name resolves (once, when vetted) to 127.0.0.1; the request reaches it with the name as its Host."""
    calls = []

    def resolve(host, port):
        calls.append(host)
        return ["127.0.0.1"]

    monkeypatch.setattr(hook_http, "_resolve", resolve)
    created = merchant.post("/api/webhooks/", {"url": f"http://hooks.internal.test:{receiver.port}/in",
                                               "events": ["order.cancelled"]}, format="json").json()
    receiver.secrets = [created["secret"]]
    merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
    _send_all()
    assert [x.headers["host"] for x in receiver.received] == [f"hooks.internal.test:{receiver.port}"]
    assert calls == ["hooks.internal.test", "hooks.internal.test"]  # registration, then the send
    assert receiver.received[0].verified == {created["secret"]: True}


# --- Emission, signatures, payloads -----------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_whole_delivery_is_heard_signed_once_per_change_without_pii(merchant, dispatcher, rider1, staff1, demo,
                                                                      receiver, hook):
    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    rider = demo["rider1"].rider
    dispatcher.post(f"/api/dispatch/orders/{created['id']}/assign/", {"rider": rider.pk}, format="json")
    pick_up(created, rider1, staff1)
    order = Order.objects.get(pk=created["id"])
    radii = radii_for(order)
    assert location_tier_reached(order_id=order.pk, rider=rider, tier=geofence.DOOR, accuracy=10, distance=20,
                                 radii=radii)
    # a second door tier for the same order (a retry, a repeated fix): no second courier_imminent
    from dispatch.services.webhooks import courier_imminent_emit
    assert courier_imminent_emit(order=Order.objects.get(pk=order.pk)) == []
    r = rider1.post(f"/api/rider/orders/{created['id']}/deliver/", {"pin": delivery_pin_of(created)}, format="json")
    assert r.status_code == 200, r.content
    types = list(WebhookDelivery.objects.order_by("pk").values_list("type", flat=True))
    assert types == ["order.created", "order.assigned", "order.ready", "order.picked_up", "order.courier_imminent",
                     "order.delivered"]
    now = timezone.now()
    receiver.now = now.timestamp()
    _send_all(now=now)
    assert len(receiver.received) == 6
    assert all(x.verified == {hook["secret"]: True} for x in receiver.received)
    bodies = [json.loads(x.body) for x in receiver.received]
    assert [b["type"] for b in bodies] == types
    assert len({b["id"] for b in bodies}) == 6
    assert [x.headers["x-delivery-id"] for x in receiver.received] == [b["id"] for b in bodies]
    for b in bodies:
        assert set(b) == {"id", "type", "created_at", "data"}
        assert b["data"]["order"] == created["id"] and b["data"]["external_ref"] == "POS-1001"
    assert bodies[-1]["data"]["status"] == "delivered"
    raw = b"".join(x.body for x in receiver.received).decode()
    for canary in [*PII_STRINGS, str(DOOR[0]), str(DOOR[1]), "lat", "lng", "distance", created["pickup_code"] + "x"]:
        assert canary not in raw
    assert WebhookDelivery.objects.filter(state="delivered").count() == 6
    assert merchant.get(f"/api/webhooks/{hook['id']}/").json()["consecutive_failures"] == 0


@pytest.mark.django_db
def test_deliveries_are_written_with_the_change_and_enqueued_only_after_commit(merchant, hook, posted_order,
                                                                            django_capture_on_commit_callbacks,
                                                                            monkeypatch):
    sent = []
    monkeypatch.setattr("dispatch.services.webhooks.current_app.send_task",
                        lambda name, args=(), **kw: sent.append((name, args, kw)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
    d = WebhookDelivery.objects.get(type="order.cancelled")
    assert d.payload["data"]["reason"] == "customer_request" and d.payload["data"]["status"] == "cancelled"
    assert sent == []
    for callback in callbacks:
        callback()
    assert ("dispatch.tasks.webhook_deliver", [d.pk], {}) in sent  # no countdown


@pytest.mark.django_db
def test_only_subscribed_types_and_only_the_orders_merchant(merchant, receiver, monkeypatch, posted_order, demo):
    r = merchant.post("/api/webhooks/", {"url": receiver.url, "events": ["order.delivered"]}, format="json")
    assert r.status_code == 201
    merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
    assert not WebhookDelivery.objects.exists()


# --- Retries -----------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_retries_back_off_until_24_hours_then_the_delivery_fails_and_the_endpoint_is_failing(
        merchant, receiver, hook, posted_order, settings):
    settings.WEBHOOK_FAILING_AFTER = 1
    merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
    receiver.statuses = [500] * 1000
    t0 = timezone.now()
    now, waits = t0, []
    d = WebhookDelivery.objects.get(type="order.created")
    WebhookDelivery.objects.exclude(pk=d.pk).delete()
    while True:
        receiver.now = now.timestamp()
        assert webhook_sweep(now=now, inline=True) == 1
        d.refresh_from_db()
        if d.state != "pending":
            break
        assert webhook_sweep(now=now + timedelta(seconds=1), inline=True) == 0  # not due yet: nothing sent
        waits.append(int((d.next_attempt_at - now).total_seconds()))
        now = d.next_attempt_at
    assert waits[:8] == [30, 60, 120, 240, 480, 960, 1920, 3600]
    assert set(waits[7:]) == {3600}
    assert d.state == "failed" and d.last_status_code == 500 and d.last_error == "http_500"
    assert now - t0 <= timedelta(hours=24) < now + timedelta(seconds=3600) - t0
    assert d.attempts == len(receiver.received) == len(waits) + 1
    assert len({json.loads(x.body)["id"] for x in receiver.received}) == 1  # the same event every time
    assert all(x.verified[hook["secret"]] for x in receiver.received)
    endpoint = merchant.get(f"/api/webhooks/{hook['id']}/").json()
    assert endpoint["state"] == "failing" and endpoint["consecutive_failures"] == 1
    assert webhook_sweep(now=now + timedelta(days=2), inline=True) == 0


@pytest.mark.django_db
def test_backoff_schedule_is_capped():
    assert [backoff_s(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


@pytest.mark.django_db
def test_a_delivered_event_brings_a_failing_endpoint_back(merchant, receiver, hook, posted_order, settings):
    WebhookEndpoint.objects.filter(pk=hook["id"]).update(state="failing", consecutive_failures=7)
    _send_all()
    endpoint = merchant.get(f"/api/webhooks/{hook['id']}/").json()
    assert endpoint["state"] == "active" and endpoint["consecutive_failures"] == 0


# --- Redelivery --------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_redeliver_sends_the_same_event_again(merchant, receiver, hook, posted_order, django_capture_on_commit_callbacks,
                                              monkeypatch):
    monkeypatch.setattr("dispatch.services.webhooks.current_app.send_task", lambda *a, **kw: None)
    _send_all()
    d = WebhookDelivery.objects.get(type="order.created")
    assert d.state == "delivered" and len(receiver.received) == 1
    log = merchant.get(f"/api/webhooks/{hook['id']}/deliveries/").json()
    assert [x["id"] for x in log] == [d.pk] and log[0]["state"] == "delivered" and log[0]["last_status_code"] == 200
    r = merchant.post(f"/api/webhooks/deliveries/{d.pk}/redeliver/")
    assert r.status_code == 202 and r.json()["state"] == "pending"
    _send_all()
    assert [json.loads(x.body)["id"] for x in receiver.received] == [d.event_id, d.event_id]
    d.refresh_from_db()
    assert d.state == "delivered" and d.attempts == 2


@pytest.mark.django_db
def test_the_log_is_newest_first(merchant, hook, posted_order):
    merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
    log = merchant.get(f"/api/webhooks/{hook['id']}/deliveries/").json()
    assert [x["type"] for x in log] == ["order.cancelled", "order.created"]


# --- Rotation ----------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_rotation_signs_with_both_secrets_during_the_overlap_and_only_the_new_one_after(merchant, receiver, hook,
                                                                                      posted_order):
    old = hook["secret"]
    r = merchant.post(f"/api/webhooks/{hook['id']}/rotate/", {}, format="json")
    assert r.status_code == 200
    new = r.json()["secret"]
    assert new != old and new.startswith("whsec_") and r.json()["previous_secret_expires_at"]
    assert "secret" not in merchant.get(f"/api/webhooks/{hook['id']}/").json()
    receiver.secrets = [new, old]
    now = timezone.now()
    receiver.now = now.timestamp()
    _send_all(now=now)
    during = receiver.received[-1]
    assert during.headers["x-delivery-signature"].count("v1=") == 2
    assert during.verified == {new: True, old: True}
    # after the overlap (24 h by default): the old secret no longer signs
    later = now + timedelta(hours=24, seconds=1)
    merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
    receiver.now = later.timestamp()
    _send_all(now=later)
    after = receiver.received[-1]
    assert after.headers["x-delivery-signature"].count("v1=") == 1
    assert after.verified == {new: True, old: False}


@pytest.mark.django_db
def test_the_documented_verifier_refuses_stale_forged_and_tampered(merchant, hook):
    verify = documented_verifier()
    endpoint = WebhookEndpoint.objects.get(pk=hook["id"])
    secret = hook["secret"]
    body, t = b'{"id":"evt_1"}', 1_800_000_000
    header = hook_http.signature_header(secrets=[secret], timestamp=t, body=body)
    assert verify(secret, header, body, now=t + 299)
    assert not verify(secret, header, body, now=t + 301)  # five minutes' tolerance
    assert not verify(secret, header, body + b" ", now=t)
    assert not verify("whsec_other", header, body, now=t)
    assert not verify(secret, header.replace(f"t={t}", f"t={t + 1}"), body, now=t)
    assert not verify(secret, f"t={t}", body, now=t)
    _, rotated = webhook_endpoint_rotate(endpoint=endpoint, overlap_s=0)
    assert rotated != secret
    assert WebhookEndpoint.objects.get(pk=hook["id"]).previous_secret_sealed is None


# --- Other merchants, deletion -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_another_merchants_endpoints_and_deliveries_are_404(merchant, hook, posted_order, demo):
    from rest_framework.test import APIClient

    other_user = get_user_model().objects.create_user("merchant9", password="x")  # noqa: S106 - test account
    Merchant.objects.create(user=other_user)
    other = APIClient()
    other.force_authenticate(other_user)
    d = WebhookDelivery.objects.get(type="order.created")
    assert other.get("/api/webhooks/").json() == []
    for method, path in [("get", f"/api/webhooks/{hook['id']}/"), ("delete", f"/api/webhooks/{hook['id']}/"),
                         ("post", f"/api/webhooks/{hook['id']}/rotate/"),
                         ("get", f"/api/webhooks/{hook['id']}/deliveries/"),
                         ("post", f"/api/webhooks/deliveries/{d.pk}/redeliver/"),
                         ("get", "/api/webhooks/999999/"), ("post", "/api/webhooks/deliveries/999999/redeliver/")]:
        r = getattr(other, method)(path)
        assert r.status_code == 404 and r.json()["code"] == "not_found", (method, path)
    assert WebhookEndpoint.objects.get(pk=hook["id"]).state == "active"


@pytest.mark.django_db
def test_delete_disables_destroys_the_secret_and_fails_what_was_pending(merchant, receiver, hook, posted_order):
    r = merchant.delete(f"/api/webhooks/{hook['id']}/")
    assert r.status_code == 200 and r.json()["state"] == "disabled" and "secret" not in r.json()
    assert merchant.get(f"/api/webhooks/{hook['id']}/").status_code == 404
    assert merchant.get("/api/webhooks/").json() == []
    row = WebhookEndpoint.objects.get(pk=hook["id"])
    assert row.state == "disabled" and bytes(row.secret_sealed) == b""
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"failed"}
    _send_all()
    assert receiver.received == []


@pytest.mark.django_db
def test_allowing_private_addresses_never_allows_other_schemes(merchant, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    for url in ("ftp://127.0.0.1/", "file:///etc/passwd", "gopher://127.0.0.1:70/"):
        r = merchant.post("/api/webhooks/", {"url": url, "events": ALL}, format="json")
        assert r.status_code == 400 and r.json()["code"] == "unsafe_url", url
    assert merchant.post("/api/webhooks/", {"url": "http://127.0.0.1:9/", "events": ALL},
                         format="json").status_code == 201


@pytest.mark.django_db
def test_the_exits_are_heard_failed_retried_returned_and_cancelled_with_reason_codes(
        merchant, dispatcher, rider1, staff1, demo, hook):
    from dispatch.models import Store

    created = merchant.post("/api/orders/", order_payload(), format="json").json()
    oid = created["id"]
    Store.objects.filter(orders__pk=oid).update(fail_policy="retry")
    dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": demo["rider1"].rider.pk}, format="json")
    pick_up(created, rider1, staff1)
    assert staff1.post(f"/api/pickup/orders/{oid}/undo-handoff/").status_code == 200
    pick_up_again = rider1.get(f"/api/rider/orders/{oid}/handoff-code/").json()["code"]
    assert staff1.post("/api/pickup/handoff/", {"pickup_code": created["pickup_code"], "rider_code": pick_up_again},
                       format="json").status_code == 200
    rider1.post(f"/api/rider/orders/{oid}/door-wait/")
    assert rider1.post(f"/api/rider/orders/{oid}/fail/", {"reason": "refused"}, format="json").status_code == 200
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/retry/").status_code == 200
    Store.objects.filter(orders__pk=oid).update(fail_policy="return")
    assert rider1.post(f"/api/rider/orders/{oid}/fail/", {"reason": "unsafe"}, format="json").status_code == 200
    code = rider1.get(f"/api/rider/returns/{oid}/handoff-code/").json()["code"]
    assert staff1.post(f"/api/pickup/orders/{oid}/return/", {"rider_code": code}, format="json").status_code == 200
    rows = WebhookDelivery.objects.filter(order_id=oid).order_by("pk")
    assert [(d.type, d.payload["data"]["status"], d.payload["data"].get("reason")) for d in rows] == [
        ("order.created", "created", None), ("order.assigned", "assigned", None), ("order.ready", "ready", None),
        ("order.picked_up", "picked_up", None), ("order.ready", "ready", None), ("order.picked_up", "picked_up", None),
        ("order.failed", "failed", "refused"), ("order.picked_up", "picked_up", None),
        ("order.failed", "failed", "unsafe"), ("order.returned", "returned", None),
    ]
    other = merchant.post("/api/orders/", order_payload(), format="json").json()["id"]
    staff1.post(f"/api/pickup/orders/{other}/cancel/", {"reason": "out_of_stock"}, format="json")
    cancelled = WebhookDelivery.objects.get(order_id=other, type="order.cancelled")
    assert cancelled.payload["data"] == {**cancelled.payload["data"], "status": "cancelled", "reason": "out_of_stock"}


@pytest.mark.django_db
def test_the_beat_sweep_hands_a_due_delivery_to_one_task_and_a_lost_task_is_retried_after_its_lease(
        merchant, receiver, hook, posted_order, monkeypatch, settings):
    from dispatch import tasks

    sent = []
    monkeypatch.setattr("dispatch.services.webhooks.current_app.send_task",
                        lambda name, args=(), **kw: sent.append((name, list(args), kw)))
    d = WebhookDelivery.objects.get(type="order.created")
    now = timezone.now() + timedelta(seconds=1)
    assert webhook_sweep(now=now) == 1
    assert webhook_sweep(now=now + timedelta(seconds=15)) == 0  # waiting in the queue: not handed over twice
    (name, args, kw), = sent
    assert name == "dispatch.tasks.webhook_deliver" and args[0] == d.pk and "countdown" not in kw
    # the task, run: it holds the lease, so it may send before the lease's time
    assert tasks.webhook_deliver(*args) == "delivered"
    assert tasks.webhook_deliver(*args) is None  # a duplicate finds nothing to do
    assert len(receiver.received) == 1
    # a task lost on the way: the row is due again once the lease has passed
    merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "customer_request"}, format="json")
    assert webhook_sweep(now=now) == 1
    assert webhook_sweep(now=now + timedelta(seconds=settings.WEBHOOK_QUEUE_LEASE_S - 1)) == 0
    assert webhook_sweep(now=now + timedelta(seconds=settings.WEBHOOK_QUEUE_LEASE_S + 1)) == 1
