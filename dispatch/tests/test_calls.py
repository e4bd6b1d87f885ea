"""Masked calling: pool allocation, routing by (caller, proxy), the end of a session, Twilio."""

from datetime import timedelta

import pytest
from django.utils import timezone
from twilio.request_validator import RequestValidator

from dispatch.errors import NotFound
from dispatch.models import Order, ProxySession, Rider, SeenCallSid
from dispatch.services.calls import call_route, call_session_start, call_sessions_end_due
from dispatch.services.lifecycle import retention_sweep
from tests.factories import CUSTOMER_PHONE, order_payload


def new_order(merchant, dispatcher, rider, phone=CUSTOMER_PHONE):
    payload = order_payload()
    payload["customer"]["phone"] = phone
    order_id = merchant.post("/api/orders/", payload, format="json").json()["id"]
    dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": rider.pk}, format="json")
    return Order.objects.get(pk=order_id)


@pytest.mark.django_db
def test_one_number_serves_many_sessions_unless_a_participant_repeats(merchant, dispatcher, demo, settings):
    settings.TELEPHONY_POOL = ["+15550100001", "+15550100002"]
    r1, r2 = demo["rider1"].rider, demo["rider2"].rider
    a = call_session_start(order=new_order(merchant, dispatcher, r1, "+447700900001"), rider=r1)
    b = call_session_start(order=new_order(merchant, dispatcher, r2, "+447700900002"), rider=r2)
    assert a.proxy_number == b.proxy_number == "+15550100001"  # disjoint participants share a number
    c = call_session_start(order=new_order(merchant, dispatcher, r1, "+447700900003"), rider=r1)
    assert c.proxy_number == "+15550100002"  # rider1 already holds 01
    with pytest.raises(Exception) as exc:
        call_session_start(order=new_order(merchant, dispatcher, r1, "+447700900004"), rider=r1)
    assert exc.value.code == "pool_exhausted"


@pytest.mark.django_db
def test_calls_route_to_the_other_party_and_stop_after_the_session(merchant, dispatcher, demo):
    rider = demo["rider1"].rider
    order = new_order(merchant, dispatcher, rider)
    session = call_session_start(order=order, rider=rider)
    to_customer = call_route(caller=rider.phone, proxy_number=session.proxy_number)
    assert (to_customer.callee, to_customer.caller_id) == ("customer", session.proxy_number)
    assert to_customer.connect_to == CUSTOMER_PHONE
    to_rider = call_route(caller="+44 7700 905678", proxy_number=session.proxy_number)
    assert (to_rider.callee, to_rider.connect_to) == ("rider", rider.phone)
    stranger = call_route(caller="+447700111222", proxy_number=session.proxy_number)
    assert stranger.connect_to is None
    ProxySession.objects.filter(pk=session.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    after = call_route(caller=rider.phone, proxy_number=session.proxy_number)
    assert after.connect_to is None and "no longer in service" in after.message
    assert call_sessions_end_due() == 1


@pytest.mark.django_db
def test_twilio_webhook_checks_signature_and_answers_twiml(client, merchant, dispatcher, demo, settings):
    settings.TWILIO_AUTH_TOKEN = "test-token"  # noqa: S105
    settings.TWILIO_WEBHOOK_URL = "https://example.test/telephony/twilio/voice/"
    rider: Rider = demo["rider1"].rider
    session = call_session_start(order=new_order(merchant, dispatcher, rider), rider=rider)
    params = {"From": rider.phone, "To": session.proxy_number, "CallSid": "CA123"}
    signature = RequestValidator("test-token").compute_signature(settings.TWILIO_WEBHOOK_URL, params)
    bad = client.post("/telephony/twilio/voice/", params, HTTP_X_TWILIO_SIGNATURE="nope")
    assert bad.status_code == 403
    ok = client.post("/telephony/twilio/voice/", params, HTTP_X_TWILIO_SIGNATURE=signature)
    assert ok.status_code == 200
    body = ok.content.decode()
    assert f'callerId="{session.proxy_number}"' in body and "<Number>+44 7700 905678</Number>" in body


@pytest.mark.django_db
def test_twilio_webhook_needs_a_call_sid_and_seen_call_sids_are_pruned_after_a_day(client, settings):
    settings.TWILIO_AUTH_TOKEN = "test-token"  # noqa: S105
    settings.TWILIO_WEBHOOK_URL = "https://example.test/telephony/twilio/voice/"
    params = {"From": "+447700111222", "To": "+15550100001"}
    signature = RequestValidator("test-token").compute_signature(settings.TWILIO_WEBHOOK_URL, params)
    assert client.post("/telephony/twilio/voice/", params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 400
    now = timezone.now()
    SeenCallSid.objects.create(call_sid="CAold", seen_at=now - timedelta(days=1, seconds=1))
    SeenCallSid.objects.create(call_sid="CAnew", seen_at=now - timedelta(hours=23))
    assert retention_sweep()["call_sids_deleted"] == 1
    assert list(SeenCallSid.objects.values_list("call_sid", flat=True)) == ["CAnew"]


@pytest.mark.django_db
def test_only_the_orders_current_rider_starts_a_session(merchant, dispatcher, demo):
    order = new_order(merchant, dispatcher, demo["rider1"].rider)
    with pytest.raises(NotFound):
        call_session_start(order=order, rider=demo["rider2"].rider)
