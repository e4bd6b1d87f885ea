"""Overload is counted, not silent: a message the channel layer drops on a full channel is counted,
logged and readable by dispatchers."""

import asyncio
import logging

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from config.asgi import application
from dispatch.board.consumers import DispatchConsumer
from dispatch.live import publish as live_publish
from dispatch.live.layers import overflow_counts, overflow_flush, overflow_reset, shared_reset
from dispatch.services.events import GROUP_DISPATCH
from tests.test_websockets import cookie_for

pytestmark = pytest.mark.django_db(transaction=True)
EXTRA = 5


@pytest.fixture
def stalled_dispatcher(monkeypatch):
    """The dispatcher's socket consumer blocks inside its first frame until the test lets it go, so its
    channel fills up exactly (no timing involved)."""
    entered, release = asyncio.Event(), asyncio.Event()
    original = DispatchConsumer.domain_event

    async def stalled(self, message):
        entered.set()
        await release.wait()
        await original(self, message)

    monkeypatch.setattr(DispatchConsumer, "domain_event", stalled)
    overflow_reset()
    shared_reset()
    yield entered, release
    overflow_reset()
    shared_reset()


def test_group_send_past_capacity_is_counted_logged_and_readable(demo, dispatcher, stalled_dispatcher, caplog):
    """Plays an operator under overload (covers "no frame dropped silently"): the positions that the channel
    layer drops for a slow dispatcher socket show up in the count, the log and the overload endpoint."""
    entered, release = stalled_dispatcher
    cookie = cookie_for(demo["dispatcher1"])

    async def scenario():
        comm = WebsocketCommunicator(application, "/ws/dispatch/",
                                     headers=[(b"host", b"testserver"), (b"origin", b"http://testserver"),
                                              (b"cookie", cookie.encode())])
        connected, _ = await comm.connect()
        assert connected
        assert (await comm.receive_json_from(timeout=2))["type"] == "hello"
        layer = get_channel_layer()
        frame = {"type": "domain.event", "event": {"type": "rider.position", "seq": 0, "rider": 1, "lat": 51.5,
                                                   "lng": -0.1, "at": "2026-01-01T00:00:00+00:00"}}
        await layer.group_send(GROUP_DISPATCH, frame)
        await asyncio.wait_for(entered.wait(), 5)  # the consumer now holds frame 1 and reads nothing more
        for _ in range(layer.capacity + EXTRA):
            await layer.group_send(GROUP_DISPATCH, frame)
        release.set()
        received = 0
        while not await comm.receive_nothing(timeout=0.2):
            await comm.receive_json_from(timeout=2)
            received += 1
        await comm.disconnect()
        return layer.capacity, received

    with caplog.at_level(logging.WARNING, logger="dispatch.live.layers"):
        capacity, received = asyncio.run(scenario())
    assert received == 1 + capacity
    assert overflow_counts() == {"dropped": EXTRA, "by_group": {"dispatch": EXTRA}}
    lines = [r.getMessage() for r in caplog.records if r.name == "dispatch.live.layers"]
    assert len(lines) == 1  # rate-limited: one line for the burst, not one per drop
    assert "channel layer overflow: 1 message(s) dropped" in lines[0] and "group dispatch" in lines[0]
    answer = dispatcher.get("/api/dispatch/overload/")
    assert answer.status_code == 200
    assert {k: answer.json()[k] for k in ("dropped", "by_group")} == {"dropped": EXTRA, "by_group": {"dispatch": EXTRA}}
    overflow_flush()  # what the process's timer does within OVERFLOW_FLUSH_S: the board's figure, every server's
    assert dispatcher.get("/api/dispatch/overload/").json()["all_servers"] == {"dropped": EXTRA, "by_group": {"dispatch": EXTRA}}


def test_overload_endpoint_is_for_dispatchers_only(client_for):
    """Plays a rider and a merchant reading the operator's overload figures: refused."""
    assert client_for("rider1").get("/api/dispatch/overload/").status_code == 403
    assert client_for("merchant1").get("/api/dispatch/overload/").status_code in (401, 403)


@pytest.fixture
def private_redis(tmp_path):
    """A redis-server of this test's own on a free port (the shared one is never flushed or restarted)."""
    import shutil
    import signal
    import subprocess
    import time

    import redis

    from tests.harness import free_port

    if not shutil.which("redis-server"):
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly",
                             "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        for _ in range(100):
            try:
                redis.Redis(port=port).ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=10)


def test_redis_layer_counts_what_its_group_send_drops(private_redis, caplog):
    """Plays an operator on the scale profile (covers "no frame dropped silently"): the Redis layer's
    group_send past a channel's capacity is counted and logged, like the in-memory layer's."""
    from dispatch.live.layers import CountingRedisChannelLayer

    overflow_reset()

    async def scenario():
        layer = CountingRedisChannelLayer(hosts=[private_redis], capacity=3, prefix="overflow-test")
        slow = await layer.new_channel()
        await layer.group_add(GROUP_DISPATCH, slow)
        for i in range(5):
            await layer.group_send(GROUP_DISPATCH, {"type": "domain.event", "event": {"n": i}})
        first = await layer.receive(slow)
        await layer.flush()
        await layer.close_pools()
        return first

    with caplog.at_level(logging.WARNING, logger="dispatch.live.layers"):
        first = asyncio.run(scenario())
    assert first["event"] == {"n": 0}
    assert overflow_counts() == {"dropped": 2, "by_group": {"dispatch": 2}}
    assert any("channel layer overflow" in r.getMessage() for r in caplog.records)
    overflow_reset()


