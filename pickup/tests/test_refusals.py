"""Every counter refusal, at the API, for the handoff and for its dry run: the status, the machine code,
a human detail, nothing consumed or changed, and an audit event without PII."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from dispatch.models import AuditEvent, HandoffCode, Order
from dispatch.services.orders import order_cancel
from tests.factories import PII_STRINGS

pytestmark = pytest.mark.django_db

ENDPOINTS = {"handoff": "/api/pickup/handoff/", "check": "/api/pickup/handoff/check/"}
AUDIT_ACTION = {"handoff": "handoff.refused", "check": "handoff.checked"}


def audit_code(event: AuditEvent, kind: str) -> str:
    return event.data["code"] if kind == "handoff" else event.data["result"]


def refused(client, kind: str, pickup_code: str, rider_code: str, *, status: int, code: str) -> dict:
    before = AuditEvent.objects.count()
    r = client.post(ENDPOINTS[kind], {"pickup_code": pickup_code, "rider_code": rider_code}, format="json")
    assert r.status_code == status, (r.status_code, r.content)
    body = r.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10
    events = list(AuditEvent.objects.order_by("pk")[before:])
    assert [e.action for e in events] == [AUDIT_ACTION[kind]]
    assert audit_code(events[0], kind) == code
    blob = json.dumps(events[0].data)
    assert not any(s in blob for s in PII_STRINGS)
    assert rider_code not in blob  # the one-time code is never stored in the clear
    return body


@pytest.fixture(params=["handoff", "check"])
def kind(request):
    return request.param


def test_unknown_code(staff1, ready_order, rider_code, kind):
    code = rider_code(ready_order["id"])
    refused(staff1, kind, "999", code, status=404, code="unknown_code")
    refused(staff1, kind, "ZZ12", code, status=404, code="unknown_code")
    assert Order.objects.get(pk=ready_order["id"]).status == "ready"
    assert HandoffCode.objects.get(order_id=ready_order["id"]).used_at is None


def test_unknown_code_at_another_store(client_for, ready_order, rider_code, kind):
    refused(client_for("store2"), kind, ready_order["pickup_code"], rider_code(ready_order["id"]), status=404,
            code="unknown_code")
    assert Order.objects.get(pk=ready_order["id"]).status == "ready"


def test_wrong_rider(staff1, new_order, ready_order, rider_code, kind):
    other = new_order(rider="rider2")  # rider2's own, valid code for their own order
    refused(staff1, kind, ready_order["pickup_code"], rider_code(other["id"], "rider2"), status=409, code="wrong_rider")
    refused(staff1, kind, ready_order["pickup_code"], "000000", status=409, code="wrong_rider")
    # rider1's code for a different bag of theirs does not release this one either
    second = new_order()
    refused(staff1, kind, ready_order["pickup_code"], rider_code(second["id"]), status=409, code="wrong_rider")
    assert Order.objects.get(pk=ready_order["id"]).status == "ready"


def test_not_ready(staff1, new_order, rider_code, kind):
    order = new_order()  # assigned, not marked ready
    code = rider_code(order["id"])
    refused(staff1, kind, order["pickup_code"], code, status=409, code="not_ready")
    assert HandoffCode.objects.get(order_id=order["id"]).used_at is None


def test_already_picked_up(staff1, ready_order, rider_code, kind):
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": ready_order["pickup_code"],
                                             "rider_code": rider_code(ready_order["id"])}, format="json")
    assert r.status_code == 200, r.content
    refused(staff1, kind, ready_order["pickup_code"], rider_code(ready_order["id"]), status=409,
            code="already_picked_up")


def test_cancelled(staff1, ready_order, rider_code, demo, kind):
    code = rider_code(ready_order["id"])
    order_cancel(order_id=ready_order["id"], by=demo["dispatcher1"], reason="customer_request")
    refused(staff1, kind, ready_order["pickup_code"], code, status=409, code="cancelled")
    assert Order.objects.get(pk=ready_order["id"]).status == "cancelled"


def test_expired_code(staff1, ready_order, rider_code, kind):
    code = rider_code(ready_order["id"])
    HandoffCode.objects.filter(order_id=ready_order["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    refused(staff1, kind, ready_order["pickup_code"], code, status=409, code="expired_code")
    # a code replaced by "New code" on the phone has expired too
    first = rider_code(ready_order["id"])
    rider_code(ready_order["id"])
    refused(staff1, kind, ready_order["pickup_code"], first, status=409, code="expired_code")
    assert Order.objects.get(pk=ready_order["id"]).status == "ready"


def test_lookup_refusals_are_audited(staff1, ready_order, rider_code):
    r = staff1.get("/api/pickup/lookup/?code=999")
    assert r.status_code == 404 and r.json()["code"] == "unknown_code"
    r = staff1.get("/api/pickup/lookup/?rider_code=123456")
    assert r.status_code == 404 and r.json()["code"] == "unknown_code"
    code = rider_code(ready_order["id"])
    HandoffCode.objects.filter(order_id=ready_order["id"]).update(expires_at=timezone.now())
    r = staff1.get(f"/api/pickup/lookup/?rider_code={code}")
    assert r.status_code == 409 and r.json()["code"] == "expired_code"
    lookups = AuditEvent.objects.filter(action="pickup.lookup").order_by("pk")
    assert [(e.data["by"], e.data["result"]) for e in lookups] == [
        ("pickup_number", "unknown_code"), ("rider_code", "unknown_code"), ("rider_code", "expired_code")]


def test_success_is_audited_too(staff1, ready_order, rider_code):
    code = rider_code(ready_order["id"])
    assert staff1.get(f"/api/pickup/lookup/?code={ready_order['pickup_code']}").status_code == 200
    r = staff1.post("/api/pickup/handoff/check/", {"pickup_code": ready_order["pickup_code"], "rider_code": code},
                    format="json")
    assert r.status_code == 200 and r.json()["ok"] is True
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": ready_order["pickup_code"], "rider_code": code},
                    format="json")
    assert r.status_code == 200 and r.json()["status"] == "picked_up"
    actions = list(AuditEvent.objects.filter(order_id=ready_order["id"], action__in=(
        "pickup.lookup", "handoff.checked", "handoff.completed")).order_by("pk").values_list("action", "data"))
    assert actions == [
        ("pickup.lookup", {"store": actions[0][1]["store"], "by": "pickup_number", "result": "found"}),
        ("handoff.checked", {"store": actions[0][1]["store"], "result": "ok"}),
        ("handoff.completed", {"store": actions[0][1]["store"], "rider": Order.objects.get(pk=ready_order["id"]).rider_id}),
    ]
