"""The merchant list's server-side search (`GET /api/orders/?q=`): a pickup number exactly (digits alone at each
of the merchant's stores, with the store's letter that one code, as the board's search), or the start of the
merchant's reference; never another merchant's order; bad input is a 400."""

from __future__ import annotations

import pytest

from dispatch.models import Order
from tests.factories import DOOR, StoreFactory, order_payload

pytestmark = pytest.mark.django_db


def _ids(client, query: str) -> list[int]:
    r = client.get("/api/orders/", {"q": query})
    assert r.status_code == 200, r.content
    return [o["id"] for o in r.json()["results"]]


@pytest.fixture
def orders(demo, client_for):
    """merchant1: three orders at its first store, one at its second; merchant2: one, with a clashing reference."""
    m1, m2 = client_for("merchant1"), client_for("merchant2")
    merchant = demo["merchant1"].merchant
    merchant.stores.add(StoreFactory(pickup_prefix="Z", lat=DOOR[0], lng=DOOR[1]))
    stores = list(merchant.stores.order_by("pk"))
    made = {}
    for ref, store in (("POS-1001", stores[0]), ("POS-1002", stores[0]), ("WEB-77", stores[0]),
                       ("POS-2001", stores[1])):
        r = m1.post("/api/orders/", order_payload(external_ref=ref, store=store.pk), format="json")
        assert r.status_code == 201, r.content
        made[ref] = r.json()
    other_store = demo["merchant2"].merchant.stores.order_by("pk").first()
    r = m2.post("/api/orders/", order_payload(external_ref="POS-1009", store=other_store.pk), format="json")
    assert r.status_code == 201, r.content
    made["theirs"] = r.json()
    return m1, m2, made


def test_a_reference_prefix_finds_the_merchant_s_own_orders_newest_first(orders):
    m1, _m2, made = orders
    assert _ids(m1, "POS-100") == [made["POS-1002"]["id"], made["POS-1001"]["id"]]  # not merchant2's POS-1009
    assert _ids(m1, "POS-") == [made["POS-2001"]["id"], made["POS-1002"]["id"], made["POS-1001"]["id"]]
    assert _ids(m1, "WEB-77") == [made["WEB-77"]["id"]]
    assert _ids(m1, "  WEB  ") == [made["WEB-77"]["id"]]  # trimmed
    assert _ids(m1, "OS-1") == []  # a prefix, not anywhere in the reference
    assert _ids(m1, "POS_100") == [] and _ids(m1, "POS%") == []  # LIKE's wildcards are plain characters
    assert len(_ids(m1, "")) == 4  # blank: no search


def test_a_pickup_number_is_matched_exactly_with_or_without_the_store_letter(orders):
    m1, _m2, made = orders
    lettered = made["POS-2001"]  # the store with the prefix Z: its first order is Z1
    assert lettered["pickup_code"] == "Z1"
    assert _ids(m1, "Z1") == [lettered["id"]]
    assert _ids(m1, " z-01 ") == [lettered["id"]]  # as staff type it
    # Digits alone: that number at each of the merchant's stores, as on the board (here Z1 and the other first).
    first = made["POS-1001"]
    assert Order.objects.get(pk=first["id"]).pickup_seq == 1
    assert _ids(m1, "1") == [lettered["id"], first["id"]]
    assert _ids(m1, "#1") == _ids(m1, "1")
    assert _ids(m1, "Z2") == [] and _ids(m1, "Z12") == []  # exact, never a prefix of a longer number
    second = made["POS-1002"]
    assert _ids(m1, second["pickup_code"]) == [second["id"]]


def test_no_search_reaches_another_merchant_s_orders(orders):
    m1, m2, made = orders
    theirs = made["theirs"]
    assert theirs["id"] not in _ids(m1, theirs["pickup_code"])
    assert theirs["id"] not in _ids(m1, "POS-1009")
    assert _ids(m2, "POS-100") == [theirs["id"]]
    assert made["POS-1001"]["id"] not in _ids(m2, made["POS-1001"]["pickup_code"])


def test_the_search_pages_and_combines_with_the_filters(orders):
    m1, _m2, made = orders
    r = m1.get("/api/orders/", {"q": "POS-", "limit": 2})
    page = r.json()
    assert [o["id"] for o in page["results"]] == [made["POS-2001"]["id"], made["POS-1002"]["id"]]
    assert "q=POS-" in page["next"]
    rest = m1.get(page["next"]).json()
    assert [o["id"] for o in rest["results"]] == [made["POS-1001"]["id"]] and rest["next"] is None
    store = Order.objects.get(pk=made["POS-2001"]["id"]).store_id
    r = m1.get("/api/orders/", {"q": "POS-", "store": store})
    assert [o["id"] for o in r.json()["results"]] == [made["POS-2001"]["id"]]
    r = m1.get("/api/orders/", {"q": "POS-", "status": "cancelled"})
    assert r.json()["results"] == []


@pytest.mark.parametrize("query", ["x" * 65, "A\x00B", "POS\u200b1"])
def test_bad_search_input_is_a_400(orders, query):
    m1, _m2, _made = orders
    r = m1.get("/api/orders/", {"q": query})
    assert r.status_code == 400 and r.json()["code"] == "invalid", (query, r.content)
