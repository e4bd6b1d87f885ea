"""The ping in the event loop: the common ping is judged
and recorded without a query, a cache round trip or a hop to the sync thread; everything that must reach the
database (a tier's grants and audit) still does, through the database path; and the engine's state held in
process memory is dropped when access ends and on erasure."""

from __future__ import annotations

import asyncio
import time
from unittest import mock

import pytest
from asgiref.sync import SyncToAsync
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.live import contexts as live_contexts
from dispatch.live import ping as live_ping
from dispatch.live import state as live_state
from dispatch.live.writer import buffer as fix_buffer
from dispatch.models import AuditEvent, Grant, GrantScope, LocationFix, Order, Tier
from dispatch.services.events import context_version_key
from dispatch.services.privacy import order_shred

from .socket_helpers import frames_until_quiet, login_cookie, open_socket, shut
from .test_cache_outage import picked_up_order

pytestmark = pytest.mark.django_db(transaction=True)
DOOR = (51.5033, -0.1196)  # the demo order's destination (tests/factories.py)
FAR = (51.53, -0.1196)


@pytest.fixture(autouse=True)
def batched(settings, transactional_db):
    settings.LOCATION_FIX_BATCH = True  # as in production: the history goes through the batch writer
    settings.POSITION_BATCH = True
    yield
    fix_buffer.flush()  # nothing left for the writer once the test's rows are gone


def slow_ping(rider, **kw):
    result = live_ping.location_ping(rider=rider, **kw)
    result.durable.result(timeout=5)
    return result


def picked_up(merchant, dispatcher, rider1, staff1, demo) -> int:
    return picked_up_order(merchant, dispatcher, rider1, staff1, demo)["id"]


def fix(seq: int, at: tuple[float, float] = FAR, accuracy: float = 8.0, ts: float | None = None) -> dict:
    return {"lat": at[0], "lng": at[1], "accuracy": accuracy, "timestamp": ts or time.time(), "seq": seq}


def no_cache_round_trip():
    """Every cache call fails the test."""
    def refuse(*a, **k):
        raise AssertionError("a cache round trip on the fast path")
    return mock.patch.multiple(cache, get=refuse, set=refuse, add=refuse, get_many=refuse, delete=refuse,
                               incr=refuse, aget=refuse, aset=refuse, aadd=refuse)


def test_a_common_ping_costs_no_query_no_cache_round_trip_and_no_thread_hop(demo, merchant, dispatcher, rider1,
                                                                             staff1):
    order_id = picked_up(merchant, dispatcher, rider1, staff1, demo)
    rider = demo["rider1"].rider
    slow_ping(rider, **fix(1))  # the database path loads the context
    before = LocationFix.objects.filter(order_id=order_id).count()

    def hop(*a, **k):
        raise AssertionError("a hop to the sync thread on the fast path")

    with CaptureQueriesContext(connection) as queries, no_cache_round_trip(), \
            mock.patch.object(SyncToAsync, "__call__", hop), mock.patch.object(live_ping, "location_ping", hop):
        result = asyncio.run(live_ping.location_ping_fast(rider=rider, **fix(2)))
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert result is not None and result.accepted
    assert live_state._states[(order_id, rider.pk)].last_seq == 2  # judged by the engine
    assert result.durable.result(timeout=5) is None  # recorded by the batch writer
    assert LocationFix.objects.filter(order_id=order_id).count() == before + 1


def test_reaching_a_tier_takes_the_database_path_with_grant_and_audit(demo, merchant, dispatcher, rider1, staff1):
    order_id = picked_up(merchant, dispatcher, rider1, staff1, demo)
    rider = demo["rider1"].rider
    now = time.time()
    slow_ping(rider, **fix(1, ts=now - 200))  # far away, long enough ago for the speed rule
    first = asyncio.run(live_ping.location_ping_fast(rider=rider, **fix(2, DOOR, 5.0, now - 2)))
    assert first is not None  # one qualifying fix at the door: no tier yet
    first.durable.result(timeout=5)  # written: the batch writer's and this thread's writes never overlap (SQLite)
    state = live_state._states[(order_id, rider.pk)]
    # The second one reaches the door: the fast path hands it over without saving anything.
    assert asyncio.run(live_ping.location_ping_fast(rider=rider, **fix(3, DOOR, 5.0, now - 1))) is None
    assert live_state._states[(order_id, rider.pk)] is state
    result = slow_ping(rider, **fix(3, DOOR, 5.0, now - 1))
    assert result.tiers == {order_id: "door"}
    held = set(Grant.objects.filter(order_id=order_id, principal=rider.user, scope=GrantScope.ADDRESS,
                                    revoked_at__isnull=True).values_list("tier", flat=True))
    assert {Tier.STREET, Tier.DOOR} <= held
    assert AuditEvent.objects.filter(order_id=order_id, action="grant.created").count() >= 2


