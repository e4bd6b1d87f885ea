"""A PIN lock has a way out: dispatch clears it (POST /api/dispatch/orders/{id}/pin-unlock/ {reason}), audited with
the reason; then the right PIN delivers. Another fleet's dispatcher gets 404 and the lock holds."""

from __future__ import annotations

import pytest
from django.test import Client

from dispatch.models import AuditEvent, Order, OrderStatus

pytestmark = pytest.mark.django_db


def _locked(assigned_order, rider1) -> tuple[int, str]:
    Order.objects.filter(pk=assigned_order["id"]).update(status=OrderStatus.PICKED_UP)
    token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    pin = Client().get(f"/api/track/{token}/").json()["delivery_pin"]
    wrong = "".join(str((int(c) + 1) % 10) for c in pin)
    url = f"/api/rider/orders/{assigned_order['id']}/deliver/"
    assert [rider1.post(url, {"pin": wrong}, format="json").json()["code"] for _ in range(5)] == ["wrong_pin"] * 5
    r = rider1.post(url, {"pin": pin}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "pin_locked"
    return assigned_order["id"], pin


def test_dispatch_clears_a_pin_lock_and_the_right_pin_delivers(assigned_order, rider1, dispatcher):
    order_id, pin = _locked(assigned_order, rider1)
    r = dispatcher.post(f"/api/dispatch/orders/{order_id}/pin-unlock/", {"reason": "customer confirmed by phone"},
                        format="json")
    assert r.status_code == 200, r.content
    assert r.json() == {"id": order_id, "cleared": 5}
    [audit] = AuditEvent.objects.filter(action="delivery.pin_unlocked", order_id=order_id)
    assert audit.data["reason"] == "customer confirmed by phone" and audit.data["cleared"] == 5
    r = rider1.post(f"/api/rider/orders/{order_id}/deliver/", {"pin": pin}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "delivered", r.content


def test_another_fleets_dispatcher_gets_404_and_the_lock_holds(assigned_order, rider1, client_for):
    order_id, pin = _locked(assigned_order, rider1)
    r = client_for("dispatcher2").post(f"/api/dispatch/orders/{order_id}/pin-unlock/", {"reason": "let me in please"},
                                       format="json")
    assert r.status_code == 404, r.content
    assert not AuditEvent.objects.filter(action="delivery.pin_unlocked").exists()
    r = rider1.post(f"/api/rider/orders/{order_id}/deliver/", {"pin": pin}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "pin_locked"


def test_a_reason_is_required(assigned_order, rider1, dispatcher):
    order_id, _ = _locked(assigned_order, rider1)
    r = dispatcher.post(f"/api/dispatch/orders/{order_id}/pin-unlock/", {"reason": ""}, format="json")
    assert r.status_code == 400
