"""Scale profile, real processes: two daphne servers (A and B), a Celery worker and beat, on a fresh
PostgreSQL database and Redis (channel layer, cache, broker). Events and positions cross servers
through channels-redis; scoping and refusals hold on every server.

The run gets its own Redis namespace (REDIS_PREFIX), removed afterwards, so parallel runs and other
users of the same Redis do not cross. The beat's sweep is set to once an hour, so the revocation
seen here is the countdown task travelling through the Redis broker.
"""

import time
import uuid

import pytest
import redis

from tests.harness import LiveStack
from tests.integration.conftest import (
    Socket,
    assert_access_ended_on_time,
    assert_no_pii,
    assert_no_process_errors,
    audit_verify,
    is_event,
    order_state,
    refusal,
    stack_profile,
    tracking,
)

pytestmark = pytest.mark.scale

A, B = 0, 1
REVOKE_AFTER_S = 6  # long enough that the read just after delivery is certainly inside it
EVENT_KEYS = {"type", "seq", "order", "status", "pickup_code", "tier"}
POSITION_KEYS = {"type", "seq", "rider", "lat", "lng", "at"}


@pytest.fixture(scope="module")
def redis_prefix(scale_env):
    prefix = f"pdit{uuid.uuid4().hex[:10]}"
    yield prefix
    client = redis.Redis.from_url(scale_env[1])
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture(scope="module")
def stack(scale_env, redis_prefix, tmp_path_factory):
    database_url, redis_url = scale_env
    env = {"ACCESS_REVOKE_AFTER_S": str(REVOKE_AFTER_S), "SWEEP_INTERVAL_S": "3600", "REDIS_PREFIX": redis_prefix}
    with LiveStack(tmp_path_factory.mktemp("scale"), servers=2, workers=True, beat=True, database_url=database_url,
                   redis_url=redis_url, env=env) as live:
        # The stack really is the scale profile: an embedded stack would pass these tests through the relay.
        profile = stack_profile(live)
        read_timeout = profile.pop("layer_read_timeout")
        assert profile == {"vendor": "postgresql", "layer": "dispatch.live.layers.CountingRedisChannelLayer",
                           "cache": "config.cache.ResilientRedisCache", "broker": redis_url,
                           "relay": False, "layer_blocking_pop": profile["layer_blocking_pop"]}, profile
        # An idle socket blocks in BZPOPMIN; a socket read timeout no longer than that drops it.
        assert read_timeout is None or read_timeout > profile["layer_blocking_pop"], (read_timeout, profile)
        yield live
        assert_no_process_errors(live)


def ping(lat: float, lng: float, seq: int) -> dict:
    return {"type": "location", "lat": lat, "lng": lng, "accuracy": 8, "timestamp": time.time(), "seq": seq}


def is_position(rider_pk: int, lat: float, lng: float):
    """A single `rider.position` frame or a batched `rider.positions` frame that carries this position."""
    def match(f):
        entries = f.get("riders", []) if f.get("type") == "rider.positions" else [f] if f.get("type") == "rider.position" else []
        return any(e.get("rider") == rider_pk and (e["lat"], e["lng"]) == (lat, lng) for e in entries)
    return match


def position_of(frame: dict, rider_pk: int) -> dict:
    if frame["type"] == "rider.position":
        return frame
    assert set(frame) == {"type", "seq", "riders"} and frame["seq"] >= 1, frame
    return {"type": "rider.position", "seq": 0, **next(e for e in frame["riders"] if e["rider"] == rider_pk)}


def test_rider_socket_ping_on_a_reaches_a_dispatcher_on_b(stack, parties):
    rider_pk = parties.rider_pk("rider1")
    dispatch_b = Socket(stack.url_of(B), "/ws/dispatch/", parties("dispatcher1", B), name="dispatch@B")
    rider_a = Socket(stack.url_of(A), "/ws/rider/", parties("rider1", A), name="rider1@A")
    try:
        rider_a.send(ping(51.5201, -0.1002, 1))
        ack = rider_a.wait_for(lambda f: f.get("type") == "location.ack" and f.get("seq") == 1, what="location.ack")
        assert ack["accepted"] is True, ack
        pos = position_of(dispatch_b.wait_for(is_position(rider_pk, 51.5201, -0.1002), timeout=10, what="rider.position"),
                          rider_pk)
        assert set(pos) == POSITION_KEYS and pos["seq"] == 0
        assert not [f for f in rider_a.drain(1.5) + rider_a.frames if f["type"].startswith("rider.position")]  # dispatch only
    finally:
        dispatch_b.close()
        rider_a.close()


