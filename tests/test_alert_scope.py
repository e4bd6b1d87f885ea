"""Which dispatch desk sees which alert, in the spirit of tests/test_fleet_matrix.py: a merchant's own fleet sees
the alerts about its merchant's stores and its orders no rider holds (not only those of its riders), and nothing
of another fleet: not another merchant's store or order, not an order a platform rider holds. The list, the
acknowledgement (404 for what it does not see) and the socket frames (the groups told) agree."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from dispatch.models import Dispatcher, Order
from dispatch.services import alerts as alerts_service
from dispatch.services.alerts import alert_raise, unassigned_key
from dispatch.services.events import GROUP_DISPATCH
from dispatch.services.fleets import group_fleet
from tests.factories import order_payload

pytestmark = pytest.mark.django_db


@pytest.fixture
def told(monkeypatch):
    """The socket groups each alert frame went to: alert id -> groups."""
    seen: dict[int, list[str]] = {}
    real = alerts_service.event_publish

    def spy(*, groups, type, payload, **kw):
        seen.setdefault(payload["alert"]["id"], []).extend(groups)
        return real(groups=groups, type=type, payload=payload, **kw)

    monkeypatch.setattr(alerts_service, "event_publish", spy)
    return seen


def post(client_for, merchant: str) -> Order:
    r = client_for(merchant).post("/api/orders/", order_payload(), format="json")
    assert r.status_code == 201, r.content
    return Order.objects.get(pk=r.json()["id"])


def test_a_merchant_fleet_desk_sees_its_merchants_store_and_unheld_order_alerts_and_nothing_else(
        demo, client_for, told):
    m1 = demo["merchant1"].merchant
    mine, theirs = f"merchant:{m1.pk}", "platform"
    store1, store2 = demo["store1"].staff.store, demo["store2"].staff.store
    assert list(store1.merchants.all()) == [m1] and m1 not in store2.merchants.all()
    m1_free, m2_free, m1_held = post(client_for, "merchant1"), post(client_for, "merchant2"), post(client_for, "merchant1")
    assert client_for("dispatcher1").post(f"/api/dispatch/orders/{m1_held.pk}/assign/",
                                          {"rider": demo["rider2"].rider.pk}, format="json").status_code == 200
    m1_held.refresh_from_db()
    visible = {
        "store1_rate": alert_raise(kind="rate", key=f"rate:lookups:store:{store1.pk}", store=store1,
                                   detail={"what": "lookups", "count": 9}),
        "m1_unassigned": alert_raise(kind="unassigned", key=unassigned_key(m1_free.pk), order=m1_free,
                                     detail={"tried": 3, "reason": "nobody_accepted"}),
        "m1_late_unheld": alert_raise(kind="late", key=f"late:order:{m1_free.pk}", order=m1_free),
        "own_rider_sos": alert_raise(kind="sos", key="sos:rider4", rider=demo["rider4"].rider),
    }
    hidden = {
        "store2_rate": alert_raise(kind="rate", key=f"rate:lookups:store:{store2.pk}", store=store2,
                                   detail={"what": "lookups", "count": 9}),
        "m2_unassigned": alert_raise(kind="unassigned", key=unassigned_key(m2_free.pk), order=m2_free),
        # merchant1's order, but a platform rider holds it: the platform's, as the order is (the matrix's rule).
        "m1_held_late": alert_raise(kind="late", key=f"late:order:{m1_held.pk}", order=m1_held, rider=m1_held.rider),
        "m1_held_riderless": alert_raise(kind="late", key=f"late:order:{m1_held.pk}:x", order=m1_held),
        "platform_sos": alert_raise(kind="sos", key="sos:rider1", rider=demo["rider1"].rider),
    }
    desk = client_for("dispatcher2")  # merchant1's own fleet
    listed = {a["id"] for a in desk.get("/api/dispatch/alerts/?open=1").json()}
    assert listed == {a.pk for a in visible.values()}
    for name, alert in hidden.items():
        r = desk.post(f"/api/dispatch/alerts/{alert.pk}/ack/", {"note": "seen"}, format="json")
        assert r.status_code == 404, name
    # The frames: each visible alert told to merchant1's fleet's group, no hidden one.
    for name, alert in visible.items():
        assert group_fleet(mine) in told[alert.pk] and GROUP_DISPATCH in told[alert.pk], name
    for name, alert in hidden.items():
        assert group_fleet(mine) not in told[alert.pk], name

    # The platform's desk still sees every riderless alert (and its riders'), but not merchant1's rider's SOS.
    platform_user = get_user_model().objects.create(username="desk-platform")
    Dispatcher.objects.create(user=platform_user, fleet_scope=theirs)
    platform = APIClient()
    platform.force_authenticate(platform_user)
    seen = {a["id"] for a in platform.get("/api/dispatch/alerts/?open=1").json()}
    assert seen == {a.pk for n, a in {**visible, **hidden}.items() if n != "own_rider_sos"}
    assert len(client_for("dispatcher1").get("/api/dispatch/alerts/?open=1").json()) == 9  # every fleet's desk

    # Acknowledged by merchant1's desk: closed, and told to its group again.
    alert = visible["store1_rate"]
    assert desk.post(f"/api/dispatch/alerts/{alert.pk}/ack/", {"note": "called the store"},
                     format="json").status_code == 200
    assert told[alert.pk].count(group_fleet(mine)) == 2


def test_the_unassigned_alert_closing_on_assignment_reaches_the_merchant_fleet_that_saw_it(demo, client_for, told):
    order = post(client_for, "merchant1")
    alert = alert_raise(kind="unassigned", key=unassigned_key(order.pk), order=order)
    mine = group_fleet(f"merchant:{demo['merchant1'].merchant.pk}")
    assert told[alert.pk].count(mine) == 1
    # A platform rider takes it: merchant1's desk no longer sees the order, but hears the alert closed.
    assert client_for("dispatcher1").post(f"/api/dispatch/orders/{order.pk}/assign/",
                                          {"rider": demo["rider1"].rider.pk}, format="json").status_code == 200
    assert told[alert.pk].count(mine) == 2
    assert client_for("dispatcher2").get("/api/dispatch/alerts/?open=1").json() == []
