"""Masked calls against a removed rider, a stranger with yesterday's number and a replayed webhook.

Findings 2 (a removed rider keeps the line) and 7 (a replayed Twilio webhook dials again)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from dispatch import tokens
from dispatch.models import AuditEvent, Event, Grant, Order, OrderStatus, ProxySession
from dispatch.services.calls import call_route, call_session_start, call_sessions_end_due
from dispatch.services.delivery import order_deliver
from dispatch.services.lifecycle import access_revoke_due
from dispatch.services.orders import order_cancel
from tests.factories import CUSTOMER_PHONE, order_payload

POOL = ["+15550100001", "+15550100002", "+15550100003"]


def post_order(merchant, phone: str = CUSTOMER_PHONE) -> tuple[int, str]:
    payload = order_payload()
    payload["customer"]["phone"] = phone
    created = merchant.post("/api/orders/", payload, format="json").json()
    _tokens[created["id"]] = created["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    return created["id"], _tokens[created["id"]]


def assign(dispatcher, order_id: int, rider) -> None:
    response = dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": rider.pk}, format="json")
    assert response.status_code == 200, response.content


_tokens: dict[int, str] = {}


def deliver(order_id: int, rider) -> Order:
    """Picked up, then delivered with the PIN the customer's tracking link shows (the database holds a digest)."""
    Order.objects.filter(pk=order_id).update(status=OrderStatus.PICKED_UP)
    return order_deliver(rider=rider, order_id=order_id, pin=tokens.delivery_pin(_tokens[order_id]))


@pytest.fixture
def pool(settings):
    settings.TELEPHONY_POOL = list(POOL)
    return settings


@pytest.mark.django_db
def test_removed_rider_cannot_reach_the_customer_after_reassignment(pool, merchant, dispatcher, demo):
    """Plays the removed rider (finding 2): reassigned away, they still dial the proxy number they were given."""
    r1, r2 = demo["rider1"].rider, demo["rider2"].rider
    order_id, _ = post_order(merchant)
    assign(dispatcher, order_id, r1)
    old = call_session_start(order=Order.objects.get(pk=order_id), rider=r1)
    assert call_route(caller=r1.phone, proxy_number=old.proxy_number).connect_to == CUSTOMER_PHONE  # before

    assign(dispatcher, order_id, r2)

    route = call_route(caller=r1.phone, proxy_number=old.proxy_number)
    assert route.connect_to is None and route.callee == ""
    old.refresh_from_db()
    assert old.ended_at is not None


@pytest.mark.django_db
def test_customer_line_after_reassignment_reaches_the_current_rider_or_nobody(pool, merchant, dispatcher, demo, client):
    """Plays the customer (finding 2): their "private line" from before the reassignment must not ring the old
    rider; their new line reaches the new rider, and the new rider reaches them; the old rider reaches neither."""
    r1, r2 = demo["rider1"].rider, demo["rider2"].rider
    order_id, token = post_order(merchant)
    assign(dispatcher, order_id, r1)
    first = client.post(f"/api/track/{token}/call/").json()["proxy_number"]
    assert client.get(f"/api/track/{token}/").json()["call_number"] == first

    assign(dispatcher, order_id, r2)

    stale = call_route(caller=CUSTOMER_PHONE, proxy_number=first)
    assert stale.connect_to is None  # not the old rider
    assert client.get(f"/api/track/{token}/").json()["call_number"] is None  # the page no longer offers it
    second = client.post(f"/api/track/{token}/call/").json()["proxy_number"]
    assert second != first
    assert client.get(f"/api/track/{token}/").json()["call_number"] == second
    to_rider = call_route(caller=CUSTOMER_PHONE, proxy_number=second)
    assert (to_rider.callee, to_rider.connect_to) == ("rider", r2.phone)
    to_customer = call_route(caller=r2.phone, proxy_number=second)
    assert (to_customer.callee, to_customer.connect_to) == ("customer", CUSTOMER_PHONE)
    assert call_route(caller=r1.phone, proxy_number=second).connect_to is None
    assert call_route(caller=r1.phone, proxy_number=first).connect_to is None