def test_redis_layer_sends_many_groups_in_one_round_trip(private_redis, monkeypatch):
    """Profile (scale profile at 1,000 pings/s): each ETA frame to a tracking page's group cost two Redis
    round trips, even with no page open. `group_send_many` reads 30 groups' members in one round trip, delivers
    to the two groups that have members, in order, and still counts what a full channel drops."""
    from redis.asyncio.connection import AbstractConnection

    from dispatch.live.layers import CountingRedisChannelLayer

    overflow_reset()
    sent: list[int] = []
    original = AbstractConnection.send_packed_command

    async def counting(self, command, check_health=True):
        sent.append(1)
        return await original(self, command, check_health)

    async def scenario():
        layer = CountingRedisChannelLayer(hosts=[private_redis], capacity=3, prefix="many-test")
        page, other = await layer.new_channel(), await layer.new_channel()
        await layer.group_add("track.7", page)
        await layer.group_add("track.8", other)
        items = [(f"track.{n}", {"type": "domain.event", "event": {"n": n}}) for n in range(100, 128)]
        items += [("track.7", {"type": "domain.event", "event": {"n": 1}}),
                  ("track.8", {"type": "domain.event", "event": {"n": 2}})]
        # 4 is past capacity: one process's channels share one Redis key, which holds 3 messages
        items += [("track.7", {"type": "domain.event", "event": {"n": k}}) for k in (3, 4)]
        monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)
        await layer.group_send_many(items)
        monkeypatch.undo()
        got = [(await layer.receive(page))["event"]["n"], (await layer.receive(page))["event"]["n"],
               (await layer.receive(other))["event"]["n"]]
        await layer.flush()
        await layer.close_pools()
        return got

    got = asyncio.run(scenario())
    assert got == [1, 3, 2]
    # 1 round trip for the 30 groups' members; then, per delivery to a group with members, 2 (as group_send).
    assert len(sent) == 1 + 2 * 4
    assert overflow_counts()["dropped"] == 1
    overflow_reset()


def test_ephemeral_frames_on_the_redis_layer_go_out_in_one_batch_per_flush(settings, monkeypatch):
    """The ping path publishes its ETA frames without waiting for Redis; the loop's batch goes out within
    EPHEMERAL_FLUSH_S as one `group_send_many`."""

    settings.EPHEMERAL_FLUSH_S = 0.05
    calls: list[list[tuple[str, dict]]] = []

    class Layer:
        batched_ephemeral = True

        async def group_send_many(self, items):
            calls.append(items)

        async def group_send(self, group, message):
            raise AssertionError("sent one by one")

    layer = Layer()
    monkeypatch.setattr(live_publish, "get_channel_layer", lambda: layer)

    async def scenario():
        for n in range(20):
            await live_publish.ephemeral_publish_async(group=f"track.{n}", type="rider.approaching", payload={"eta_s": n})
        assert calls == []  # nothing awaited Redis
        await asyncio.sleep(0.2)
        await live_publish.ephemeral_publish_async(group="track.1", type="rider.approaching", payload={"eta_s": 9})
        await asyncio.sleep(0.2)

    asyncio.run(scenario())
    assert [len(c) for c in calls] == [20, 1]
    assert calls[0][3] == ("track.3", {"type": "domain.event",
                                       "event": {"type": "rider.approaching", "seq": 0, "eta_s": 3}})


def test_a_burst_past_the_redis_pool_waits_for_a_connection_instead_of_failing(private_redis):
    """Finding (scale bench-live with 1,000-10,000 sockets): redis-py 8's pool raised MaxConnectionsError
    past 100 connections in a connect storm, and the layer's error closed every socket of the process (592 in
    one run). The layer's pool makes the burst wait: 60 concurrent group_adds through a pool of 4."""
    from dispatch.live.layers import CountingRedisChannelLayer

    async def scenario():
        layer = CountingRedisChannelLayer(hosts=[{"address": private_redis, "max_connections": 4}], prefix="burst")
        channels = [await layer.new_channel() for _ in range(60)]
        await asyncio.gather(*(layer.group_add(f"rider.{n}", c) for n, c in enumerate(channels)))
        await layer.group_send("rider.59", {"type": "domain.event", "event": {"n": 59}})
        got = await layer.receive(channels[59])
        await layer.flush()
        await layer.close_pools()
        return got

    assert asyncio.run(scenario())["event"] == {"n": 59}


def test_a_socket_s_group_memberships_stay_small_sorted_sets_in_redis(private_redis):
    """Finding (scale profile, 2,000 rider sockets): each socket's two group sets (its rider's and its
    session's) took about 1,000 bytes each in Redis, because channels-redis's 74-byte channel names pass Redis's
    64-byte `zset-max-listpack-value` and make every set a skiplist. The layer's names are short enough to keep
    each one a listpack; they are still unique and still route messages to their channel."""
    import redis

    from dispatch.live.layers import CountingRedisChannelLayer

    async def scenario():
        layer = CountingRedisChannelLayer(hosts=[private_redis], prefix="names-test")
        names = [await layer.new_channel() for _ in range(1000)]
        await layer.group_add("rider.1", names[0])
        await layer.group_send("rider.1", {"type": "domain.event", "event": {"n": 1}})
        got = await layer.receive(names[0])
        await layer.close_pools()
        return names, got

    names, got = asyncio.run(scenario())
    assert got["event"] == {"n": 1}
    assert len(set(names)) == 1000 and max(len(n) for n in names) <= 64
    r = redis.Redis.from_url(private_redis)
    key = "names-test:group:rider.1"
    assert r.object("encoding", key) == b"listpack"
    assert r.memory_usage(key) < 300, r.memory_usage(key)
