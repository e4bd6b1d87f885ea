"""The customer's feedback after delivery: once, on a living link, sealed, masked for the merchant alone."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.utils import timezone

from dispatch.masking import mask_free_text
from dispatch.models import Alert, AuditEvent, CustomerFeedback, Order
from tests.exits_helpers import pick_up, token_of
from tests.factories import delivery_pin_of

PHONE = "13812345678"
EMAIL = "lin.wei@example.cn"
TEXT = f"The box was crushed. Call me on {PHONE} or write to {EMAIL}."


@pytest.fixture
def delivered(assigned_order, rider1, staff1):
    pick_up(assigned_order, rider1, staff1)
    r = rider1.post(f"/api/rider/orders/{assigned_order['id']}/deliver/", {"pin": delivery_pin_of(assigned_order)},
                    format="json")
    assert r.status_code == 200
    return assigned_order


def send(order: dict, body: dict):
    return Client().post(f"/api/track/{token_of(order)}/feedback/", json.dumps(body), content_type="application/json")


def test_refused_before_delivery(assigned_order):
    r = send(assigned_order, {"rating": 5})
    assert (r.status_code, r.json()["code"]) == (409, "not_delivered")
    assert not CustomerFeedback.objects.exists()


def test_accepted_once_and_masked_for_the_merchant(delivered, merchant, rider1):
    track = Client().get(f"/api/track/{token_of(delivered)}/").json()
    assert track["feedback_open"] is True and track["feedback"] is None
    r = send(delivered, {"rating": 2, "issue": "damaged", "text": TEXT})
    assert r.status_code == 201, r.content
    assert r.json()["rating"] == 2 and "text" not in r.json()
    again = send(delivered, {"rating": 5})
    assert (again.status_code, again.json()["code"]) == (409, "feedback_exists")
    track = Client().get(f"/api/track/{token_of(delivered)}/").json()
    assert track["feedback_open"] is False and track["feedback"]["rating"] == 2
    assert TEXT not in json.dumps(track)

    fb = merchant.get(f"/api/orders/{delivered['id']}/feedback/").json()
    assert fb["rating"] == 2 and fb["issue"] == "damaged"
    assert fb["text"].startswith("The box was crushed.")
    assert PHONE not in fb["text"] and EMAIL not in fb["text"] and "*********78" in fb["text"]
    detail = merchant.get(f"/api/orders/{delivered['id']}/").json()
    assert detail["feedback"]["text"] == fb["text"] and detail["pod"]["policy"] == "pin"
    assert AuditEvent.objects.filter(order_id=delivered["id"], action="feedback.read").count() == 2

    # Sealed at rest, and never in the audit log; the rider's views carry none of it.
    stored = CustomerFeedback.objects.get(order_id=delivered["id"])
    assert b"crushed" not in bytes(stored.text_sealed)
    log = json.dumps(list(AuditEvent.objects.values_list("data", flat=True)))
    assert "crushed" not in log and PHONE not in log
    rider_view = rider1.get(f"/api/rider/orders/{delivered['id']}/")
    assert "crushed" not in rider_view.content.decode() and "feedback" not in rider_view.json()


def test_refused_after_the_link_expires(delivered):
    Order.objects.filter(pk=delivered["id"]).update(tracking_expires_at=timezone.now())
    assert send(delivered, {"rating": 4}).status_code == 404
    assert not CustomerFeedback.objects.exists()


@pytest.mark.parametrize("body, field", [
    ({"rating": 6}, "rating"), ({"rating": 0}, "rating"), ({"rating": "5"}, "rating"), ({"rating": True}, "rating"),
    ({"issue": "smell"}, "issue"), ({"issue": "other", "text": "x" * 501}, "text"),
    ({"issue": "other", "text": "a\u202eb"}, "text"), ({"issue": ["late"]}, "issue"),
])
def test_bad_input_is_a_400(delivered, body, field):
    r = send(delivered, body)
    assert r.status_code == 400 and field in r.json()["errors"], r.content
    assert not CustomerFeedback.objects.exists()


def test_empty_feedback_is_refused(delivered):
    r = send(delivered, {"text": ""})
    assert (r.status_code, r.json()["code"]) == (400, "feedback_empty")


def test_text_alone_is_an_issue_of_kind_other(delivered, merchant):
    assert send(delivered, {"text": "Thanks!"}).status_code == 201
    assert merchant.get(f"/api/orders/{delivered['id']}/feedback/").json()["issue"] == "other"


def test_rider_conduct_raises_a_dispatch_alert_without_the_text(delivered, dispatcher):
    assert send(delivered, {"rating": 1, "issue": "rider_conduct", "text": f"He was rude. {PHONE}"}).status_code == 201
    alert = Alert.objects.get(order_id=delivered["id"])
    assert alert.kind == "rate" and alert.detail == {"what": "rider_conduct", "rating": 1}
    listed = dispatcher.get("/api/dispatch/alerts/?open=1").content.decode()
    assert "rude" not in listed and PHONE not in listed


def test_no_feedback_yet_is_a_404_for_its_merchant(delivered, merchant):
    assert merchant.get(f"/api/orders/{delivered['id']}/feedback/").status_code == 404


@pytest.mark.parametrize("text, masked", [
    ("call 138 1234 5678", "call *********78"),
    ("mail me: a.b+c@d.co.uk ok", "mail me: ***@*** ok"),
    ("order 12345 was late", "order 12345 was late"),
    ("门禁码 6502117 请放门口", "门禁码 *****17 请放门口"),
])
def test_free_text_masking(text, masked):
    assert mask_free_text(text) == masked
