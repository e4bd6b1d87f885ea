"""Fleets: a merchant's own riders take only that merchant's orders, and a dispatcher scoped to a fleet sees and
sends only that fleet's riders and orders (docs/fleets.md). The cross-fleet matrix is tests/test_fleet_matrix.py."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from dispatch.models import Dispatcher, Merchant, Order, Rider, Staff
from dispatch.services import fleets
from tests.factories import order_payload

pytestmark = pytest.mark.django_db


def desk(username: str, scope: str) -> APIClient:
    """A dispatcher with this fleet scope."""
    user = get_user_model().objects.create(username=username)
    Dispatcher.objects.create(user=user, fleet_scope=scope)
    client = APIClient()
    client.force_authenticate(user)
    return client


def post(client_for, merchant: str) -> int:
    r = client_for(merchant).post("/api/orders/", order_payload(), format="json")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def test_demo_data_has_a_merchants_own_fleet_a_second_clerk_and_a_scoped_dispatcher(demo):
    m1 = demo["merchant1"].merchant
    assert demo["rider4"].rider.fleet == m1
    assert all(demo[f"rider{i}"].rider.fleet is None for i in (1, 2, 3))
    assert demo["store1b"].staff.store == demo["store1"].staff.store
    assert demo["dispatcher2"].dispatcher.fleet_scope == f"merchant:{m1.pk}"
    assert demo["dispatcher1"].dispatcher.fleet_scope == ""


def test_a_merchants_own_rider_takes_only_that_merchants_orders(demo, client_for, dispatcher):
    rider1, rider4 = demo["rider1"].rider, demo["rider4"].rider
    theirs, ours = post(client_for, "merchant2"), post(client_for, "merchant1")
    r = dispatcher.post(f"/api/dispatch/orders/{theirs}/assign/", {"rider": rider4.pk}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "wrong_fleet"
    assert "merchant's own fleet" in r.json()["detail"]
    r = dispatcher.post(f"/api/dispatch/orders/{theirs}/assign/", {"rider": rider4.pk}, format="json",
                        HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert r.status_code == 409 and re.search(r"[\u4e00-\u9fff]", r.json()["detail"])
    assert Order.objects.get(pk=theirs).status == "created" and Order.objects.get(pk=theirs).rider is None
    # A reassignment is refused alike, and the rider holding the order keeps it.
    assert dispatcher.post(f"/api/dispatch/orders/{theirs}/assign/", {"rider": rider1.pk}, format="json").status_code == 200
    r = dispatcher.post(f"/api/dispatch/orders/{theirs}/assign/", {"rider": rider4.pk}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "wrong_fleet"
    assert Order.objects.get(pk=theirs).rider == rider1
    assert client_for("rider1").get(f"/api/rider/orders/{theirs}/").status_code == 200  # still rider1's
    # Their own merchant's order: assigned, and reassigned from a platform rider.
    assert dispatcher.post(f"/api/dispatch/orders/{ours}/assign/", {"rider": rider1.pk}, format="json").status_code == 200
    r = dispatcher.post(f"/api/dispatch/orders/{ours}/assign/", {"rider": rider4.pk}, format="json")
    assert r.status_code == 200 and r.json()["rider"]["id"] == rider4.pk
    assert fleets.rider_may_take(rider1, Order.objects.get(pk=theirs))  # a platform rider takes any order


def test_the_riders_list_names_each_riders_fleet_and_a_scope_keeps_to_its_own(demo, dispatcher, client_for):
    m1 = demo["merchant1"].merchant
    everyone = {r["name"]: r["fleet"] for r in dispatcher.get("/api/dispatch/riders/").json()}
    assert everyone == {"Ravi K.": "platform", "Mia L.": "platform", "Tom B.": "platform",
                        "Ana P.": f"merchant:{m1.pk}"}
    own = client_for("dispatcher2").get("/api/dispatch/riders/").json()
    assert [(r["name"], r["fleet"]) for r in own] == [("Ana P.", f"merchant:{m1.pk}")]
    platform = desk("desk-platform", "platform").get("/api/dispatch/riders/").json()
    assert sorted(r["name"] for r in platform) == ["Mia L.", "Ravi K.", "Tom B."]


def test_a_scoped_dispatcher_sends_only_its_own_riders(demo, client_for):
    """To a scoped dispatcher another fleet's rider is no rider at all (the same answer as a missing one)."""
    order = post(client_for, "merchant1")
    scoped = client_for("dispatcher2")
    missing = scoped.post(f"/api/dispatch/orders/{order}/assign/", {"rider": 999999}, format="json")
    other = scoped.post(f"/api/dispatch/orders/{order}/assign/", {"rider": demo["rider1"].rider.pk}, format="json")
    assert other.status_code == missing.status_code == 400
    assert other.json() == missing.json() and other.json()["code"] == "unknown_rider"
    r = scoped.post(f"/api/dispatch/orders/{order}/assign/", {"rider": demo["rider4"].rider.pk}, format="json")
    assert r.status_code == 200


def test_the_stores_a_scoped_dispatcher_sees(demo, dispatcher, client_for):
    store1 = demo["store1"].staff.store_id
    assert len(dispatcher.get("/api/stores/").json()) == 2
    assert [s["id"] for s in client_for("dispatcher2").get("/api/stores/").json()] == [store1]
    assert len(desk("desk-platform", "platform").get("/api/stores/").json()) == 2
    assert desk("desk-typo", "merchant:x").get("/api/stores/").json() == []


