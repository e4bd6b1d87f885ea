"""The merchant portal: a merchant lands on it, its pages render for the merchant alone, every route of another
merchant's order is a 404, the order view sends the rider's position only as a grid cell while the bag is on the
way (never the door, never a fix), and no page carries PII, inline script or inline style."""

from __future__ import annotations

import io
import json
import re
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from PIL import Image

from dispatch import grid
from dispatch.models import AuditEvent, Order, Store
from dispatch.selectors.portal import RIDER_AREA_MAX_AGE, cell_centre, portal_order
from tests.exits_helpers import pick_up, token_of
from tests.factories import BUILDING, CUSTOMER_NAME, CUSTOMER_PHONE, DOOR, NOTES, PII_STRINGS, STREET, UNIT, delivery_pin_of

pytestmark = pytest.mark.django_db

PAGES = ["/portal/orders/{id}/", "/portal/orders/{id}/label/"]
API = "/api/portal/orders/{id}/"


def browser_for(demo, username: str) -> Client:
    client = Client()
    client.force_login(demo[username])
    return client


def assert_csp_clean(html: str) -> None:
    assert not re.search(r"\sstyle\s*=", html, re.I), "inline style attribute"
    assert "<style" not in html.lower()
    assert not re.search(r"\son[a-z]+\s*=", html, re.I), "inline event handler"
    for tag in re.findall(r"<script\b[^>]*>", html, re.I):
        assert "src=" in tag or 'type="application/json"' in tag, tag


def test_a_merchant_logs_in_and_lands_on_the_portal(demo):
    demo["merchant1"].set_password("pw-for-test-1")
    demo["merchant1"].save()
    response = Client().post("/accounts/login/", {"username": "merchant1", "password": "pw-for-test-1"})
    assert response.status_code == 302
    assert response["Location"] == "/portal/"
    home = browser_for(demo, "merchant1").get("/").content.decode()
    assert 'href="/portal/"' in home


@pytest.mark.parametrize("path", ["/portal/", "/portal/orders/new/"])
def test_the_portal_pages_render_for_a_merchant_with_its_own_stores_only(demo, path):
    r = browser_for(demo, "merchant1").get(path)
    assert r.status_code == 200
    html = r.content.decode()
    assert_csp_clean(html)
    mine = {s.name for s in demo["merchant1"].merchant.stores.all()}
    theirs = {s.name for s in demo["merchant2"].merchant.stores.all()} - mine
    assert mine and theirs
    assert all(name in html for name in mine)
    assert not any(name in html for name in theirs)
    # The nav's slots for the webhooks and reports pages, and a landmark for it.
    assert 'href="/portal/webhooks/"' in html and 'href="/portal/reports/"' in html
    assert "<nav" in html and "<main" in html


@pytest.mark.parametrize("username", ["rider1", "store1", "dispatcher1"])
def test_other_roles_are_told_the_portal_is_not_theirs(demo, username, posted_order):
    client = browser_for(demo, username)
    for path in ["/portal/", "/portal/orders/new/", *(p.format(id=posted_order["id"]) for p in PAGES)]:
        assert client.get(path).status_code == 403, path
    assert client.get(API.format(id=posted_order["id"])).status_code in (403, 404)


def test_anonymous_visitors_are_sent_to_log_in(posted_order):
    for path in ["/portal/", *(p.format(id=posted_order["id"]) for p in PAGES)]:
        r = Client().get(path)
        assert r.status_code == 302 and r["Location"].startswith("/accounts/login/"), path


def test_another_merchant_s_order_is_a_404_on_every_portal_route(demo, posted_order):
    other = browser_for(demo, "merchant2")
    for path in [p.format(id=posted_order["id"]) for p in PAGES]:
        assert other.get(path).status_code == 404, path
    r = other.get(API.format(id=posted_order["id"]))
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    # ... exactly as a missing one answers.
    missing = posted_order["id"] + 1000
    assert other.get(f"/portal/orders/{missing}/").status_code == 404
    assert other.get(API.format(id=missing)).status_code == 404


def test_the_order_page_and_label_show_the_masked_order_and_nothing_of_the_customer(demo, posted_order):
    client = browser_for(demo, "merchant1")
    token = posted_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    for path in [p.format(id=posted_order["id"]) for p in PAGES]:
        r = client.get(path)
        assert r.status_code == 200, path
        html = r.content.decode()
        assert_csp_clean(html)
        for secret in [*PII_STRINGS, CUSTOMER_NAME, CUSTOMER_PHONE, STREET, BUILDING, UNIT, NOTES, token]:
            assert secret not in html, (path, secret)
        assert posted_order["pickup_code"] in html
    label = client.get(f"/portal/orders/{posted_order['id']}/label/").content.decode()
    assert ">Z**<" in label and ">****5678<" in label
    assert 'href="/portal/orders/' in label  # back to the order, not to a counter the merchant cannot open


