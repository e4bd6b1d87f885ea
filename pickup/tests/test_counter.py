"""The counter's happy paths and their edges: lookups, the dry run, handoff history and undo, the
packing list, the queue with a coarse rider ETA, and the rider's own pickup-number check."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch.models import AuditEvent, Event, HandoffCode, Order, Rider, Store
from dispatch.services.counter import pickup_code_check, rider_eta
from tests.factories import PII_STRINGS, SENSITIVE_ITEM

pytestmark = pytest.mark.django_db


def handoff(client, order, code, path="/api/pickup/handoff/"):
    return client.post(path, {"pickup_code": order["pickup_code"], "rider_code": code}, format="json")


# --- Lookup -------------------------------------------------------------------------------------
def test_lookup_accepts_what_people_type(staff1, ready_order):
    code = ready_order["pickup_code"]
    for typed in (code, f" {code} ", f"0{code}", f"#{code}", f"00{code}"):
        r = staff1.get("/api/pickup/lookup/", {"code": typed})
        assert r.status_code == 200, (typed, r.content)
        assert r.json()["id"] == ready_order["id"]
        assert r["Cache-Control"] == "no-store"


def test_lookup_with_a_store_prefix(client_for, demo, merchant):
    store = Store.objects.get(pk=demo["store2"].staff.store_id)
    assert store.pickup_prefix == "B"
    demo["merchant1"].merchant.stores.add(store)
    from tests.factories import order_payload

    r = merchant.post("/api/orders/", order_payload(store=store.pk), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["pickup_code"] == "B1"
    staff2 = client_for("store2")
    for typed in ("B1", "b1", "b 01", "B-1"):
        assert staff2.get("/api/pickup/lookup/", {"code": typed}).json()["pickup_code"] == "B1", typed


def test_bad_lookup_input_is_400(staff1):
    for query in ({}, {"code": ""}, {"code": "hello"}, {"code": "A" * 13}, {"rider_code": "12"},
                  {"code": "27", "rider_code": "123456"}):
        r = staff1.get("/api/pickup/lookup/", query)
        assert r.status_code == 400, (query, r.content)
        assert r.json()["code"] == "invalid"


def test_lookup_by_the_rider_code_finds_the_bag(staff1, client_for, ready_order, rider_code):
    code = rider_code(ready_order["id"])
    r = staff1.get("/api/pickup/lookup/", {"rider_code": code})
    assert r.status_code == 200
    assert r.json()["id"] == ready_order["id"]
    # The code is for a bag of store 1: store 2 learns nothing.
    r = client_for("store2").get("/api/pickup/lookup/", {"rider_code": code})
    assert r.status_code == 404 and r.json()["code"] == "unknown_code"
    assert HandoffCode.objects.get(order_id=ready_order["id"]).used_at is None


def test_the_dry_run_consumes_nothing(staff1, ready_order, rider_code):
    code = rider_code(ready_order["id"])
    r = handoff(staff1, ready_order, code, "/api/pickup/handoff/check/")
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    assert body["detail"] == f"Ravi K. may take bag {ready_order['pickup_code']}."
    assert body["order"]["status"] == "ready"
    assert Order.objects.get(pk=ready_order["id"]).status == "ready"
    assert handoff(staff1, ready_order, code).json()["status"] == "picked_up"


def test_yesterdays_open_bag_is_still_found_after_the_rollover(staff1, ready_order):
    order = Order.objects.get(pk=ready_order["id"])
    Order.objects.filter(pk=order.pk).update(business_date=order.business_date - timedelta(days=1))
    assert staff1.get("/api/pickup/lookup/", {"code": order.pickup_code}).json()["id"] == order.pk
    Order.objects.filter(pk=order.pk).update(business_date=order.business_date - timedelta(days=2))
    assert staff1.get("/api/pickup/lookup/", {"code": order.pickup_code}).status_code == 404


# --- History and undo ---------------------------------------------------------------------------
def test_history_and_undo_within_the_minute(staff1, ready_order, rider_code, demo):
    assert handoff(staff1, ready_order, rider_code(ready_order["id"])).status_code == 200
    history = staff1.get("/api/pickup/handoffs/").json()
    assert len(history) == 1
    entry = history[0]
    assert entry["order"] == ready_order["id"]
    assert entry["pickup_code"] == ready_order["pickup_code"]
    assert entry["by"] == "store1"
    assert entry["rider"]["name"] == "Ravi K."
    assert entry["undone"] is False and entry["undo_until"]

    events_before = Event.objects.count()
    r = staff1.post(f"/api/pickup/orders/{ready_order['id']}/undo-handoff/")
    assert r.status_code == 200, r.content
    assert r.json()["status"] == "ready"
    order = Order.objects.get(pk=ready_order["id"])
    assert order.status == "ready" and order.picked_up_at is None
    undone = AuditEvent.objects.get(action="handoff.undone")
    assert undone.actor == demo["store1"] and undone.order_id == order.pk
    # Every party hears of it (the rider's screen shows the pickup step again).
    told = Event.objects.filter(pk__gt=0).order_by("pk")[events_before:]
    assert {e.group for e in told} >= {f"store.{order.store_id}", f"rider.{order.rider_id}", "dispatch"}
    assert all(e.payload["status"] == "ready" for e in told)

    entry = staff1.get("/api/pickup/handoffs/").json()[0]
    assert entry["undone"] is True and entry["undone_by"] == "store1" and entry["undo_until"] is None
    # Twice is refused; a fresh code hands it over again.
    r = staff1.post(f"/api/pickup/orders/{ready_order['id']}/undo-handoff/")
    assert r.status_code == 409 and r.json()["code"] == "not_picked_up"
    assert handoff(staff1, ready_order, rider_code(ready_order["id"])).status_code == 200
    history = staff1.get("/api/pickup/handoffs/").json()
    assert [h["undone"] for h in history] == [False, True]


def test_undo_after_the_minute_is_refused(staff1, ready_order, rider_code):
    assert handoff(staff1, ready_order, rider_code(ready_order["id"])).status_code == 200
    Order.objects.filter(pk=ready_order["id"]).update(picked_up_at=timezone.now() - timedelta(seconds=61))
    r = staff1.post(f"/api/pickup/orders/{ready_order['id']}/undo-handoff/")
    assert r.status_code == 409 and r.json()["code"] == "undo_expired"
    assert staff1.get("/api/pickup/handoffs/").json()[0]["undo_until"] is None
    assert Order.objects.get(pk=ready_order["id"]).status == "picked_up"


def test_undo_is_for_this_store_only(client_for, staff1, ready_order, rider_code):
    assert handoff(staff1, ready_order, rider_code(ready_order["id"])).status_code == 200
    assert client_for("store2").post(f"/api/pickup/orders/{ready_order['id']}/undo-handoff/").status_code == 404
    assert client_for("store2").get("/api/pickup/handoffs/").json() == []
    assert client_for("rider1").post(f"/api/pickup/orders/{ready_order['id']}/undo-handoff/").status_code == 403
    assert Order.objects.get(pk=ready_order["id"]).status == "picked_up"


# --- Packing -------------------------------------------------------------------------------------
def test_packing_reveals_sealed_names_on_demand_and_audits_it(staff1, client_for, ready_order, demo):
    queue = staff1.get("/api/pickup/orders/")
    assert SENSITIVE_ITEM not in queue.content.decode()
    r = staff1.get(f"/api/pickup/orders/{ready_order['id']}/packing/")
    assert r.status_code == 200
    assert r["Cache-Control"] == "no-store"
    assert r.json()["lines"] == [
        {"name": "Plasters", "qty": 2, "sensitive": False, "category": ""},
        {"name": SENSITIVE_ITEM, "qty": 1, "sensitive": True, "category": "pharmacy"},
    ]
    read = AuditEvent.objects.get(action="items.read")
    assert read.actor == demo["store1"] and read.data == {"purpose": "packing"}
    assert client_for("store2").get(f"/api/pickup/orders/{ready_order['id']}/packing/").status_code == 404
    assert client_for("rider1").get(f"/api/pickup/orders/{ready_order['id']}/packing/").status_code == 403


def test_packing_names_stay_sealed_once_the_bag_is_gone(staff1, ready_order, rider_code):
    assert handoff(staff1, ready_order, rider_code(ready_order["id"])).status_code == 200
    r = staff1.get(f"/api/pickup/orders/{ready_order['id']}/packing/")
    assert r.status_code == 409 and r.json()["code"] == "not_packing"
    assert not AuditEvent.objects.filter(action="items.read").exists()


# --- The queue -----------------------------------------------------------------------------------
def test_queue_has_a_coarse_eta_and_never_a_position(staff1, ready_order, demo):
    store = Store.objects.get(pk=demo["store1"].staff.store_id)
    rider = Rider.objects.get(user=demo["rider1"])
    (order,) = staff1.get("/api/pickup/orders/").json()
    assert order["eta"] == {"minutes": None, "label": "no location from the rider yet"}
    lat = store.lat + 1200 / 111_195  # 1.2 km north of the store
    Rider.objects.filter(pk=rider.pk).update(last_lat=lat, last_lng=store.lng, last_seen_at=timezone.now())
    r = staff1.get("/api/pickup/orders/")
    (order,) = r.json()
    assert order["eta"] == {"minutes": 5, "label": "arriving in ~5 min"}
    text = r.content.decode()
    assert f"{lat:.4f}"[:7] not in text and "last_lat" not in text and "distance" not in text
    assert not any(s in text for s in PII_STRINGS)
    assert set(order) >= {"id", "status", "pickup_code", "items", "customer", "rider", "eta", "age_s", "label_url"}
    assert "area" not in order and "approx" not in order


def test_eta_buckets():
    store = Store(lat=51.5, lng=-0.12)
    now = timezone.now()

    def eta(metres, age_s=10, status="assigned"):
        rider = Rider(last_lat=51.5 + metres / 111_195, last_lng=-0.12, last_seen_at=now - timedelta(seconds=age_s))
        return rider_eta(order=Order(store=store, rider=rider, status=status), now=now)

    assert eta(50).label == "at the store"
    assert eta(200).label == "arriving in ~1 min"
    assert eta(1000).label == "arriving in ~4 min"
    assert eta(2000).label == "arriving in ~10 min"
    assert eta(5000).label == "arriving in ~20 min" and eta(5000).minutes == 20
    assert eta(20000).label == "more than 30 min away"
    assert eta(1000, age_s=600).label == "rider location not recent"
    assert eta(1000, status="picked_up") is None


def test_queue_query_count_does_not_grow_with_orders(staff1, new_order, demo):
    rider = Rider.objects.get(user=demo["rider1"])
    Rider.objects.filter(pk=rider.pk).update(last_lat=51.51, last_lng=-0.12, last_seen_at=timezone.now())
    new_order()
    new_order(rider=None)
    with CaptureQueriesContext(connection) as two:
        assert len(staff1.get("/api/pickup/orders/").json()) == 2
    for _ in range(4):
        new_order()
    with CaptureQueriesContext(connection) as six:
        assert len(staff1.get("/api/pickup/orders/").json()) == 6
    assert len(six) == len(two) <= 6, [q["sql"] for q in six]


def test_history_query_count_does_not_grow(staff1, new_order, rider_code):
    def hand_over():
        order = new_order()
        staff1.post(f"/api/pickup/orders/{order['id']}/ready/")
        assert handoff(staff1, order, rider_code(order["id"])).status_code == 200

    hand_over()
    with CaptureQueriesContext(connection) as one:
        assert len(staff1.get("/api/pickup/handoffs/").json()) == 1
    for _ in range(3):
        hand_over()
    with CaptureQueriesContext(connection) as four:
        assert len(staff1.get("/api/pickup/handoffs/").json()) == 4
    assert len(four) == len(one)


# --- The rider at the store -------------------------------------------------------------------
def test_pickup_code_check_tells_a_rider_only_about_their_own_bag(new_order, demo):
    mine = new_order()
    theirs = new_order(rider="rider2")
    store_id = Order.objects.get(pk=mine["id"]).store_id
    rider1, rider2 = demo["rider1"].rider, demo["rider2"].rider
    result = pickup_code_check(rider=rider1, store_id=store_id, code=f" {mine['pickup_code']} ")
    assert result == {"mine": True, "order": mine["id"], "pickup_code": mine["pickup_code"], "status": "assigned"}
    # Another rider's bag, a missing number, a bad number and a wrong store all look the same.
    for store, code in ((store_id, theirs["pickup_code"]), (store_id, "999"), (store_id, "??"), (9999, mine["pickup_code"])):
        assert pickup_code_check(rider=rider1, store_id=store, code=code) == {"mine": False}
    assert pickup_code_check(rider=rider2, store_id=store_id, code=theirs["pickup_code"])["mine"] is True
    assert json.dumps(pickup_code_check(rider=rider2, store_id=store_id, code=mine["pickup_code"])) == '{"mine": false}'
