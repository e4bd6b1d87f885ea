"""The scale profile as real processes: two daphne servers, a worker and beat on PostgreSQL and Redis.
Events cross processes through channels-redis; scoping holds across servers."""

import time
import uuid

import pytest

from tests.harness import LiveStack
from tests.processes.conftest import Socket, delivery_to_handoff, refused

pytestmark = pytest.mark.scale


@pytest.fixture(scope="module")
def stack(scale_env, tmp_path_factory):
    db, redis = scale_env
    prefix = f"pd{uuid.uuid4().hex[:8]}"  # this run's own channel-layer and cache namespace
    with LiveStack(tmp_path_factory.mktemp("scale"), servers=2, workers=True, beat=True, database_url=db,
                   redis_url=redis, env={"ACCESS_REVOKE_AFTER_S": "3", "REDIS_PREFIX": prefix,
                                         "SWEEP_INTERVAL_S": "2"}) as s:
        yield s


def test_a_ping_on_server_a_reaches_a_dispatcher_on_server_b(stack):
    dispatcher = Socket(stack.url_of(1), "/ws/dispatch/", stack.login("dispatcher1", 1))
    rider_http = stack.login("rider1", 0)
    rider_sock = Socket(stack.url_of(0), "/ws/rider/", rider_http)
    try:
        rider_sock.send({"type": "location", "lat": 51.52, "lng": -0.1, "accuracy": 8, "timestamp": time.time(),
                         "seq": 1})
        ack = rider_sock.wait_for(lambda f: f["type"] == "location.ack")
        assert ack["accepted"] is True
        pos = dispatcher.wait_for(lambda f: f["type"] == "rider.position", timeout=10)
        assert (pos["lat"], pos["lng"]) == (51.52, -0.1)
        time.sleep(1.1)  # positions are coalesced to one a second per rider
        r = rider_http.post("/api/rider/location/", json={"lat": 51.521, "lng": -0.1, "accuracy": 8,
                                                          "timestamp": time.time(), "seq": 2})
        assert r.status_code == 200 and r.json()["accepted"]
        dispatcher.wait_for(lambda f: f["type"] == "rider.position" and f["lat"] == 51.521, timeout=10)
    finally:
        dispatcher.close()
        rider_sock.close()


def test_order_events_cross_servers_and_stay_scoped(stack):
    rider1 = Socket(stack.url_of(1), "/ws/rider/", stack.login("rider1", 1))
    rider2 = Socket(stack.url_of(0), "/ws/rider/", stack.login("rider2", 0))
    try:
        flow = delivery_to_handoff(stack, server=0)  # all writes on server A
        ready = rider1.wait_for(lambda f: f.get("order") == flow["order"] and f.get("status") == "ready")
        assert ready["type"] == "order.updated"
        rider1.wait_for(lambda f: f.get("order") == flow["order"] and f.get("status") == "picked_up")
        assert [f for f in rider2.quiet_for(1.0) + rider2.frames if f.get("order") == flow["order"]] == []
        # Delivery on server A; the worker (Redis broker) revokes; server B's socket hears it.
        pin = stack.login("rider3", 1).get(f"/api/track/{flow['token']}/").json()["delivery_pin"]
        assert flow["rider"].post(f"/api/rider/orders/{flow['order']}/deliver/", json={"pin": pin}).status_code == 200
        rider1.wait_for(lambda f: f["type"] == "order.revoked" and f["order"] == flow["order"], timeout=20)
        assert stack.login("rider1", 1).get(f"/api/rider/orders/{flow['order']}/").status_code == 404
        assert [f for f in rider2.frames if f.get("order") == flow["order"]] == []
    finally:
        rider1.close()
        rider2.close()


def test_refusals_hold_on_every_server(stack):
    for server in (0, 1):
        base = stack.url_of(server)
        assert refused(base, "/ws/rider/")  # no login
        assert refused(base, "/ws/rider/", stack.login("rider1", server), origin="http://evil.example")
        assert refused(base, "/ws/dispatch/", stack.login("rider1", server))  # wrong role


def test_database_is_postgresql(stack):
    out = stack.manage("shell", "--no-imports", "-c",
                       "from django.db import connection; print(connection.vendor)").stdout.strip().splitlines()[-1]
    assert out == "postgresql"