def test_the_portal_order_view_is_masked_and_has_no_rider_before_pickup(demo, merchant, assigned_order):
    r = merchant.get(API.format(id=assigned_order["id"]))
    assert r.status_code == 200
    body = r.json()
    text = r.content.decode()
    for secret in [*PII_STRINGS, CUSTOMER_NAME, CUSTOMER_PHONE, STREET, BUILDING]:
        assert secret not in text, secret
    assert body["order"]["id"] == assigned_order["id"]
    assert body["order"]["status"] == "assigned"
    assert body["rider_area"] is None  # assigned: the rider is on the way to the store, the merchant sees nothing
    assert [s["status"] for s in body["timeline"]] == ["created", "assigned"]
    store = demo["merchant1"].merchant.stores.get(pk=body["store"]["id"])
    assert (body["store"]["lat"], body["store"]["lng"]) == (store.lat, store.lng)


def _on_the_road(order_id: int, *, lat: float, lng: float, seen_ago: timedelta) -> Order:
    now = timezone.now()
    order = Order.objects.select_related("rider").get(pk=order_id)
    Order.objects.filter(pk=order_id).update(
        status="picked_up", created_at=now - timedelta(minutes=8), assigned_at=now - timedelta(minutes=7),
        ready_at=now - timedelta(minutes=6), picked_up_at=now - timedelta(minutes=5))
    rider = order.rider
    rider.last_lat, rider.last_lng, rider.last_seen_at = lat, lng, now - seen_ago
    rider.save(update_fields=["last_lat", "last_lng", "last_seen_at"])
    return Order.objects.select_related("rider", "store").get(pk=order_id)


def test_on_the_road_the_rider_is_a_grid_cell_never_the_fix_nor_the_door(merchant, assigned_order):
    # The rider stands at the door: the merchant learns the cell's centre, as far from the door as the cell allows.
    _on_the_road(assigned_order["id"], lat=DOOR[0], lng=DOOR[1], seen_ago=timedelta(seconds=30))
    body = merchant.get(API.format(id=assigned_order["id"])).json()
    area = body["rider_area"]
    assert area is not None
    assert (area["lat"], area["lng"]) == cell_centre(*DOOR)
    assert (area["lat"], area["lng"]) != DOOR
    assert grid.cell_of(area["lat"], area["lng"]) == grid.cell_of(*DOOR)  # the same cell: nothing finer
    assert area["at"].endswith(":00+00:00")  # the minute, not the second of the fix
    assert [s["status"] for s in body["timeline"]][-1] == "picked_up"


@pytest.mark.parametrize(("lat", "lng"), [(51.50001, -0.11999), (51.50999, -0.11001), (51.5051, -0.1149)])
def test_every_fix_in_one_cell_reads_the_same(lat, lng):
    assert cell_centre(lat, lng) == cell_centre(51.5055, -0.1155)


def test_a_stale_position_or_a_finished_order_shows_no_rider(demo, merchant, assigned_order):
    order = _on_the_road(assigned_order["id"], lat=DOOR[0], lng=DOOR[1], seen_ago=RIDER_AREA_MAX_AGE + timedelta(seconds=1))
    assert portal_order(order).rider_area is None
    order = _on_the_road(assigned_order["id"], lat=DOOR[0], lng=DOOR[1], seen_ago=timedelta(seconds=5))
    assert portal_order(order).rider_area is not None
    Order.objects.filter(pk=order.pk).update(status="delivered", delivered_at=timezone.now())
    assert merchant.get(API.format(id=order.pk)).json()["rider_area"] is None


def test_the_merchant_cancels_from_the_portal_and_the_timeline_says_so(demo, merchant, posted_order):
    r = merchant.post(f"/api/orders/{posted_order['id']}/cancel/", {"reason": "out_of_stock"}, format="json")
    assert r.status_code == 200
    body = merchant.get(API.format(id=posted_order["id"])).json()
    assert body["order"]["status"] == "cancelled" and body["order"]["cancel_reason"] == "out_of_stock"
    assert [s["status"] for s in body["timeline"]] == ["created", "cancelled"]
    page = browser_for(demo, "merchant1").get(f"/portal/orders/{posted_order['id']}/").content.decode()
    assert 'data-status="cancelled"' in page


def test_the_order_view_takes_a_fixed_number_of_queries(merchant, assigned_order, django_assert_max_num_queries):
    # Two today: the order (with its store and rider) and its items; the timeline and the cell cost none.
    with django_assert_max_num_queries(3):
        assert merchant.get(API.format(id=assigned_order["id"])).status_code == 200


NAV = {"/portal/": ("Orders", "订单"), "/portal/orders/new/": ("New delivery", "新建配送"),
       "/portal/webhooks/": ("Webhooks", "Webhook"), "/portal/reports/": ("Reports", "报表")}