@pytest.mark.django_db
def test_cancel_ends_the_call_session(pool, merchant, dispatcher, demo):
    """Plays the rider of a cancelled order (finding 2): the order is gone, the line must be too, both ways."""
    rider = demo["rider1"].rider
    order_id, _ = post_order(merchant)
    assign(dispatcher, order_id, rider)
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)

    order_cancel(order_id=order_id, by=demo["dispatcher1"], reason="customer_request")

    assert call_route(caller=rider.phone, proxy_number=session.proxy_number).connect_to is None
    assert call_route(caller=CUSTOMER_PHONE, proxy_number=session.proxy_number).connect_to is None
    session.refresh_from_db()
    assert session.ended_at is not None
    ended = AuditEvent.objects.filter(order_id=order_id, action="call.session_ended").get()
    assert ended.data["reason"] == "cancelled"


@pytest.mark.django_db
def test_every_session_has_an_absolute_end(pool, merchant, dispatcher, demo):
    """Plays a rider whose order is never delivered (finding 2): the session must still end on its own."""
    pool.CALL_SESSION_MAX_S = 3600
    pool.CALL_WINDOW_S = 1800
    rider = demo["rider1"].rider
    order_id, _ = post_order(merchant)
    assign(dispatcher, order_id, rider)
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)
    assert session.expires_at is not None
    assert session.expires_at - session.created_at == pytest.approx(timedelta(seconds=3600), abs=timedelta(seconds=2))

    # Hours later, never delivered: the line is dead and the sweep closes it.
    ProxySession.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call_route(caller=rider.phone, proxy_number=session.proxy_number).connect_to is None
    assert call_sessions_end_due() == 1

    # On delivery the end is the earlier of the absolute end and the after-sales window.
    order_id, _ = post_order(merchant, phone="+447700900111")
    assign(dispatcher, order_id, rider)
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)
    absolute = session.expires_at
    delivered = deliver(order_id, rider).delivered_at
    session.refresh_from_db()
    assert session.expires_at == min(absolute, delivered + timedelta(seconds=1800))
    assert session.expires_at < absolute

    pool.CALL_WINDOW_S = 7200  # a window longer than the absolute end does not extend it
    order_id, _ = post_order(merchant, phone="+447700900112")
    assign(dispatcher, order_id, rider)
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)
    absolute = session.expires_at
    deliver(order_id, rider)
    session.refresh_from_db()
    assert session.expires_at == absolute


@pytest.mark.django_db
def test_a_number_is_not_handed_to_the_same_customer_within_the_cool_off(pool, merchant, dispatcher, demo):
    """Plays yesterday's rider who kept the proxy number (finding 2): today's order of the same customer must not
    be put on that number, so the number they hold never again leads to this customer within the cool-off."""
    pool.PROXY_COOLOFF_S = 86400
    r1, r2 = demo["rider1"].rider, demo["rider2"].rider
    yesterday, _ = post_order(merchant)
    assign(dispatcher, yesterday, r1)
    kept = call_session_start(order=Order.objects.get(pk=yesterday), rider=r1).proxy_number
    deliver(yesterday, r1)
    ProxySession.objects.filter(proxy_number=kept).update(expires_at=timezone.now() - timedelta(hours=1))
    call_sessions_end_due()

    today, _ = post_order(merchant)
    assign(dispatcher, today, r2)
    fresh = call_session_start(order=Order.objects.get(pk=today), rider=r2)
    assert fresh.proxy_number != kept
    assert call_route(caller=r1.phone, proxy_number=kept).connect_to is None

    # With only the kept number left, the pool is exhausted for this customer, and says so plainly.
    pool.TELEPHONY_POOL = [kept]
    again, _ = post_order(merchant)
    assign(dispatcher, again, demo["rider3"].rider)
    with pytest.raises(Exception) as exc:
        call_session_start(order=Order.objects.get(pk=again), rider=demo["rider3"].rider)
    assert exc.value.code == "pool_exhausted"
    assert "number" in exc.value.detail and "try again" in exc.value.detail.lower()

    # After the cool-off the number may serve this customer again.
    ProxySession.objects.filter(proxy_number=kept).update(ended_at=timezone.now() - timedelta(hours=25),
                                                           expires_at=timezone.now() - timedelta(hours=25))
    assert call_session_start(order=Order.objects.get(pk=again), rider=demo["rider3"].rider).proxy_number == kept


