"""The merchant API end to end: a quote, an order from it, a cancel, each replayed with its Idempotency-Key; the
service area and the scheduled window's refusals; another merchant's orders answer 404 and never list; the list
pages newest first with no duplicates while orders keep coming; a scheduled order's late pickup and its deadline
raise alerts at explicit times."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from dispatch.models import Alert, AuditEvent, IdempotencyKey, Merchant, Order, Quote, Store
from dispatch.services.detectors import late_orders_detect, late_pickups_detect
from dispatch.services.offers import scheduled_dispatch_due
from dispatch.tasks import intake_sweep
from tests.factories import DOOR, PII_STRINGS, order_payload, tracking_token_of

pytestmark = pytest.mark.django_db

FAR = (51.75, -0.45)  # ~35 km from store 1


@pytest.fixture
def store1(demo):
    return Merchant.objects.get(user=demo["merchant1"]).stores.get()


@pytest.fixture
def merchant2(client_for):
    return client_for("merchant2")


def quote(client, **body):
    body.setdefault("customer", {"lat": DOOR[0], "lng": DOOR[1]})
    return client.post("/api/quotes/", body, format="json")


def iso(dt):
    return dt.isoformat()


# --- quote -> order -> cancel, with replays ---------------------------------------------------------------
def test_quote_then_order_then_cancel_each_replayed_by_its_key(merchant, store1):
    q = quote(merchant)
    assert q.status_code == 201, q.content
    body = q.json()
    assert set(body) >= {"id", "fee", "currency", "eta_s", "expires_at", "distance_m"}
    assert str(DOOR[0]) not in q.content.decode() and str(DOOR[1]) not in q.content.decode()
    km = Decimal(-(-body["distance_m"] // 100)) / 10
    assert Decimal(body["fee"]) == (Decimal(settings.QUOTE_BASE_FEE) + Decimal(settings.QUOTE_PER_KM_FEE) * km)
    assert body["currency"] == settings.QUOTE_CURRENCY
    assert 500 < body["distance_m"] < 1500
    assert body["eta_s"] >= settings.QUOTE_PICKUP_S
    row = Quote.objects.get(pk=body["id"])
    assert str(DOOR[0]) not in row.point_digest and "51.50" not in row.point_digest

    payload = order_payload(quote=body["id"])
    first = merchant.post("/api/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert first.status_code == 201, first.content
    replay = merchant.post("/api/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="create-1")
    assert replay.status_code == 201 and replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1
    # What is kept for the replay holds neither the body's PII nor the tracking link in the clear.
    key = IdempotencyKey.objects.get(key="create-1")
    token = tracking_token_of(first.json())
    stored = repr(key.response) + bytes(key.response_sealed).hex() + bytes(key.response_sealed).decode("latin-1")
    assert token not in stored and not any(s in stored for s in PII_STRINGS)
    assert key.request_digest not in repr(payload)

    other = merchant.post("/api/orders/", order_payload(external_ref="X-2"), format="json",
                          HTTP_IDEMPOTENCY_KEY="create-1")
    assert other.status_code == 409 and other.json()["code"] == "idempotency_mismatch"
    again = merchant.post("/api/orders/", payload, format="json", HTTP_IDEMPOTENCY_KEY="create-2")
    assert again.status_code == 409 and again.json()["code"] == "quote_used"

    order_id = first.json()["id"]
    assert Order.objects.get(pk=order_id).quote.pk == body["id"]
    cancel = merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": "customer_request"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert cancel.status_code == 200 and cancel.json() == {"id": order_id, "status": "cancelled"}
    replay = merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": "customer_request"}, format="json",
                           HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert replay.status_code == 200 and replay.json() == cancel.json()
    plain = merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": "customer_request"}, format="json")
    assert plain.status_code == 409 and plain.json()["code"] == "wrong_state"
    mismatch = merchant.post(f"/api/orders/{order_id}/cancel/", {"reason": "other"}, format="json",
                             HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert mismatch.status_code == 409 and mismatch.json()["code"] == "idempotency_mismatch"
    reused = merchant.post("/api/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="cancel-1")
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_mismatch"


def test_keys_are_per_merchant_and_expire(merchant, merchant2, demo):
    a = merchant.post("/api/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    store2 = Merchant.objects.get(user=demo["merchant2"]).stores.get()
    # merchant2's store is elsewhere: a door near it.
    b = merchant2.post("/api/orders/", order_payload(customer={**order_payload()["customer"], "lat": store2.lat,
                                                               "lng": store2.lng}),
                       format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert a.status_code == 201 and b.status_code == 201 and a.json()["id"] != b.json()["id"]
    # Past its life the key is free again: the same request makes a new order, and the sweep deletes old keys.
    IdempotencyKey.objects.filter(key="shared").update(expires_at=timezone.now() - timedelta(seconds=1))
    c = merchant.post("/api/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="shared")
    assert c.status_code == 201 and c.json()["id"] != a.json()["id"] and "Idempotent-Replayed" not in c
    assert intake_sweep()["idempotency_keys"] == 1  # merchant2's
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["shared"]


def test_a_refusal_is_not_kept_and_a_bad_key_is_400(merchant):
    bad = merchant.post("/api/orders/", order_payload(items=[]), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert bad.status_code == 400
    assert not IdempotencyKey.objects.exists()
    ok = merchant.post("/api/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert ok.status_code == 201
    weird = merchant.post("/api/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="a b")
    assert weird.status_code == 400 and weird.json()["code"] == "bad_idempotency_key"


# --- refusals: area, window, store, quote --------------------------------------------------------------------
def test_quote_refusals(merchant, demo):
    now = timezone.now()
    far = quote(merchant, customer={"lat": FAR[0], "lng": FAR[1]})
    assert far.status_code == 400 and far.json()["code"] == "out_of_area"
    past = quote(merchant, pickup_ready_at=iso(now - timedelta(hours=1)))
    assert past.status_code == 400 and past.json()["code"] == "window_in_past"
    window = quote(merchant, pickup_ready_at=iso(now + timedelta(hours=2)),
                   dropoff_deadline=iso(now + timedelta(hours=1)))
    assert window.status_code == 400 and window.json()["code"] == "bad_window"
    store2 = Merchant.objects.get(user=demo["merchant2"]).stores.get()
    theirs = quote(merchant, store=store2.pk)
    assert theirs.status_code == 400 and theirs.json()["code"] == "unknown_store"
    created = merchant.post("/api/orders/", order_payload(store=store2.pk), format="json")
    assert created.status_code == 400 and created.json()["code"] == "unknown_store"  # the same answer
    late = quote(merchant, pickup_ready_at=iso(now + timedelta(days=30)))
    assert late.status_code == 400 and late.json()["code"] == "invalid"
    assert not Quote.objects.exists()


def test_order_refusals_with_and_without_a_quote(merchant, merchant2, store1):
    far = merchant.post("/api/orders/", order_payload(customer={**order_payload()["customer"], "lat": FAR[0],
                                                                "lng": FAR[1]}), format="json")
    assert far.status_code == 400 and far.json()["code"] == "out_of_area"

    q = quote(merchant).json()
    moved = order_payload(quote=q["id"], customer={**order_payload()["customer"], "lat": DOOR[0] + 0.001})
    r = merchant.post("/api/orders/", moved, format="json")
    assert r.status_code == 400 and r.json()["code"] == "quote_mismatch"
    r = merchant2.post("/api/orders/", order_payload(quote=q["id"]), format="json")
    assert r.status_code == 400 and r.json()["code"] == "unknown_quote"
    Quote.objects.filter(pk=q["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    r = merchant.post("/api/orders/", order_payload(quote=q["id"]), format="json")
    assert r.status_code == 400 and r.json()["code"] == "quote_expired"
    assert not Order.objects.exists()

    later = timezone.now() + timedelta(hours=3)
    q2 = quote(merchant, pickup_ready_at=iso(later)).json()
    r = merchant.post("/api/orders/", order_payload(quote=q2["id"], pickup_ready_at=iso(later + timedelta(hours=1))),
                      format="json")
    assert r.status_code == 400 and r.json()["code"] == "quote_mismatch"
    r = merchant.post("/api/orders/", order_payload(quote=q2["id"]), format="json")
    assert r.status_code == 201
    assert Order.objects.get(pk=r.json()["id"]).pickup_ready_at == later  # the quote's window carried over
    assert merchant.get(f"/api/orders/{r.json()['id']}/").json()["pickup_ready_at"] is not None


def test_a_polygon_service_area(merchant, store1):
    d = 0.01
    store1.service_polygon = [[DOOR[0] - d, DOOR[1] - d], [DOOR[0] - d, DOOR[1] + d], [DOOR[0] + d, DOOR[1] + d],
                              [DOOR[0] + d, DOOR[1] - d]]
    store1.save()
    assert quote(merchant).status_code == 201
    outside = quote(merchant, customer={"lat": DOOR[0] + 2 * d, "lng": DOOR[1]})  # 2 km: within the radius
    assert outside.status_code == 400 and outside.json()["code"] == "out_of_area"
    for broken in ([[1, 2], [3, 4]], [[1, 2], [3, "x"], [5, 6]], {"a": 1}, [[True, 1], [2, 3], [4, 5]]):
        store1.service_polygon = broken  # a mistyped polygon: the radius applies
        store1.save()
        assert quote(merchant, customer={"lat": DOOR[0] + 2 * d, "lng": DOOR[1]}).status_code == 201


# --- another merchant's orders --------------------------------------------------------------------------
def test_another_merchants_orders_are_404_and_never_listed(merchant, merchant2, posted_order, store1):
    order_id = posted_order["id"]
    assert merchant2.get(f"/api/orders/{order_id}/").status_code == 404
    r = merchant2.post(f"/api/orders/{order_id}/cancel/", {"reason": "other"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="theirs")
    assert r.status_code == 404 and not IdempotencyKey.objects.exists()
    assert merchant2.get(f"/api/orders/{order_id + 1000}/").status_code == 404  # missing: the same answer
    assert merchant2.get("/api/orders/").json() == {"results": [], "next": None}
    r = merchant2.get(f"/api/orders/?store={store1.pk}")
    assert r.status_code == 400 and r.json()["code"] == "unknown_store"
    mine = merchant.get("/api/orders/").json()["results"]
    assert [o["id"] for o in mine] == [order_id]
    detail = merchant.get(f"/api/orders/{order_id}/").json()
    # Masked exactly like the detail; the detail alone adds how it was delivered and the customer's feedback.
    assert mine[0] == {k: v for k, v in detail.items() if k not in ("pod", "feedback")}
    assert (detail["pod"], detail["feedback"]) == (None, None)
    assert not any(s in merchant.get("/api/orders/").content.decode() for s in PII_STRINGS)


# --- the list -------------------------------------------------------------------------------------------
def test_pages_walk_every_order_once_while_new_ones_arrive(merchant):
    for i in range(7):
        assert merchant.post("/api/orders/", order_payload(external_ref=f"R{i}"), format="json").status_code == 201
    before = set(Order.objects.values_list("pk", flat=True))
    seen: list[int] = []
    url = "/api/orders/?limit=3"
    pages = 0
    while url:
        page = merchant.get(url)
        assert page.status_code == 200, page.content
        body = page.json()
        seen += [o["id"] for o in body["results"]]
        merchant.post("/api/orders/", order_payload(external_ref=f"new{pages}"), format="json")  # meanwhile
        url = body["next"]
        pages += 1
    assert len(seen) == len(set(seen))
    assert set(seen) == before
    assert seen == sorted(seen, reverse=True)
    assert pages == 3


def test_list_filters_and_bad_values(merchant, store1):
    ids = [merchant.post("/api/orders/", order_payload(external_ref=f"F{i}"), format="json").json()["id"]
           for i in range(3)]
    merchant.post(f"/api/orders/{ids[0]}/cancel/", {"reason": "other"}, format="json")

    def got(query):
        r = merchant.get(f"/api/orders/?{query}")
        assert r.status_code == 200, r.content
        return [o["id"] for o in r.json()["results"]]

    assert got("status=cancelled") == [ids[0]]
    assert got("status=created,cancelled") == ids[::-1]
    assert got("external_ref=F1") == [ids[1]]
    assert got(f"store={store1.pk}") == ids[::-1]
    Order.objects.filter(pk=ids[2]).update(created_at=timezone.now() - timedelta(days=2))
    cut = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert got(f"created_before={cut}") == [ids[2]]
    assert got(f"created_after={cut}") == ids[1::-1]
    for query, code in (("status=bogus", "invalid"), ("store=abc", "invalid"), ("limit=0", "invalid"),
                        ("limit=101", "invalid"), ("created_after=yesterday", "invalid"),
                        ("cursor=notacursor", "bad_cursor"), ("store=999999", "unknown_store"),
                        ("q=" + "x" * 65, "invalid"), ("q=A%00B", "invalid")):
        r = merchant.get(f"/api/orders/?{query}")
        assert r.status_code == 400 and r.json()["code"] == code, (query, r.content)


# --- scheduled windows: the promise, late pickups, auto-dispatch waits -----------------------------------
def test_a_scheduled_orders_deadline_is_its_promise_and_a_missed_pickup_raises_late(merchant):
    now = timezone.now()
    ready, deadline = now + timedelta(hours=1), now + timedelta(hours=2)
    r = merchant.post("/api/orders/", order_payload(pickup_ready_at=iso(ready), dropoff_deadline=iso(deadline)),
                      format="json")
    assert r.status_code == 201, r.content
    order = Order.objects.get(pk=r.json()["id"])
    assert order.promised_at == deadline and order.pickup_ready_at == ready
    grace = timedelta(seconds=settings.SCHEDULE_PICKUP_GRACE_S)
    assert late_pickups_detect(now=ready + grace - timedelta(seconds=1)) == 0
    assert late_orders_detect(now=ready + grace) == 0  # not late against the deadline yet
    assert late_pickups_detect(now=ready + grace + timedelta(seconds=1)) == 1
    alert = Alert.objects.get(kind="late", order=order)
    assert alert.detail["what"] == "pickup" and alert.detail["status"] == "created"
    assert late_orders_detect(now=deadline + timedelta(seconds=1)) == 1
    assert Alert.objects.filter(kind="late", order=order).count() == 2


def test_a_ready_time_without_a_deadline_moves_the_default_promise(merchant):
    ready = timezone.now() + timedelta(hours=3)
    r = merchant.post("/api/orders/", order_payload(pickup_ready_at=iso(ready)), format="json")
    order = Order.objects.get(pk=r.json()["id"])
    assert order.promised_at == ready + timedelta(seconds=settings.ORDER_PROMISE_S)
    assert late_orders_detect(now=ready) == 0


def test_auto_dispatch_waits_for_a_scheduled_orders_ready_time(merchant, store1):
    Store.objects.filter(pk=store1.pk).update(auto_dispatch=True)
    ready = timezone.now() + timedelta(hours=2)
    r = merchant.post("/api/orders/", order_payload(pickup_ready_at=iso(ready)), format="json")
    order_id = r.json()["id"]
    started = AuditEvent.objects.filter(order_id=order_id, action="dispatch.auto.started")
    assert not started.exists()
    lead = timedelta(seconds=settings.SCHEDULE_OFFER_LEAD_S)
    assert scheduled_dispatch_due(now=ready - lead - timedelta(seconds=1)) == 0
    assert scheduled_dispatch_due(now=ready - lead + timedelta(seconds=1)) == 1
    assert started.count() == 1
    assert scheduled_dispatch_due(now=ready) == 0  # once
    now_order = merchant.post("/api/orders/", order_payload(), format="json").json()["id"]
    assert AuditEvent.objects.filter(order_id=now_order, action="dispatch.auto.started").exists()


def test_shredding_an_order_drops_its_kept_answer_and_its_quotes_door_digest(merchant):
    from dispatch.services.privacy import order_shred

    q = quote(merchant).json()
    r = merchant.post("/api/orders/", order_payload(quote=q["id"]), format="json", HTTP_IDEMPOTENCY_KEY="s1")
    order = Order.objects.get(pk=r.json()["id"])
    assert IdempotencyKey.objects.filter(order=order).exists() and Quote.objects.get(pk=q["id"]).point_digest
    order_shred(order=order)
    assert not IdempotencyKey.objects.filter(order=order).exists()
    assert Quote.objects.get(pk=q["id"]).point_digest == ""


def test_the_documented_price_and_eta(store1):
    from dispatch.services.quotes import price

    now = timezone.now()
    north = 2000 / 111_195  # 2.0 km due north, in degrees of latitude
    p = price(store=store1, lat=store1.lat + north, lng=store1.lng, pickup_ready_at=None, now=now)
    assert p.distance_m == 2000 and p.fee == Decimal("4.10") and p.currency == "GBP"
    assert p.eta_s == round(600 + 2000 * 1.3 / 4.5)
    later = price(store=store1, lat=store1.lat + north, lng=store1.lng, pickup_ready_at=now + timedelta(hours=1),
                  now=now)
    assert later.eta_s == p.eta_s + 3600


def test_the_schema_documents_the_key_header_and_the_page(merchant):
    from drf_spectacular.generators import SchemaGenerator

    spec = SchemaGenerator().get_schema(request=None, public=True)
    for path in ("/api/orders/", "/api/orders/{order_id}/cancel/"):
        headers = [p for p in spec["paths"][path]["post"]["parameters"] if p["in"] == "header"]
        assert [h["name"] for h in headers] == ["Idempotency-Key"], path
    listing = spec["paths"]["/api/orders/"]["get"]
    assert {p["name"] for p in listing["parameters"]} >= {"status", "store", "cursor", "limit", "created_after",
                                                          "created_before", "external_ref", "q"}
    page = listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(spec["components"]["schemas"][page]["properties"]) == {"results", "next"}
    assert "201" in spec["paths"]["/api/quotes/"]["post"]["responses"]


def test_the_list_costs_the_same_queries_for_3_orders_or_9(merchant):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def cost():
        with CaptureQueriesContext(connection) as ctx:
            assert merchant.get("/api/orders/").status_code == 200
        return len(ctx.captured_queries)

    for i in range(3):
        merchant.post("/api/orders/", order_payload(external_ref=f"Q{i}"), format="json")
    few = cost()
    for i in range(6):
        merchant.post("/api/orders/", order_payload(external_ref=f"Q{i + 3}"), format="json")
    assert cost() == few
    assert few <= 6


def test_a_concurrent_first_use_of_a_key_rolls_back_and_replays_the_winner(merchant, monkeypatch):
    """The race, made deterministic: the other request committed its answer after this one looked and found
    nothing. This one's insert fails on the unique key, its order rolls back, and it answers with the other's."""
    from dispatch.services import intake

    winner = merchant.post("/api/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="race")
    lookups = []
    real = intake._key_row

    def late_look(**kw):
        lookups.append(kw["key"])
        return None if len(lookups) == 1 else real(**kw)

    monkeypatch.setattr(intake, "_key_row", late_look)
    loser = merchant.post("/api/orders/", order_payload(), format="json", HTTP_IDEMPOTENCY_KEY="race")
    assert lookups == ["race", "race"]
    assert loser.status_code == 201 and loser.json() == winner.json() and loser["Idempotent-Replayed"] == "true"
    assert Order.objects.count() == 1


def test_the_board_counts_a_scheduled_order_from_its_ready_time(merchant, dispatcher, demo):
    now = timezone.now()
    ready, deadline = now + timedelta(hours=2), now + timedelta(hours=3)
    oid = merchant.post("/api/orders/", order_payload(pickup_ready_at=iso(ready), dropoff_deadline=iso(deadline)),
                        format="json").json()["id"]
    from dispatch.selectors.board import order_due_at

    order = Order.objects.get(pk=oid)
    lead = timedelta(seconds=settings.SCHEDULE_OFFER_LEAD_S)
    assert order_due_at(order) == ready - lead + timedelta(minutes=settings.ORDER_ASSIGN_DUE_MIN)
    row = next(o for o in dispatcher.get("/api/dispatch/orders/").json() if o["id"] == oid)
    assert row["late"] is False and row["pickup_ready_at"] and row["dropoff_deadline"]
    dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": demo["rider1"].rider.pk}, format="json")
    assert order_due_at(Order.objects.get(pk=oid)) == deadline