def _nav_links(html: str) -> list[tuple[str, bool, str]]:
    nav = re.search(r'<nav class="portal-nav"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "the portal nav"
    return [(href, bool(current), text.strip()) for href, current, text in
            re.findall(r'<a href="([^"]+)"( aria-current="page")?>([^<]*)</a>', nav.group(1))]


@pytest.mark.parametrize("lang", ["en", "zh-hans"])
def test_every_portal_page_shares_the_nav_with_its_own_page_marked(demo, posted_order, lang):
    client = browser_for(demo, "merchant1")
    client.cookies["django_language"] = lang
    pages = {**{p: p for p in NAV}, f"/portal/orders/{posted_order['id']}/": "/portal/"}
    for path, current in pages.items():
        r = client.get(path, HTTP_ACCEPT_LANGUAGE=lang)
        assert r.status_code == 200, path
        html = r.content.decode()
        assert_csp_clean(html)
        links = _nav_links(html)
        assert [href for href, _, _ in links] == list(NAV), path
        assert [text for _, _, text in links] == [NAV[h][0 if lang == "en" else 1] for h in NAV], path
        assert [href for href, marked, _ in links if marked] == [current], path
        for href, _, _ in links:
            assert client.get(href).status_code == 200, href


def test_a_delivered_order_shows_its_proof_photo_on_request_and_feedback_to_its_merchant_alone(
        demo, merchant, rider1, staff1, assigned_order):
    oid = assigned_order["id"]
    Store.objects.filter(pk=Order.objects.get(pk=oid).store_id).update(pod_policy="pin_photo")
    pick_up(assigned_order, rider1, staff1)
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 10)).save(buf, "JPEG")
    photo = SimpleUploadedFile("door.jpg", buf.getvalue(), content_type="image/jpeg")
    assert rider1.post(f"/api/rider/orders/{oid}/pod-photo/", {"photo": photo}, format="multipart").status_code == 201
    assert rider1.post(f"/api/rider/orders/{oid}/deliver/", {"pin": delivery_pin_of(assigned_order)},
                       format="json").status_code == 200
    text = "Crushed box, call 13812345678"
    r = Client().post(f"/api/track/{token_of(assigned_order)}/feedback/",
                      json.dumps({"rating": 2, "issue": "damaged", "text": text}), content_type="application/json")
    assert r.status_code == 201

    # The page: the two cards and the button, and no photo loaded by itself (each view is audited).
    page = browser_for(demo, "merchant1").get(f"/portal/orders/{oid}/")
    html = page.content.decode()
    assert_csp_clean(html)
    for marker in ['id="pod-card"', 'id="pod-show"', 'id="feedback-card"', "portal/js/order.js"]:
        assert marker in html, marker
    assert "pod/photo/" not in html and "13812345678" not in html
    assert not AuditEvent.objects.filter(order_id=oid, action="pod.photo_viewed").exists()

    # What the page reads once delivered: policy, PIN checked, photo taken, and the feedback masked.
    detail = merchant.get(f"/api/orders/{oid}/").json()
    assert detail["pod"]["policy"] == "pin_photo" and detail["pod"]["pin_checked"] is True
    assert detail["pod"]["photo"] is True and detail["pod"]["id_document"] == ""
    assert detail["feedback"]["rating"] == 2 and detail["feedback"]["issue"] == "damaged"
    assert "13812345678" not in detail["feedback"]["text"] and detail["feedback"]["text"].startswith("Crushed box")
    shot = merchant.get(f"/api/orders/{oid}/pod/photo/")
    assert shot.status_code == 200 and shot["Content-Type"] == "image/jpeg"
    assert AuditEvent.objects.filter(order_id=oid, action="pod.photo_viewed").count() == 1

    # Another merchant: the page, the detail, the proof, the photo and the feedback all answer 404.
    other = browser_for(demo, "merchant2")
    assert other.get(f"/portal/orders/{oid}/").status_code == 404
    for path in ["", "pod/", "pod/photo/", "feedback/"]:
        assert other.get(f"/api/orders/{oid}/{path}").status_code == 404, path
    assert AuditEvent.objects.filter(order_id=oid, action="pod.photo_viewed").count() == 1


def test_an_id_checked_delivery_names_the_kind_of_document_only(demo, merchant, rider1, staff1, assigned_order):
    oid = assigned_order["id"]
    Store.objects.filter(pk=Order.objects.get(pk=oid).store_id).update(pod_policy="id_check")
    pick_up(assigned_order, rider1, staff1)
    r = rider1.post(f"/api/rider/orders/{oid}/deliver/", {"pin": delivery_pin_of(assigned_order), "id_checked": True,
                                                        "id_document": "passport"}, format="json")
    assert r.status_code == 200, r.content
    pod = merchant.get(f"/api/orders/{oid}/").json()["pod"]
    assert (pod["policy"], pod["pin_checked"], pod["id_document"], pod["photo"]) == ("id_check", True, "passport", False)
    assert merchant.get(f"/api/orders/{oid}/").json()["feedback"] is None