def test_a_socket_fix_is_written_from_the_servers_event_loop_before_its_ack(stack, parties):
    """The ack's tail on the scale profile: a socket's fix is written on the server loop's own PostgreSQL connection
    (named in pg_stat_activity), not handed to the writer thread; it is in the table when the ack arrives."""
    import psycopg

    rider_pk = parties.rider_pk("rider2")
    parties.assign(parties.post_order(A), "rider2", A)  # on an order: every fix is stored (a free rider's is sparse)
    rider_a = Socket(stack.url_of(A), "/ws/rider/", parties("rider2", A), name="rider2@A")
    try:
        for seq in (701, 702):  # the first may load the rider's context; the second is the common ping
            rider_a.send(ping(51.5202, -0.1003, seq))
            ack = rider_a.wait_for(lambda f, s=seq: f.get("type") == "location.ack" and f.get("seq") == s,
                                   what="location.ack")
            assert ack["accepted"] is True, ack
            with psycopg.connect(stack.db_url, autocommit=True) as conn:
                (stored,) = conn.execute("SELECT count(*) FROM dispatch_locationfix WHERE rider_id = %s AND seq = %s",
                                         (rider_pk, seq)).fetchone()
                writers = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND application_name"
                                       " = 'dispatch-fix-loop-writer'", (stack.db_name,)).fetchone()[0]
            assert stored == 1, f"fix {seq} acked before it was stored"
        assert writers >= 1, "no server wrote fixes from its event loop"
    finally:
        rider_a.close()


def test_http_ping_on_a_reaches_dispatchers_on_both_servers(stack, parties):
    rider_pk = parties.rider_pk("rider3")  # its own coalescing window (one position a second per rider)
    dispatch_b = Socket(stack.url_of(B), "/ws/dispatch/", parties("dispatcher1", B), name="dispatch@B")
    dispatch_a = Socket(stack.url_of(A), "/ws/dispatch/", parties("dispatcher1", A), name="dispatch@A")
    try:
        body = {k: v for k, v in ping(51.5105, -0.1205, 1).items() if k != "type"}
        r = parties("rider3", A).post("/api/rider/location/", json=body)
        assert r.status_code == 200 and r.json()["accepted"] is True, r.text
        for sock in (dispatch_b, dispatch_a):
            pos = position_of(sock.wait_for(is_position(rider_pk, 51.5105, -0.1205), timeout=10, what="rider.position"),
                              rider_pk)
            assert set(pos) == POSITION_KEYS
    finally:
        dispatch_b.close()
        dispatch_a.close()


def test_order_events_written_on_a_reach_sockets_on_b_and_only_theirs(stack, parties):
    socks = {
        "rider1@B": Socket(stack.url_of(B), "/ws/rider/", parties("rider1", B), name="rider1@B"),
        "store1@B": Socket(stack.url_of(B), "/ws/store/", parties("store1", B), name="store1@B"),
        "dispatch@B": Socket(stack.url_of(B), "/ws/dispatch/", parties("dispatcher1", B), name="dispatch@B"),
        "rider2@A": Socket(stack.url_of(A), "/ws/rider/", parties("rider2", A), name="rider2@A"),
        "rider2@B": Socket(stack.url_of(B), "/ws/rider/", parties("rider2", B), name="rider2@B"),
        "store2@B": Socket(stack.url_of(B), "/ws/store/", parties("store2", B), name="store2@B"),
    }
    try:
        order = parties.post_order(A)
        oid = order["id"]
        socks["store1@B"].wait_for(is_event("order.created", oid), what="order.created")
        socks["dispatch@B"].wait_for(is_event("order.created", oid), what="order.created")
        parties.assign(order, "rider1", A)
        socks["rider1@B"].wait_for(is_event("order.assigned", oid, status="assigned"), what="order.assigned")
        parties.ready(order, A)  # the store marks it ready on server A
        ready = socks["rider1@B"].wait_for(is_event("order.updated", oid, status="ready"), what="order.updated ready")
        assert set(ready) <= EVENT_KEYS and ready["pickup_code"] == order["pickup_code"]
        socks["store1@B"].wait_for(is_event("order.updated", oid, status="ready"), what="order.updated ready")
        socks["dispatch@B"].wait_for(is_event("order.updated", oid, status="ready"), what="order.updated ready")

        for name in ("rider2@A", "rider2@B", "store2@B"):
            socks[name].drain(0.3)
            assert socks[name].about(oid) == [], f"{name} heard about rider1's order: {socks[name].frames}"
    finally:
        for sock in socks.values():
            sock.close()
    assert_no_pii([raw for sock in socks.values() for raw in sock.raw])