@pytest.mark.django_db
def test_a_replayed_twilio_webhook_dials_once(pool, client, merchant, dispatcher, demo):
    """Plays an attacker who captured one correctly signed Twilio request (finding 7) and sends it again."""
    pool.TWILIO_AUTH_TOKEN = "test-token"  # noqa: S105
    pool.TWILIO_WEBHOOK_URL = "https://example.test/telephony/twilio/voice/"
    rider = demo["rider1"].rider
    order_id, _ = post_order(merchant)
    assign(dispatcher, order_id, rider)
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)
    params = {"From": rider.phone, "To": session.proxy_number, "CallSid": "CA0123456789abcdef0123456789abcdef"}
    signature = RequestValidator("test-token").compute_signature(pool.TWILIO_WEBHOOK_URL, params)

    bodies = []
    for _ in range(3):
        response = client.post("/telephony/twilio/voice/", params, HTTP_X_TWILIO_SIGNATURE=signature)
        assert response.status_code == 200
        bodies.append(response.content.decode())
    assert sum("<Dial" in b for b in bodies) == 1
    assert "<Dial" in bodies[0]
    assert AuditEvent.objects.filter(order_id=order_id, action="call.connected").count() == 1
    assert AuditEvent.objects.filter(order_id=order_id, action="call.customer_number_used").count() == 1

    # Another call (a new CallSid) is routed as usual.
    params["CallSid"] = "CA" + "f" * 32
    signature = RequestValidator("test-token").compute_signature(pool.TWILIO_WEBHOOK_URL, params)
    assert "<Dial" in client.post("/telephony/twilio/voice/", params, HTTP_X_TWILIO_SIGNATURE=signature).content.decode()


def _reassign(dispatcher, order_id, demo):
    assign(dispatcher, order_id, demo["rider2"].rider)


def _cancel(dispatcher, order_id, demo):
    order_cancel(order_id=order_id, by=demo["dispatcher1"])


def _expire(dispatcher, order_id, demo):
    Order.objects.filter(pk=order_id).update(status=OrderStatus.PICKED_UP)
    Grant.objects.filter(order_id=order_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert access_revoke_due(order_id=order_id) >= 1


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "reason"), [(_reassign, "reassigned"), (_cancel, "cancelled"), (_expire, "expired")])
def test_every_way_of_losing_the_order_goes_through_one_revocation(pool, merchant, dispatcher, demo, path, reason):
    """Plays the operator (finding 2): reassignment, cancel and expiry each revoke the grants, end the rider's
    call session, and write exactly one `access.revoked` and one `order.revoked` to the rider."""
    rider = demo["rider1"].rider
    order_id, _ = post_order(merchant)
    assign(dispatcher, order_id, rider)
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)

    path(dispatcher, order_id, demo)

    session.refresh_from_db()
    assert session.ended_at is not None
    assert not Grant.objects.filter(order_id=order_id, principal=rider.user, revoked_at__isnull=True).exists()
    revoked = AuditEvent.objects.filter(order_id=order_id, action="access.revoked")
    assert revoked.count() == 1 and revoked.get().data["reason"] == reason
    ended = AuditEvent.objects.filter(order_id=order_id, action="call.session_ended")
    assert ended.count() == 1 and ended.get().data["reason"] == reason
    assert Event.objects.filter(group=f"rider.{rider.pk}", type="order.revoked", payload__order=order_id).count() == 1
    assert call_route(caller=rider.phone, proxy_number=session.proxy_number).connect_to is None


@pytest.mark.django_db
def test_after_delivery_only_the_after_sales_call_outlives_the_address_and_then_it_ends(pool, merchant, dispatcher, demo):
    """Plays the rider who delivered (finding 2): once the address access expires the order leaves their app, the
    masked line stays only for the after-sales window (the customer may call about the delivery), then goes dead."""
    pool.CALL_WINDOW_S = 1800
    rider = demo["rider1"].rider
    order_id, _ = post_order(merchant)
    assign(dispatcher, order_id, rider)
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)
    delivered = deliver(order_id, rider).delivered_at
    Grant.objects.filter(order_id=order_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert access_revoke_due(order_id=order_id) >= 1

    session.refresh_from_db()
    assert session.ended_at is None and session.expires_at == delivered + timedelta(seconds=1800)
    assert call_route(caller=CUSTOMER_PHONE, proxy_number=session.proxy_number).connect_to == rider.phone
    assert AuditEvent.objects.filter(order_id=order_id, action="access.revoked").count() == 1

    ProxySession.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert call_route(caller=CUSTOMER_PHONE, proxy_number=session.proxy_number).connect_to is None
    assert call_route(caller=rider.phone, proxy_number=session.proxy_number).connect_to is None
    assert call_sessions_end_due() == 1