def test_which_orders_each_fleet_sees_is_one_rule_in_python_and_in_sql(demo, client_for, dispatcher):
    """Every (order's merchant, its rider's fleet) against every scope: the query (`orders_q`) and the frames'
    routing (`order_fleets`) agree, and a scope that names no fleet sees nothing."""
    m1, m2 = demo["merchant1"].merchant, demo["merchant2"].merchant
    m2_rider = Rider.objects.create(user=get_user_model().objects.create(username="m2-rider"), display_name="M2",
                                    phone="+447700900199", fleet=m2)
    riders = [None, demo["rider1"].rider, demo["rider4"].rider, m2_rider]
    orders = []
    for merchant in ("merchant1", "merchant2"):
        for rider in riders:
            pk = post(client_for, merchant)
            if rider is not None:  # set directly: the odd pairs (another merchant's rider) cannot be assigned
                Order.objects.filter(pk=pk).update(rider=rider, status="assigned")
            orders.append(Order.objects.select_related("rider").get(pk=pk))
    scopes = ["", "platform", f"merchant:{m1.pk}", f"merchant:{m2.pk}", "merchant:999999", "merchant:", "nonsense"]
    for scope in scopes:
        in_sql = set(Order.objects.filter(fleets.orders_q(scope)).values_list("pk", flat=True))
        in_python = {o.pk for o in orders if fleets.fleet_sees_order(scope, o)}
        assert in_sql == in_python, scope
    mine = {o.pk for o in orders if fleets.fleet_sees_order(f"merchant:{m1.pk}", o)}
    assert mine == {o.pk for o in orders if o.merchant_id == m1.pk and o.rider_id in (None, demo["rider4"].rider.pk)}
    platform = {o.pk for o in orders if fleets.fleet_sees_order("platform", o)}
    assert platform == {o.pk for o in orders if o.rider_id in (None, demo["rider1"].rider.pk)}
    for scope in ("merchant:999999", "merchant:", "nonsense"):
        assert not Order.objects.filter(fleets.orders_q(scope)).exists()
        assert not Rider.objects.filter(fleets.riders_q(scope)).exists()
    # The board's list is that rule.
    board = {o["id"] for o in client_for("dispatcher2").get("/api/dispatch/orders/").json()}
    assert board == mine


def test_fleet_groups(demo):
    store1 = demo["store1"].staff.store
    m1 = demo["merchant1"].merchant
    assert fleets.dispatch_groups("platform") == ["dispatch", "dispatch.platform"]
    assert fleets.dispatch_groups(f"merchant:{m1.pk}") == ["dispatch", f"dispatch.merchant.{m1.pk}"]
    assert fleets.dispatch_groups("") == ["dispatch"] == fleets.dispatch_groups("merchant:x")
    assert fleets.consumer_groups("") == ["dispatch"]
    assert fleets.consumer_groups("nonsense") == []
    assert Merchant.objects.count() == 2 and Staff.objects.filter(store=store1).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_socket_whose_scope_changed_or_names_no_fleet_is_closed(demo, settings):
    """A dispatcher moved to another fleet keeps no socket in the old fleet's group: the re-check closes it and the
    board reconnects into the new groups. A scope that names no fleet is refused at once."""
    import asyncio

    from asgiref.sync import sync_to_async

    from dispatch.services.alerts import alert_raise
    from tests.security.socket_helpers import frames_until_closed, login_cookie, open_socket, shut

    settings.SOCKET_RECHECK_S = 0  # re-checked before every frame
    desk, rider4 = demo["dispatcher2"], demo["rider4"].rider
    cookie = login_cookie(desk)
    typo = get_user_model().objects.create(username="desk-typo")
    Dispatcher.objects.create(user=typo, fleet_scope="merchant:one")
    typo_cookie = login_cookie(typo)

    async def scenario():
        sock, ok = await open_socket("/ws/dispatch/", cookie)
        assert ok
        await sync_to_async(Dispatcher.objects.filter(user=desk).update)(fleet_scope="platform")
        await sync_to_async(alert_raise)(kind="sos", key="sos:4", rider=rider4)
        frames, code = await frames_until_closed(sock)
        refused, ok2 = await open_socket("/ws/dispatch/", typo_cookie)
        await shut(sock, refused)
        return frames, code, ok2

    frames, code, typo_ok = asyncio.run(scenario())
    assert frames == [] and code == 4403
    assert typo_ok is False


@pytest.mark.parametrize("merchant", ["merchant1", "merchant2"])
def test_who_to_send_filters_riders_by_the_one_fleet_rule(demo, client_for, merchant):
    """`fleets.takers_q`, the SQL the suggestions search runs, picks exactly the riders `rider_may_take` and
    `fleet_sees_rider` allow, for every scope (a scope that names no fleet: nobody)."""
    order = Order.objects.get(pk=post(client_for, merchant))
    other = Merchant.objects.exclude(pk=order.merchant_id).order_by("pk").first()
    Rider.objects.filter(pk=demo["rider3"].rider.pk).update(fleet=other)  # another merchant's own rider too
    riders = list(Rider.objects.all())
    keyed = Rider.objects.annotate(fleet_key=fleets.FLEET_KEY)
    for scope in ("", "platform", f"merchant:{order.merchant_id}", f"merchant:{other.pk}", "merchant:x", "nope"):
        expected = {r.pk for r in riders if fleets.rider_may_take(r, order) and fleets.fleet_sees_rider(scope, r)}
        if scope in ("merchant:x", "nope"):
            expected = set()  # a scope that names no fleet matches nothing (riders_q)
        got = set(keyed.filter(fleets.takers_q(order, scope)).values_list("pk", flat=True))
        assert got == expected, scope
    assert set(keyed.filter(fleets.takers_q(order)).values_list("pk", flat=True)) == {
        r.pk for r in riders if fleets.rider_may_take(r, order)}
