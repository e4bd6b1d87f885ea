"""Dispatch's alerts over HTTP: persisted (a new request, as after a reload, lists them), open or all, acknowledged
with a required note (audited), scoped by the dispatcher's fleet (another fleet's alert is 404), refused to every
other role."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from dispatch.models import Alert, AuditEvent, Dispatcher, Merchant, Rider
from dispatch.serializers import AlertOut
from dispatch.services.alerts import alert_out, alert_raise
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def raised(demo):
    """An SOS of a platform rider, and a stale device of a rider in merchant1's own fleet."""
    platform_rider = demo["rider1"].rider
    own = demo["rider2"].rider
    merchant = Merchant.objects.get(user__username="merchant1")
    Rider.objects.filter(pk=own.pk).update(fleet=merchant)
    own.refresh_from_db()
    sos = alert_raise(kind="sos", key=f"sos:rider:{platform_rider.pk}", rider=platform_rider, lat=51.5, lng=-0.12)
    stale = alert_raise(kind="stale_device", key=f"stale_device:rider:{own.pk}", rider=own,
                        detail={"reason": "denied"})
    return {"sos": sos, "stale": stale, "fleet": f"merchant:{merchant.pk}"}


def _scoped(scope: str) -> APIClient:
    user = UserFactory(username=f"dispatch-{scope.replace(':', '-')}")
    Dispatcher.objects.create(user=user, fleet_scope=scope)
    client = APIClient()
    client.force_authenticate(user)
    return client


def _ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [a["id"] for a in response.json()]


def test_alerts_persist_and_are_acknowledged_with_a_note(dispatcher, raised, demo):
    sos, stale = raised["sos"], raised["stale"]
    assert _ids(dispatcher.get("/api/dispatch/alerts/?open=1")) == [sos.pk, stale.pk]  # SOS first
    row = dispatcher.get("/api/dispatch/alerts/").json()[0]
    assert row == alert_out(sos) == AlertOut(sos).data  # the frame's shape is the API's
    assert (row["kind"], row["lat"], row["lng"]) == ("sos", 51.5, -0.12)

    for blank in ({}, {"note": ""}, {"note": "   "}):
        r = dispatcher.post(f"/api/dispatch/alerts/{sos.pk}/ack/", blank, format="json")
        assert r.status_code == 400 and r.json()["code"] == "note_required", r.content
    assert dispatcher.post(f"/api/dispatch/alerts/{sos.pk}/ack/", {"note": 5}, format="json").status_code == 400
    r = dispatcher.post(f"/api/dispatch/alerts/{sos.pk}/ack/", {"note": "Rider safe, police called"}, format="json")
    assert r.status_code == 200 and r.json()["ack_note"] == "Rider safe, police called" and r.json()["acked_at"]
    assert _ids(dispatcher.get("/api/dispatch/alerts/?open=1")) == [stale.pk]
    assert set(_ids(dispatcher.get("/api/dispatch/alerts/"))) == {sos.pk, stale.pk}
    # Acknowledging twice changes nothing: one ack in the audit, beside the two raises.
    dispatcher.post(f"/api/dispatch/alerts/{sos.pk}/ack/", {"note": "again"}, format="json")
    acks = AuditEvent.objects.filter(action="alert.acked")
    assert [(e.data["alert"], e.actor_label) for e in acks] == [(sos.pk, "dispatcher1")]
    assert "police" not in str(acks[0].data)  # the note's words stay on the row, not in the audit
    assert AuditEvent.objects.filter(action="alert.raised").count() == 2
    assert dispatcher.get("/api/dispatch/alerts/?open=yes").status_code == 400


def test_a_scoped_dispatcher_sees_and_acknowledges_only_its_fleets_alerts(raised):
    own_fleet = _scoped(raised["fleet"])
    platform = _scoped("platform")
    assert _ids(own_fleet.get("/api/dispatch/alerts/")) == [raised["stale"].pk]
    assert _ids(platform.get("/api/dispatch/alerts/")) == [raised["sos"].pk]
    r = own_fleet.post(f"/api/dispatch/alerts/{raised['sos'].pk}/ack/", {"note": "not mine"}, format="json")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    assert own_fleet.post("/api/dispatch/alerts/999999/ack/", {"note": "x"}, format="json").status_code == 404
    assert Alert.objects.get(pk=raised["sos"].pk).acked_at is None
    r = own_fleet.post(f"/api/dispatch/alerts/{raised['stale'].pk}/ack/", {"note": "Rider called"}, format="json")
    assert r.status_code == 200


@pytest.mark.parametrize("username", ["rider1", "store1", "merchant1"])
def test_other_roles_may_not_read_or_acknowledge_alerts(client_for, raised, username):
    client = client_for(username)
    assert client.get("/api/dispatch/alerts/").status_code == 403
    assert client.post(f"/api/dispatch/alerts/{raised['sos'].pk}/ack/", {"note": "x"}, format="json").status_code == 403
    assert APIClient().get("/api/dispatch/alerts/").status_code == 401


def test_the_list_costs_the_same_queries_for_one_alert_or_many(dispatcher, raised, django_assert_num_queries):
    dispatcher.get("/api/dispatch/alerts/")  # warm: the session's role rows
    with django_assert_num_queries(1) as one:  # the list itself: force_authenticate brings the role rows
        dispatcher.get("/api/dispatch/alerts/?open=1")
    for n in range(20):
        alert_raise(kind="late", key=f"late:order:{1000 + n}", detail={"status": "created"})
    with django_assert_num_queries(len(one.captured_queries)):
        assert len(dispatcher.get("/api/dispatch/alerts/?open=1").json()) == 22
