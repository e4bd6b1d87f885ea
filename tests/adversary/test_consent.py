"""Finding 8: consent is stored and must be honoured. `number_protection` decides whether the rider may
see and dial the real number; `marketing` can be withdrawn by the customer from the tracking page; the
merchant sees the consent state and never a number."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from dispatch.models import AuditEvent, Order
from tests.factories import CUSTOMER_PHONE, PII_STRINGS, order_payload

PHONE_FORMS = ("7700 905678", "7700905678")


def post(merchant, *, number_protection: bool, marketing: bool = False) -> dict:
    r = merchant.post("/api/orders/", order_payload(consent={"number_protection": number_protection,
                                                             "marketing": marketing}), format="json")
    assert r.status_code == 201, r.content
    return r.json()


def assign(dispatcher, demo, order: dict, rider: str = "rider1") -> None:
    r = dispatcher.post(f"/api/dispatch/orders/{order['id']}/assign/", {"rider": demo[rider].rider.pk}, format="json")
    assert r.status_code == 200, r.content


def token_of(created: dict) -> str:
    return created["tracking_url"].rstrip("/").rsplit("/", 1)[1]


@pytest.mark.django_db
def test_protection_off_the_holding_rider_sees_the_number_audited(merchant, dispatcher, client_for, demo):
    """Plays the rider of an order whose customer turned number protection off: the real number is shown (to
    dial), each read is audited as contact.read for delivery; once the order is reassigned, it is gone."""
    order = post(merchant, number_protection=False)
    assign(dispatcher, demo, order)
    rider1 = client_for("rider1")
    detail = rider1.get(f"/api/rider/orders/{order['id']}/").json()
    assert detail["customer"]["phone"] == CUSTOMER_PHONE
    listed = rider1.get("/api/rider/orders/").json()
    assert listed[0]["customer"]["phone"] == CUSTOMER_PHONE
    reads = AuditEvent.objects.filter(order_id=order["id"], action="contact.read", actor=demo["rider1"])
    assert reads.count() == 2
    assert {e.data["purpose"] for e in reads} == {"delivery"}
    assert not any(s in json.dumps(e.data) for e in reads for s in PHONE_FORMS)

    assign(dispatcher, demo, order, rider="rider2")
    assert rider1.get(f"/api/rider/orders/{order['id']}/").status_code == 404
    assert not any(s in rider1.get("/api/rider/orders/").content.decode() for s in PHONE_FORMS)
    assert client_for("rider2").get(f"/api/rider/orders/{order['id']}/").json()["customer"]["phone"] == CUSTOMER_PHONE


@pytest.mark.django_db
def test_protection_on_the_rider_never_sees_the_number(merchant, dispatcher, client_for, demo):
    """Plays the rider of a protected order: no response carries the number, nothing is read from the vault for it."""
    order = post(merchant, number_protection=True)
    assign(dispatcher, demo, order)
    rider1 = client_for("rider1")
    bodies = [rider1.get(f"/api/rider/orders/{order['id']}/").content.decode(), rider1.get("/api/rider/orders/").content.decode()]
    assert "phone" not in json.loads(bodies[0])["customer"]
    assert not any(s in b for b in bodies for s in PHONE_FORMS)
    assert not AuditEvent.objects.filter(order_id=order["id"], action="contact.read").exists()


@pytest.mark.django_db
def test_customer_withdraws_marketing_consent_from_the_tracking_link(merchant):
    """Plays the customer with the link: the page shows the marketing consent, one POST withdraws it, audited.
    A stranger's made-up token changes nothing, and the link cannot opt anyone in."""
    order = post(merchant, number_protection=True, marketing=True)
    token = token_of(order)
    customer = Client()
    assert customer.get(f"/api/track/{token}/").json()["consent"] == {"marketing": True, "number_protection": True}

    assert customer.post("/api/track/not-a-real-token-at-all/consent/", {"marketing": False},
                         content_type="application/json").status_code == 404
    assert Order.objects.get(pk=order["id"]).consent_marketing is True

    r = customer.post(f"/api/track/{token}/consent/", {"marketing": False}, content_type="application/json")
    assert r.status_code == 200, r.content
    assert r.json()["consent"]["marketing"] is False
    assert Order.objects.get(pk=order["id"]).consent_marketing is False
    event = AuditEvent.objects.get(order_id=order["id"], action="consent.withdrawn")
    assert event.data == {"marketing": False}
    assert customer.get(f"/api/track/{token}/").json()["consent"]["marketing"] is False

    again = customer.post(f"/api/track/{token}/consent/", {"marketing": True}, content_type="application/json")
    assert again.status_code == 400
    assert Order.objects.get(pk=order["id"]).consent_marketing is False
    assert customer.post(f"/api/track/{token}/consent/", {}, content_type="application/json").status_code == 400


@pytest.mark.django_db
def test_merchant_sees_the_consent_state_never_a_number(merchant, dispatcher, client_for, demo):
    """Plays the merchant's system reading its order back: consent as given, masked customer, no number, even
    with protection off and a rider on the order."""
    order = post(merchant, number_protection=False, marketing=True)
    assign(dispatcher, demo, order)
    client_for("rider1").get(f"/api/rider/orders/{order['id']}/")
    r = merchant.get(f"/api/orders/{order['id']}/")
    assert r.status_code == 200
    body = r.json()
    assert body["consent"] == {"number_protection": False, "marketing": True}
    assert not any(s in r.content.decode() for s in PII_STRINGS)
    assert set(body["customer"]) == {"display_name", "phone_masked"}