def test_delivery_on_a_revokes_through_the_redis_worker_and_b_hears_it(stack, parties):
    rider_a = parties("rider1", A)
    rider_b = parties("rider1", B)
    socks = {
        "rider1@B": Socket(stack.url_of(B), "/ws/rider/", rider_b, name="rider1@B"),
        "rider2@A": Socket(stack.url_of(A), "/ws/rider/", parties("rider2", A), name="rider2@A"),
        "rider2@B": Socket(stack.url_of(B), "/ws/rider/", parties("rider2", B), name="rider2@B"),
    }
    try:
        order = parties.picked_up("rider1", A)
        oid = order["id"]
        picked = socks["rider1@B"].wait_for(is_event("order.updated", oid, status="picked_up"), what="picked_up")
        parties.deliver(order, "rider1", A)
        # Inside the window, on the other server, the order is still visible: B, asked after that read, says
        # the rider's access has not ended yet, so it had not when it answered.
        r = rider_b.get(f"/api/rider/orders/{oid}/")
        assert tracking(stack, order["token"], B)["access_ends_at"] is not None, "the window ended before it was read"
        assert r.status_code == 200, r.text
        revoked = socks["rider1@B"].wait_for(is_event("order.revoked", oid), timeout=REVOKE_AFTER_S + 20,
                                             what="order.revoked")
        assert set(revoked) == {"type", "seq", "order", "reason"}
        assert revoked["reason"] == "expired"  # a code (access ran out after delivery), for the phone; nothing else
        for name in ("rider2@A", "rider2@B"):
            socks[name].drain(0.3)
            assert socks[name].about(oid) == [], f"{name} heard about rider1's order: {socks[name].frames}"
    finally:
        for sock in socks.values():
            sock.close()
    assert_no_pii([raw for sock in socks.values() for raw in sock.raw])

    for client in (rider_a, rider_b):
        assert client.get(f"/api/rider/orders/{oid}/").status_code == 404
        assert oid not in [o["id"] for o in client.get("/api/rider/orders/").json()]
    state = order_state(stack, oid)
    held = [g for g in state["grants"] if g["user"] == "rider1"]
    assert held and all(g["revoked"] for g in held), state
    assert state["actions"].count("access.revoked") == 1, state["actions"]
    # Not before the window ended, by the server's own record: the grants' ends, their revocation and its
    # audit event are all no earlier than delivery plus the window.
    assert_access_ended_on_time(stack, oid, "rider1", REVOKE_AFTER_S)
    assert f"revoke_order_access order={oid} grants={len(held)}" in stack.log("worker")
    assert "intact" in audit_verify(stack)

    # A device reconnecting to the other server catches up from the shared event log.
    late = Socket(stack.url_of(A), "/ws/rider/", rider_a, name="rider1@A-resume")
    try:
        late.send({"type": "resume", "seq": picked["seq"]})
        late.wait_for(is_event("order.updated", oid, status="delivered"), timeout=10, what="replayed delivered")
        assert late.wait_for(is_event("order.revoked", oid), timeout=10)["seq"] == revoked["seq"]
    finally:
        late.close()


