"""Failed lookups and handoff attempts are limited per staff member (429 `rate_limited`), and repeated
failures at a store raise one alert on the dispatcher's screen (never a refusal of the store's other staff)."""

from __future__ import annotations

import pytest

from dispatch.models import AuditEvent, Event
from dispatch.services import counter

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def low_limits(settings):
    settings.PICKUP_FAILURE_LIMIT = 4
    settings.PICKUP_ALERT_AFTER = 3


@pytest.fixture
def clock(monkeypatch):
    """Move the limiter's clock by hand."""
    now = {"t": 1_800_000_000.0 + 10}
    monkeypatch.setattr(counter.time, "time", lambda: now["t"])
    return now


def bad_lookup(client):
    return client.get("/api/pickup/lookup/?code=999")


def alerts():
    return list(Event.objects.filter(group="dispatch", type="alert").values_list("payload", flat=True))


def test_a_staff_member_is_limited_after_the_failure_limit(staff1, ready_order, rider_code, demo, clock):
    store_id = demo["store1"].staff.store_id
    for _ in range(4):
        assert bad_lookup(staff1).status_code == 404
    r = bad_lookup(staff1)
    assert r.status_code == 429
    assert r.json()["code"] == "rate_limited"
    assert "Wait a minute" in r.json()["detail"]
    # Past the limit even a right number and a right code wait: nothing is looked up or released.
    assert staff1.get(f"/api/pickup/lookup/?code={ready_order['pickup_code']}").status_code == 429
    r = staff1.post("/api/pickup/handoff/", {"pickup_code": ready_order["pickup_code"],
                                             "rider_code": rider_code(ready_order["id"])}, format="json")
    assert r.status_code == 429 and r.json()["code"] == "rate_limited"
    limited = AuditEvent.objects.filter(action="pickup.rate_limited")
    assert [e.data["attempt"] for e in limited] == ["lookup", "lookup", "handoff"]
    assert all(e.data["store"] == store_id for e in limited)
    # One alert for the store at the alert threshold, told once more at the surge (not one per failure).
    alert, surge = [a["alert"] for a in alerts()]
    assert (alert["kind"], alert["store"], alert["detail"]["what"], alert["detail"]["count"]) == (
        "rate", store_id, "pickup_failures", 3)
    assert (surge["id"], surge["detail"]["count"], surge["detail"]["surge"]) == (alert["id"], 4, True)


def test_the_limit_slides_with_the_minute(staff1, clock):
    for _ in range(4):
        assert bad_lookup(staff1).status_code == 404
    assert bad_lookup(staff1).status_code == 429
    clock["t"] += 45  # still within a minute of most failures
    assert bad_lookup(staff1).status_code == 429
    clock["t"] += 75  # two minutes on: the counter is free again
    assert bad_lookup(staff1).status_code == 404


def test_the_limit_is_per_staff_member_and_the_store_count_only_alerts(staff1, staff1b, client_for, demo, clock):
    for _ in range(2):
        assert bad_lookup(staff1).status_code == 404
    for _ in range(2):
        assert staff1b.post("/api/pickup/handoff/", {"pickup_code": "998", "rider_code": "123456"},
                            format="json").status_code == 404
    assert staff1b.get("/api/pickup/lookup/?code=997").status_code == 404  # 3 of their own, 5 at the store
    assert bad_lookup(staff1).status_code == 404
    assert bad_lookup(staff1).status_code == 404  # staff1's fourth
    assert bad_lookup(staff1).status_code == 429  # over staff1's own limit
    assert bad_lookup(client_for("store2")).status_code == 404
    scopes = list(AuditEvent.objects.filter(action="pickup.rate_limited").values_list("data", flat=True))
    assert [s["scope"] for s in scopes] == ["user"]
    assert alerts()[-1]["alert"]["detail"]["surge"] is True


def test_refusals_of_the_dry_run_count_too(staff1, ready_order, clock):
    for _ in range(4):
        r = staff1.post("/api/pickup/handoff/check/", {"pickup_code": ready_order["pickup_code"], "rider_code": "000000"},
                        format="json")
        assert r.status_code == 409 and r.json()["code"] == "wrong_rider"
    r = staff1.post("/api/pickup/handoff/check/", {"pickup_code": ready_order["pickup_code"], "rider_code": "000000"},
                    format="json")
    assert r.status_code == 429


def test_successes_and_bad_input_do_not_count(staff1, ready_order, demo, clock):
    for _ in range(10):
        assert staff1.get(f"/api/pickup/lookup/?code={ready_order['pickup_code']}").status_code == 200
        assert staff1.get("/api/pickup/lookup/?code=not-a-number").status_code == 400
    assert counter.failures(scope="user", ident=demo["store1"].pk) == 0
    assert counter.failures(scope="store", ident=demo["store1"].staff.store_id) == 0
    assert alerts() == []


def test_the_alert_repeats_at_most_once_a_minute(staff1, staff1b, demo, clock, settings):
    settings.PICKUP_FAILURE_LIMIT = 10
    for _ in range(3):
        bad_lookup(staff1)
    bad_lookup(staff1b)
    assert len(alerts()) == 1
    clock["t"] += 30
    bad_lookup(staff1b)  # 5 failures in the minute: still the one alert
    assert len(alerts()) == 1
    clock["t"] += 31
    bad_lookup(staff1b)
    bad_lookup(staff1b)  # a minute after the first alert the store is over the threshold again: a second alert
    # the failures of 30 s ago and these two; none of 61 s ago. One alert row, raised twice while open.
    assert [a["alert"]["detail"]["count"] for a in alerts()] == [3, 3]
    assert [a["alert"]["count"] for a in alerts()] == [1, 2]
    assert AuditEvent.objects.filter(action="pickup.alert").count() == 2


def test_a_burst_across_a_minute_boundary_is_counted_whole(staff1, clock):
    clock["t"] = 1_800_000_000.0 + 55  # 5 s before the minute turns
    for _ in range(2):
        assert bad_lookup(staff1).status_code == 404
    clock["t"] += 10
    for _ in range(2):
        assert bad_lookup(staff1).status_code == 404
    assert bad_lookup(staff1).status_code == 429
