"""Cancel through the HTTP API by each party (merchant, dispatch, the store before pick-up), with a reason code:
the rider's access ends as after delivery, the audit keeps the code and never the note, and the customer's link
says who cancelled and why."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from dispatch.models import AuditEvent, Merchant, Order, Store
from tests.exits_helpers import (
    NOTE,
    assert_access_ended,
    assert_no_note,
    pick_up,
    track,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def picked_up(assigned_order, rider1, staff1):
    pick_up(assigned_order, rider1, staff1)
    return assigned_order


# --- cancel ------------------------------------------------------------------------------------------------
def test_merchant_cancels_with_a_reason_and_the_rider_loses_access(assigned_order, merchant, rider1, demo):
    order_id = assigned_order["id"]
    r = merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": "out_of_stock", "note": NOTE}, format="json")
    assert r.status_code == 200, r.content
    assert r.json() == {"id": order_id, "status": "cancelled"}
    assert_access_ended(order_id, rider1, demo, "cancelled")
    audit = AuditEvent.objects.get(order_id=order_id, action="order.cancelled")
    assert audit.data == {"reason": "out_of_stock", "by": "merchant"}
    assert_no_note(order_id)
    again = merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": "other"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "wrong_state"
    assert again.json()["detail"] == "An order that is cancelled cannot be cancelled."
    view = track(assigned_order)
    assert view["status"] == "cancelled" and view["delivery_pin"] is None
    assert view["exit"] == {"status": "cancelled", "category": "cancelled_by_store", "reason": "out_of_stock",
                            "headline": "Your order was cancelled",
                            "detail": "cancelled by the store: an item is out of stock"}
    zh = track(assigned_order, "zh-CN,zh;q=0.9")["exit"]
    assert (zh["headline"], zh["detail"]) == ("您的订单已取消", "门店取消：商品缺货")


def test_cancel_refusals(posted_order, merchant, dispatcher, demo):
    order_id = posted_order["id"]
    bad = merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": "she was rude"}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid" and "reason" in bad.json()["errors"]
    assert merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": 3}, format="json").status_code == 400
    assert merchant.post(f"/api/orders/{order_id}/cancel/", {}, format="json").status_code == 400
    stranger = get_user_model().objects.create_user("merchant9", password="x")
    Merchant.objects.create(user=stranger).stores.set(Store.objects.all())
    other = APIClient()
    other.force_authenticate(stranger)
    r = other.post(f"/api/orders/{order_id}/cancel/", {"reason": "other"}, format="json")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert APIClient().post(f"/api/orders/{order_id}/cancel/", {"reason": "other"}, format="json").status_code in (401, 403)
    assert Order.objects.get(pk=order_id).status == "created"


def test_dispatcher_cancels_a_picked_up_order(picked_up, dispatcher, rider1, demo):
    order_id = picked_up["id"]
    r = dispatcher.post(f"/api/dispatch/orders/{order_id}/cancel/", {"reason": "address_problem"}, format="json")
    assert r.status_code == 200 and r.json() == {"id": order_id, "status": "cancelled"}
    assert_access_ended(order_id, rider1, demo, "cancelled")
    assert track(picked_up)["exit"]["category"] == "cancelled_by_service"


def test_store_cancels_only_its_own_orders_and_only_before_pick_up(assigned_order, client_for, staff1, rider1, demo):
    order_id = assigned_order["id"]
    other_store = client_for("store2")
    r = other_store.post(f"/api/pickup/orders/{order_id}/cancel/", {"reason": "out_of_stock"}, format="json")
    assert r.status_code == 404
    pick_up(assigned_order, rider1, staff1)
    late = staff1.post(f"/api/pickup/orders/{order_id}/cancel/", {"reason": "out_of_stock"}, format="json")
    assert late.status_code == 409 and late.json()["code"] == "wrong_state"
    assert Order.objects.get(pk=order_id).status == "picked_up"
    assert staff1.post(f"/api/pickup/orders/{order_id}/undo-handoff/").status_code == 200
    r = staff1.post(f"/api/pickup/orders/{order_id}/cancel/", {"reason": "out_of_stock"}, format="json")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert_access_ended(order_id, rider1, demo, "cancelled")
    assert AuditEvent.objects.get(order_id=order_id, action="order.cancelled").data["by"] == "store"


