"""The rider's app tells the server what its location sharing is doing (the reason a stale device alert gives
dispatch): over the socket (`geo.state`), over HTTP when the socket is down, and "offline" when the socket closes."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async

from dispatch.models import Rider
from tests.test_websockets import connect, cookie_for

pytestmark = pytest.mark.django_db(transaction=True)


def _state(username: str) -> str:
    return Rider.objects.get(user__username=username).geo_state


def test_the_app_reports_its_location_state_over_the_socket_and_a_closed_socket_is_offline(demo):
    cookie = cookie_for(demo["rider1"])

    async def scenario():
        comm, ok, _ = await connect("/ws/rider/", cookie)
        assert ok
        await comm.send_json_to({"type": "geo.state", "state": "denied"})
        await comm.send_json_to({"type": "geo.state", "state": "on fire"})
        error = await comm.receive_json_from(timeout=3)
        assert (error["type"], error["code"], error["for"]) == ("error", "invalid", "geo.state")
        assert await sync_to_async(_state)("rider1") == "denied"
        await comm.disconnect()

    async_to_sync(scenario)()
    assert _state("rider1") == "offline"
    assert _state("rider2") == ""  # another rider's row untouched


def test_the_app_reports_its_location_state_over_http(rider1, client_for):
    r = rider1.post("/api/rider/location/state/", {"state": "unavailable"}, format="json")
    assert r.status_code == 200 and r.json() == {"state": "unavailable"}
    assert _state("rider1") == "unavailable"
    for bad in ({"state": "offline!"}, {"state": 3}, {}):
        r = rider1.post("/api/rider/location/state/", bad, format="json")
        assert r.status_code == 400 and r.json()["code"] == "invalid"
    assert client_for("dispatcher1").post("/api/rider/location/state/", {"state": "idle"},
                                          format="json").status_code == 403
