"""Offers: the dispatcher offers an order, the rider sees the job (never the customer), accepts or declines before
the deadline; another rider's offer is 404, an expired one 409 `offer_expired`; the rider's socket hears
`offer.new` and `offer.closed`."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone

from dispatch.models import AuditEvent, Grant, Offer, Order, Store
from dispatch.services.offers import offer_make, offers_expire_due
from tests.factories import PII_STRINGS, order_payload
from tests.test_websockets import ck, connect, drain  # noqa: F401 - ck is a fixture

pytestmark = pytest.mark.django_db


def no_pii(body) -> None:
    text = json.dumps(body)
    for s in PII_STRINGS:
        assert s not in text, f"leaked {s!r}"


def _offer(dispatcher, order_id: int, rider_id: int):
    return dispatcher.post(f"/api/dispatch/orders/{order_id}/offer/", {"rider": rider_id}, format="json")


def test_offer_accept_assigns_and_the_job_shows_no_customer(posted_order, dispatcher, rider1, demo):
    rider = demo["rider1"].rider
    rider.last_lat, rider.last_lng = 51.5100, -0.1300  # about 300 m from store 1
    rider.save()
    Store.objects.filter(orders__pk=posted_order["id"]).update(offer_pay="4.50")
    r = _offer(dispatcher, posted_order["id"], rider.pk)
    assert r.status_code == 201, r.content
    made = r.json()
    assert (made["rider"], made["status"], made["auto"]) == (rider.pk, "open", False)
    assert Order.objects.get(pk=posted_order["id"]).status == "offered"
    assert not Grant.objects.filter(order_id=posted_order["id"]).exists()  # no address before accepting
    assert rider1.get(f"/api/rider/orders/{posted_order['id']}/").status_code == 404

    offers = rider1.get("/api/rider/offers/").json()
    assert len(offers) == 1
    job = offers[0]
    no_pii(job)
    assert job["store"]["name"] == "Green Cross Pharmacy" and job["area"] == "Westminster"
    assert job["items"] == 3 and job["pay"] == {"amount": "4.50", "currency": "GBP"}
    assert 200 < job["pickup_distance_m"] < 500
    assert job["trip_distance_m"] % 500 == 0 and job["order"] is None
    assert 40 <= job["expires_in_s"] <= 45

    r = rider1.post(f"/api/rider/offers/{job['id']}/accept/")
    assert r.status_code == 200, r.content
    assert (r.json()["status"], r.json()["order"]) == ("accepted", posted_order["id"])
    order = Order.objects.get(pk=posted_order["id"])
    assert (order.status, order.rider_id) == ("assigned", rider.pk)
    assert rider1.get(f"/api/rider/orders/{order.pk}/").status_code == 200
    assert rider1.get("/api/rider/offers/").json() == []
    again = rider1.post(f"/api/rider/offers/{job['id']}/accept/")
    assert (again.status_code, again.json()["code"]) == (409, "offer_closed")
    actions = [a for a in AuditEvent.objects.filter(order=order).values_list("action", flat=True)
               if a.startswith(("offer.", "order."))]
    assert actions == ["order.created", "offer.made", "offer.accepted", "order.assigned"]


def test_decline_puts_the_order_back_and_another_riders_offer_is_404(posted_order, dispatcher, client_for, demo):
    rider1, rider2 = demo["rider1"].rider, demo["rider2"].rider
    offer_id = _offer(dispatcher, posted_order["id"], rider1.pk).json()["id"]
    other = client_for("rider2")
    for verb in ("accept", "decline"):
        r = other.post(f"/api/rider/offers/{offer_id}/{verb}/")
        assert (r.status_code, r.json()["code"]) == (404, "not_found")
    assert other.get("/api/rider/offers/").json() == []
    assert client_for("store1").post(f"/api/rider/offers/{offer_id}/accept/").status_code == 403

    r = client_for("rider1").post(f"/api/rider/offers/{offer_id}/decline/")
    assert (r.status_code, r.json()["status"]) == (200, "declined")
    assert Order.objects.get(pk=posted_order["id"]).status == "created"
    # A dispatcher's offer is not chained: the order waits on the board; a new offer replaces nothing open.
    second = _offer(dispatcher, posted_order["id"], rider2.pk).json()["id"]
    third = _offer(dispatcher, posted_order["id"], rider1.pk).json()["id"]  # replaces rider2's
    assert Offer.objects.get(pk=second).status == "withdrawn"
    assert other.post(f"/api/rider/offers/{second}/accept/").json()["code"] == "offer_closed"
    # A direct assignment overrides the open offer.
    dispatcher.post(f"/api/dispatch/orders/{posted_order['id']}/assign/", {"rider": rider2.pk}, format="json")
    assert Offer.objects.get(pk=third).status == "withdrawn"
    r = _offer(dispatcher, posted_order["id"], rider1.pk)
    assert (r.status_code, r.json()["code"]) == (409, "wrong_state")


def test_expired_offer_is_409_and_the_order_waits_again(posted_order, demo, client_for):
    rider = demo["rider1"].rider
    then = timezone.now() - timedelta(seconds=60)
    order = Order.objects.get(pk=posted_order["id"])
    offer = offer_make(order=order, rider_id=rider.pk, now=then)  # expired 15 s ago
    assert client_for("rider1").get("/api/rider/offers/").json() == []
    r = client_for("rider1").post(f"/api/rider/offers/{offer.pk}/accept/")
    assert (r.status_code, r.json()["code"]) == (409, "offer_expired")
    offer.refresh_from_db()
    order.refresh_from_db()
    assert (offer.status, order.status, order.rider_id) == ("expired", "created", None)
    r = client_for("rider1").post(f"/api/rider/offers/{offer.pk}/decline/")
    assert (r.status_code, r.json()["code"]) == (409, "offer_expired")
    assert AuditEvent.objects.filter(order=order, action="offer.expired").count() == 1


def test_the_sweep_expires_what_no_countdown_did_and_cancel_withdraws(posted_order, merchant, demo):
    order = Order.objects.get(pk=posted_order["id"])
    offer_make(order=order, rider_id=demo["rider1"].rider.pk, now=timezone.now() - timedelta(seconds=50))
    assert offers_expire_due() == 1 and offers_expire_due() == 0
    order.refresh_from_db()
    offer = offer_make(order=order, rider_id=demo["rider2"].rider.pk)
    assert merchant.post(f"/api/orders/{order.pk}/cancel/", {"reason": "out_of_stock"}, format="json").status_code == 200
    offer.refresh_from_db()
    assert offer.status == "withdrawn"


def test_offer_refusals(posted_order, dispatcher, demo, client_for):
    rider = demo["rider1"].rider
    assert _offer(dispatcher, posted_order["id"], 999999).json()["code"] == "unknown_rider"
    assert _offer(dispatcher, posted_order["id"], "x").status_code == 400
    assert _offer(dispatcher, 999999, rider.pk).status_code == 404
    assert client_for("rider1").post(f"/api/dispatch/orders/{posted_order['id']}/offer/", {"rider": rider.pk},
                                     format="json").status_code == 403
    rider.on_duty = False
    rider.save()
    r = _offer(dispatcher, posted_order["id"], rider.pk)
    assert (r.status_code, r.json()["code"]) == (409, "rider_off_duty")
    # A merchant's own rider gets only that merchant's orders.
    other = Store.objects.get(name="Noodle Bar Central").merchants.first()
    r2 = demo["rider2"].rider
    r2.fleet = other
    r2.save()
    r = _offer(dispatcher, posted_order["id"], r2.pk)
    assert (r.status_code, r.json()["code"]) == (409, "wrong_fleet")


@pytest.mark.django_db(transaction=True)
def test_the_rider_socket_hears_offer_new_and_offer_closed_and_nobody_else_does(demo, ck, merchant,  # noqa: F811
                                                                                dispatcher, client_for):
    rider1 = demo["rider1"].rider

    async def scenario():
        c1, ok1, _ = await connect("/ws/rider/", ck["rider1"])
        c2, ok2, _ = await connect("/ws/rider/", ck["rider2"])
        assert ok1 and ok2
        post = await sync_to_async(merchant.post)("/api/orders/", order_payload(), format="json")
        order_id = post.json()["id"]
        made = await sync_to_async(_offer)(dispatcher, order_id, rider1.pk)
        frames1 = await drain(c1, 0.3)
        new = [f for f in frames1 if f["type"] == "offer.new"]
        assert len(new) == 1 and new[0]["offer"] == made.json()["id"] and new[0]["seq"] > 0
        assert new[0]["store"]["name"] and new[0]["expires_in_s"] > 0
        no_pii(frames1)
        await sync_to_async(client_for("rider1").post)(f"/api/rider/offers/{made.json()['id']}/decline/")
        frames1 = await drain(c1, 0.3)
        assert [(f["type"], f["offer"], f["status"]) for f in frames1 if f["type"] == "offer.closed"] == [
            ("offer.closed", made.json()["id"], "declined")]
        assert await drain(c2, 0.2) == []
        await c1.disconnect()
        await c2.disconnect()

    from asgiref.sync import async_to_sync

    async_to_sync(scenario)()


def test_going_off_duty_releases_the_riders_open_offer(posted_order, dispatcher, rider1, demo):
    offer_id = _offer(dispatcher, posted_order["id"], demo["rider1"].rider.pk).json()["id"]
    assert rider1.post("/api/rider/duty/", {"on_duty": False}, format="json").status_code == 200
    assert Offer.objects.get(pk=offer_id).status == "withdrawn"
    assert Order.objects.get(pk=posted_order["id"]).status == "created"
    assert AuditEvent.objects.filter(action="offer.withdrawn", data__reason="off_duty").count() == 1