def test_refusals_hold_on_every_server(stack, parties):
    for server in (A, B):
        base = stack.url_of(server)
        rider1, store1 = parties("rider1", server), parties("store1", server)
        assert refusal(base, "/ws/rider/", rider1) is None  # the control: this one is accepted
        assert refusal(base, "/ws/rider/") == 403  # no login
        assert refusal(base, "/ws/dispatch/") == 403
        assert refusal(base, "/ws/rider/", rider1, origin="http://evil.example") == 403
        assert refusal(base, "/ws/rider/", rider1, origin="null") == 403
        assert refusal(base, "/ws/rider/", rider1, origin=None) == 403  # no Origin header at all
        port = stack.ports[server]
        assert refusal(base, "/ws/rider/", rider1, origin=f"http://127.0.0.1:{port + 1}") == 403  # another port
        assert refusal(base, "/ws/rider/", rider1, origin=f"https://127.0.0.1:{port}") == 403  # another scheme
        assert refusal(base, "/ws/dispatch/", rider1) == 403  # wrong role
        assert refusal(base, "/ws/store/", rider1) == 403
        assert refusal(base, "/ws/rider/", store1) == 403
        assert refusal(base, "/ws/track/not-a-real-token/") == 403
    # Sessions live in the shared database: a login on A opens a socket on B.
    assert refusal(stack.url_of(B), "/ws/rider/", parties("rider1", A)) is None


def test_logout_on_one_server_closes_the_sessions_socket_on_another(stack):
    """Plays a dispatcher who logs out on server A while the board's socket is open on server B: the close
    crosses servers through the Redis channel layer (the session's group)."""
    from websockets.exceptions import ConnectionClosed

    client = stack.login("dispatcher1", A)
    board = Socket(stack.url_of(B), "/ws/dispatch/", client, name="dispatcher1@B")
    try:
        assert client.post("/accounts/logout/").status_code in (200, 302)
        with pytest.raises(ConnectionClosed) as closed:
            board.drain(10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4403
    finally:
        board.close()
        client.close()


def sessions_opened(stack) -> int:
    """PostgreSQL's count of sessions ever opened on the stack's database (a backend reports its own
    at exit or when idle; settle until the figure stops moving)."""
    import psycopg

    last, stable_since = -1, time.monotonic()
    with psycopg.connect(stack.base_db_url, autocommit=True) as conn:
        deadline = time.monotonic() + 12
        while time.monotonic() < deadline:
            conn.execute("SELECT pg_stat_clear_snapshot()")
            (now,) = conn.execute("SELECT sessions FROM pg_stat_database WHERE datname = %s", (stack.db_name,)).fetchone()
            if now != last:
                last, stable_since = now, time.monotonic()
            elif time.monotonic() - stable_since >= 1.5:
                break
            time.sleep(0.25)
    return last


def redis_connections_received(redis_url: str) -> int:
    client = redis.Redis.from_url(redis_url)
    try:
        return int(client.info("stats")["total_connections_received"])
    finally:
        client.close()


def test_servers_reuse_pooled_connections(stack, parties, scale_env):
    """Each daphne keeps a small pool of PostgreSQL connections and one Redis pool for the cache: 120
    lookups across the two servers open at most a pool's worth of sessions and Redis connections, not
    one a request (a PostgreSQL session costs about 3 ms to open here)."""
    clients = [parties("store1", A), parties("store1", B)]
    order = parties.post_order(A)
    for client in clients:  # the pools open on first use
        assert client.get("/api/pickup/lookup/", params={"code": order["pickup_code"]}).status_code == 200
    before_pg, before_redis = sessions_opened(stack), redis_connections_received(scale_env[1])
    for _ in range(60):
        for client in clients:  # the lookup reads the failure counters in the Redis cache and audits in PostgreSQL
            assert client.get("/api/pickup/lookup/", params={"code": order["pickup_code"]}).status_code == 200
    opened_redis = redis_connections_received(scale_env[1]) - before_redis
    opened_pg = sessions_opened(stack) - before_pg
    assert opened_pg <= 2 * 8, f"{opened_pg} PostgreSQL sessions opened for 120 requests: the servers do not pool"
    assert opened_redis <= 10, f"{opened_redis} Redis connections opened for 120 requests: the cache does not pool"
