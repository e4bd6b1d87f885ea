"""One staff account cannot stop every pickup at its store: the counter's failure limit holds per staff
member only; failures piling up across a store's staff alert dispatch instead of refusing valid codes."""

from __future__ import annotations

import pytest

from dispatch.models import Alert, AuditEvent

pytestmark = pytest.mark.django_db


def test_one_clerks_31_failures_do_not_stop_another_clerks_valid_code(staff1, staff1b, ready_order, demo):
    statuses = [staff1.get("/api/pickup/lookup/", {"code": f"9{i:02d}"}).status_code for i in range(31)]
    assert statuses[:30] == [404] * 30 and statuses[30] == 429  # this clerk is over their own limit
    r = staff1b.get("/api/pickup/lookup/", {"code": ready_order["pickup_code"]})
    assert r.status_code == 200, r.content
    assert r.json()["id"] == ready_order["id"]
    # The surge is dispatch's to look at: the store's alert, counted past the limit.
    store = demo["store1"].staff.store_id
    alert = Alert.objects.get(key=f"rate:pickup_failures:store:{store}", acked_at__isnull=True)
    assert alert.detail["surge"] is True and alert.detail["count"] >= 30
    scopes = [e.data["scope"] for e in AuditEvent.objects.filter(action="pickup.rate_limited")]
    assert scopes == ["user"]


def test_the_store_surge_refuses_nobody(staff1, staff1b, ready_order, settings):
    settings.PICKUP_FAILURE_LIMIT = 4
    for i in range(3):
        staff1.get("/api/pickup/lookup/", {"code": f"9{i:02d}"})
        staff1b.get("/api/pickup/lookup/", {"code": f"8{i:02d}"})
    # Six failures at the store, three each: both clerks still answered.
    assert staff1.get("/api/pickup/lookup/", {"code": ready_order["pickup_code"]}).status_code == 200
    assert staff1b.get("/api/pickup/lookup/", {"code": "777"}).status_code == 404