def test_a_spoofed_ping_takes_the_database_path(demo, merchant, dispatcher, rider1, staff1):
    picked_up(merchant, dispatcher, rider1, staff1, demo)
    rider = demo["rider1"].rider
    slow_ping(rider, **fix(1, ts=time.time() - 1))
    teleport = fix(2, (FAR[0] + 1.0, FAR[1]))  # 111 km in a second
    assert asyncio.run(live_ping.location_ping_fast(rider=rider, **teleport)) is None
    assert slow_ping(rider, **teleport).reason == "speed"


def test_revocation_over_the_socket_drops_the_engine_state_and_the_context(demo, assigned_order, dispatcher):
    order_id = assigned_order["id"]
    rider = demo["rider1"].rider
    cookie = login_cookie(demo["rider1"])

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        for seq in (1, 2):
            await comm.send_json_to({"type": "location", **fix(seq, ts=time.time() - 3 + seq)})
            ack = await comm.receive_json_from(timeout=5)
            assert ack["type"] == "location.ack" and ack["accepted"], ack
        assert (order_id, rider.pk) in live_state._states
        assert rider.pk in live_state._contexts
        r = await asyncio.to_thread(lambda: dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/",
                                                            {"rider": demo["rider2"].rider.pk}, format="json"))
        assert r.status_code == 200
        frames = await frames_until_quiet(comm, 1.0)
        assert {"type": "order.revoked", "order": order_id} in [
            {k: f[k] for k in ("type", "order") if k in f} for f in frames]
        assert (order_id, rider.pk) not in live_state._states
        assert rider.pk not in live_state._contexts
        await comm.send_json_to({"type": "location", **fix(3)})
        ack = await comm.receive_json_from(timeout=5)
        # Free now: answered, and not stored, within 30 s of the last position stored (tests/test_free_position.py).
        assert (ack["accepted"], ack["reason"]) == (False, "sparse")
        assert (order_id, rider.pk) not in live_state._states  # the reloaded context no longer has the order
        await shut(comm)
        assert rider.pk not in live_state._contexts  # the socket closed: nothing kept

    asyncio.run(scenario())


def test_erasure_forgets_the_engine_state(demo, merchant, dispatcher, rider1, staff1):
    order_id = picked_up(merchant, dispatcher, rider1, staff1, demo)
    rider = demo["rider1"].rider
    slow_ping(rider, **fix(1))
    assert live_state._states[(order_id, rider.pk)].last_lat == FAR[0]
    order_shred(order=Order.objects.get(pk=order_id))
    assert (order_id, rider.pk) not in live_state._states


def test_the_version_check_keeps_a_busy_rider_on_the_fast_path_and_drops_a_changed_context(demo, assigned_order):
    """Without it every ping 10 s after the context's last version read took the database path."""
    rider = demo["rider1"].rider
    slow_ping(rider, **fix(1, ts=time.time() - 1))
    live_state._checked[rider.pk] -= live_state.CONTEXT_CHECK_S  # ten seconds later
    assert asyncio.run(live_ping.location_ping_fast(rider=rider, **fix(2))) is None
    assert live_contexts.contexts_version_check() == 0
    assert asyncio.run(live_ping.location_ping_fast(rider=rider, **fix(2))) is not None
    cache.set(context_version_key(rider.pk), "changed elsewhere")  # an event this process's socket missed
    assert live_contexts.contexts_version_check() == 1
    assert rider.pk not in live_state._contexts
    assert asyncio.run(live_ping.location_ping_fast(rider=rider, **fix(3))) is None


def test_the_in_memory_layer_sweeps_expiry_at_most_once_a_second_and_skips_empty_groups(monkeypatch):
    """Profile (py-spy, 300 rider sockets, 250 pings/s): the ETA frame's group_send to a tracking group nobody
    had open cost 10 % of the server's CPU, in the layer's sweep over every channel."""
    from channels.layers import InMemoryChannelLayer

    from dispatch.live.memory_layer import CountingInMemoryChannelLayer

    sweeps = []
    monkeypatch.setattr(InMemoryChannelLayer, "_clean_expired", lambda self: sweeps.append(1))
    layer = CountingInMemoryChannelLayer()

    async def scenario():
        channel = await layer.new_channel()
        await layer.group_add("track.1", channel)
        for _ in range(50):
            await layer.group_send("track.2", {"type": "x"})  # nobody in it
            await layer.group_send("track.1", {"type": "x"})
        return [await layer.receive(channel) for _ in range(50)]

    assert len(asyncio.run(scenario())) == 50
    assert len(sweeps) == 1


def test_a_ping_over_the_socket_makes_no_hop_to_the_sync_thread(demo, assigned_order):
    """Profile (scale, 2,000 sockets, 1,000 pings/s): Channels' consumer hopped to the one sync thread
    before every message (`aclose_old_connections`), 6.9 % of the samples, and each ping queued there behind
    the process's database calls. Once the context is loaded, a ping is judged, recorded and acked with none."""
    cookie = login_cookie(demo["rider1"])
    hops: list[object] = []
    original = SyncToAsync.__call__

    def counted(self, *args, **kwargs):
        hops.append(self.func)
        return original(self, *args, **kwargs)

    async def scenario():
        comm, ok = await open_socket("/ws/rider/", cookie)
        assert ok
        await comm.send_json_to({"type": "location", **fix(1, ts=time.time() - 2)})  # loads the context
        assert (await comm.receive_json_from(timeout=5))["accepted"]
        with mock.patch.object(SyncToAsync, "__call__", counted):
            await comm.send_json_to({"type": "location", **fix(2, ts=time.time() - 1)})
            ack = await comm.receive_json_from(timeout=5)
        await shut(comm)
        return ack

    ack = asyncio.run(scenario())
    assert ack["type"] == "location.ack" and ack["accepted"], ack
    assert hops == []


def test_the_map_batch_goes_out_from_the_event_loop(demo, assigned_order, settings, monkeypatch):
    """Profile (scale profile): the map's batch was flushed by a thread through `async_to_sync`, which built an
    event loop, and on Redis a new connection, for every flush. Pings over the socket now have it flushed by a
    task of the socket's loop: the frame reaches the board with no flusher thread and no `async_to_sync`."""
    import threading

    from dispatch.live import positions

    settings.POSITION_BATCH = True
    settings.POSITION_FLUSH_S = 0.1
    positions.aggregator.take()
    threads: list[str] = []
    original_start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start", lambda self: threads.append(self.name) or original_start(self))

    def refuse(**kwargs):
        raise AssertionError("flushed through async_to_sync")

    monkeypatch.setattr(positions, "ephemeral_publish", refuse)
    rider = demo["rider1"].rider
    desk, phone = login_cookie(demo["dispatcher1"]), login_cookie(demo["rider1"])

    async def scenario():
        board, ok = await open_socket("/ws/dispatch/", desk)
        comm, ok2 = await open_socket("/ws/rider/", phone)
        assert ok and ok2
        for seq in (1, 2):
            await comm.send_json_to({"type": "location", **fix(seq, ts=time.time() - 3 + seq)})
            assert (await comm.receive_json_from(timeout=5))["accepted"]
        frames = []  # until the batch with this rider arrives (a busy machine may take a few flushes)
        while not any(f["type"] == "rider.positions" and rider.pk in {r["rider"] for r in f["riders"]} for f in frames):
            frames.append(await board.receive_json_from(timeout=5))
        await shut(comm, board)
        return frames

    frames = asyncio.run(scenario())
    batches = [f for f in frames if f["type"] == "rider.positions"]
    assert batches and rider.pk in {r["rider"] for r in batches[-1]["riders"]}
    assert "position-aggregator" not in threads


def test_a_ping_builds_no_database_wrapper_per_socket(demo, assigned_order):
    """Found while moving the fast path's writes into the event loop: asking Django's connection handler
    anything from a socket's task builds a DatabaseWrapper for that task (its storage is per task in a
    coroutine), kept while the socket lives: RSS per socket went 23.0 -> 26.7 KiB on the scale bench. The
    common ping, from ten more sockets, leaves no wrapper behind."""
    import gc

    from django.db.backends.base.base import BaseDatabaseWrapper

    cookies = [login_cookie(demo["rider1"]) for _ in range(11)]

    def wrappers() -> int:
        gc.collect()
        # By type, not isinstance: isinstance reads `__class__`, which evaluates lazy objects (a CSP nonce raises).
        return sum(issubclass(type(o), BaseDatabaseWrapper) for o in gc.get_objects())

    async def scenario():
        first, ok = await open_socket("/ws/rider/", cookies[0])
        assert ok
        await first.send_json_to({"type": "location", **fix(1, ts=time.time() - 3)})  # loads the context
        assert (await first.receive_json_from(timeout=5))["accepted"]
        before = wrappers()
        comms = []
        for n, cookie in enumerate(cookies[1:]):
            comm, ok = await open_socket("/ws/rider/", cookie)
            assert ok
            comms.append(comm)
            await comm.send_json_to({"type": "location", **fix(10 + n, ts=time.time() - 2 + n / 100)})
            ack = await comm.receive_json_from(timeout=5)
            assert ack["type"] == "location.ack" and ack["accepted"], ack
        after = wrappers()
        await shut(first, *comms)
        return before, after

    before, after = asyncio.run(scenario())
    assert after == before, f"{after - before} DatabaseWrapper objects for 10 sockets' pings"
