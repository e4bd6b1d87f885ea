"""The periodic safety re-check, in bulk: one sweep per process re-checks the sockets falling due together.

Finding (py-spy of the scale profile, 2026-12, at 2,000 rider sockets and 1,000 pings/s): each socket re-checked
itself every SOCKET_RECHECK_S, with a session read and an account query of its own, 15.6 % of the servers'
samples at 67 checks a second; 10,000 sockets make 333 a second. And a socket re-checked only when a frame
came, so an idle socket whose access had ended stayed open."""

from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.sessions.backends.cached_db import SessionStore
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dispatch.live.sockets import _open_sockets
from dispatch.live.sweep import _LOAD, SWEEP_EVERY_S, verify_many
from dispatch.models import Dispatcher, Staff

from .socket_helpers import frames_until_closed, login_cookie, open_socket, session_key, shut, tracking_token

pytestmark = pytest.mark.django_db(transaction=True)
RECHECK_S = 2.0  # swept (dispatch.live.sweep.SWEPT_FROM_S), and short enough for a test


@pytest.fixture(autouse=True)
def swept(settings):
    settings.SOCKET_RECHECK_S = RECHECK_S


async def open_consumer(path: str, cookie: str | None = None):
    """The communicator and the consumer instance behind it."""
    before = set(_open_sockets)
    comm, ok = await open_socket(path, cookie)
    assert ok, path
    (consumer,) = set(_open_sockets) - before
    return comm, consumer


def test_an_idle_socket_whose_role_was_removed_is_closed_by_the_sweep(demo):
    """Plays a dispatcher taken off the role while the board sits open and nothing happens: before, the socket
    was re-checked only before a frame, so it stayed open; now the sweep closes it within its re-check period."""
    cookie = login_cookie(demo["dispatcher1"])

    async def scenario():
        comm, _ = await open_consumer("/ws/dispatch/", cookie)
        await sync_to_async(lambda: Dispatcher.objects.filter(user=demo["dispatcher1"]).delete())()
        assert await frames_until_closed(comm, wait_s=RECHECK_S + 3 * SWEEP_EVERY_S) == ([], 4403)
        await shut(comm)

    asyncio.run(scenario())


def test_the_sweep_keeps_a_live_socket_trusted_without_its_own_check(demo, monkeypatch):
    """A socket whose access holds is re-trusted by the sweep before its verdict runs out, so a frame after that
    never waits for a check of its own (which reads the session itself: `_verify()` with no store)."""
    from dispatch.board.consumers import DispatchConsumer

    own_checks: list[bool] = []
    original = DispatchConsumer._verify
    monkeypatch.setattr(DispatchConsumer, "_verify",
                        lambda self, store=_LOAD: own_checks.append(store is _LOAD) or original(self, store))
    cookie = login_cookie(demo["dispatcher1"])

    async def scenario():
        comm, consumer = await open_consumer("/ws/dispatch/", cookie)
        first = consumer.trusted_until
        await asyncio.sleep(RECHECK_S + 2 * SWEEP_EVERY_S)
        assert consumer.trusted_until > first  # renewed by the sweep
        await comm.send_json_to({"type": "noop"})  # a frame after the first verdict ran out
        assert (await comm.receive_json_from(timeout=2))["code"] == "unknown_type"
        await shut(comm)

    asyncio.run(scenario())
    assert own_checks and not any(own_checks)  # checked, by the sweep only


def test_the_sweep_s_verdicts_match_each_socket_s_own_check(demo, posted_order):
    """The bulk check answers what each socket's own check answers: a live login, a flushed session, a store
    clerk whose role row is gone, a password changed elsewhere, a rider, a tracking link."""
    cookies = {name: login_cookie(demo[user]) for name, user in
               [("live", "dispatcher1"), ("flushed", "dispatcher1"), ("unstaffed", "store1"),
                ("password", "dispatcher1"), ("rider", "rider1")]}

    async def scenario():
        socks = {}
        for name, path in [("live", "/ws/dispatch/"), ("flushed", "/ws/dispatch/"), ("unstaffed", "/ws/store/"),
                           ("password", "/ws/dispatch/"), ("rider", "/ws/rider/")]:
            socks[name] = await open_consumer(path, cookies[name])
        socks["tracking"] = await open_consumer(f"/ws/track/{tracking_token(posted_order)}/")

        def change():
            SessionStore(session_key=session_key(cookies["flushed"])).delete()
            Staff.objects.filter(user=demo["store1"]).delete()
            user = demo["dispatcher1"].__class__.objects.get(pk=demo["dispatcher1"].pk)
            user.set_password("a new one, set elsewhere")
            user.save()

        await sync_to_async(change)()
        consumers = [c for _, c in socks.values()]
        bulk = await sync_to_async(verify_many)(consumers)
        own = [await sync_to_async(c._verify)() for c in consumers]
        for comm, _ in socks.values():
            await shut(comm)
        return bulk, own

    bulk, own = asyncio.run(scenario())
    # The password change ends the "live" login too: every session of that account (its hash changed).
    assert bulk == own == [False, False, False, False, True, True]


@pytest.mark.parametrize("cache_cold", [False, True], ids=["sessions-cached", "sessions-from-database"])
def test_the_sweep_costs_the_same_queries_for_4_sockets_as_for_16(demo, cache_cold):
    """Counts the queries of one bulk check of 4 and of 16 sockets (dispatchers, store clerks, riders): one per
    kind of socket for the accounts, and one for the sessions when the cache does not hold them. The per-socket
    check cost one to two queries a socket."""
    plan = [("/ws/dispatch/", "dispatcher1"), ("/ws/store/", "store1"), ("/ws/rider/", "rider1"), ("/ws/rider/", "rider2")]
    cookies = [(path, login_cookie(demo[user])) for path, user in plan * 4]

    def counted(consumers):
        if cache_cold:
            caches["default"].clear()
        with CaptureQueriesContext(connection) as queries:
            verdicts = verify_many(consumers)
        return verdicts, len(queries)

    async def scenario():
        opened = [await open_consumer(path, cookie) for path, cookie in cookies]
        consumers = [c for _, c in opened]
        small = await sync_to_async(counted)(consumers[:4])
        large = await sync_to_async(counted)(consumers)
        for comm, _ in opened:
            await shut(comm)
        return small, large

    (small, n_small), (large, n_large) = asyncio.run(scenario())
    assert small == [True] * 4 and large == [True] * 16
    assert n_small == n_large == 3 + cache_cold


def _drawn_terms(monkeypatch) -> list[float]:
    """The first terms the consumers draw, as they drew them (not measured against the test's clock)."""
    from dispatch.board.consumers import DispatchConsumer

    drawn: list[float] = []
    original = DispatchConsumer._first_recheck_s

    def recorded(self) -> float:
        drawn.append(original(self))
        return drawn[-1]

    monkeypatch.setattr(DispatchConsumer, "_first_recheck_s", recorded)
    return drawn


def test_sockets_opened_together_fall_due_over_half_a_period_never_later_than_one(demo, settings, monkeypatch):
    """Plays a fleet starting its shift (or reconnecting after a deploy): sockets opened in the same second used to
    fall due in the same sweep, every period, and the sweep then checked thousands of sessions at once. Their
    first term is now spread over half a period, and no socket is trusted longer than a full one."""
    settings.SOCKET_RECHECK_S = 30.0
    cookie = login_cookie(demo["dispatcher1"])
    terms = _drawn_terms(monkeypatch)

    async def scenario():
        opened = []
        for _ in range(20):
            before = time.monotonic()
            comm, consumer = await open_consumer("/ws/dispatch/", cookie)
            after = time.monotonic()
            opened.append(comm)
            # Trusted for exactly its drawn term, counted from its opening (an order of instants, no duration).
            assert before <= consumer.trusted_until - terms[-1] <= after, (before, consumer.trusted_until, after)
        for comm in opened:
            await shut(comm)

    asyncio.run(scenario())
    assert len(terms) == 20, terms
    assert 15.0 <= min(terms) and max(terms) <= 30.0, terms
    assert max(terms) - min(terms) > 5.0, terms  # 20 draws over 15 s: all within 5 s has odds of about 1 in 10^8


def test_a_socket_checked_per_frame_keeps_its_exact_period(demo, settings, monkeypatch):
    settings.SOCKET_RECHECK_S = 1.0  # below SWEPT_FROM_S: each socket checks itself
    cookie = login_cookie(demo["dispatcher1"])
    terms = _drawn_terms(monkeypatch)

    async def scenario():
        before = time.monotonic()
        comm, consumer = await open_consumer("/ws/dispatch/", cookie)
        after = time.monotonic()
        await shut(comm)
        return before, consumer.trusted_until, after

    before, trusted_until, after = asyncio.run(scenario())
    assert terms == [1.0]
    assert before <= trusted_until - 1.0 <= after, (before, trusted_until, after)


def test_a_socket_that_renewed_its_own_verdict_is_still_swept_after_its_access_ends(demo, settings, monkeypatch):
    """Plays a dispatcher removed from the role after their socket renewed its verdict by a check of its own (a
    frame after the first verdict ran out). The socket still waits in the slot of its first verdict; when that
    slot comes round before the new verdict is due, the socket must move to the new verdict's slot, not be
    dropped, and that later sweep must close it."""
    from dispatch.board.consumers import DispatchConsumer

    settings.SOCKET_RECHECK_S = 6.0
    monkeypatch.setattr(DispatchConsumer, "_first_recheck_s", lambda self: 3.0)  # first slot: 3 s out
    cookie = login_cookie(demo["dispatcher1"])

    async def scenario():
        comm, consumer = await open_consumer("/ws/dispatch/", cookie)
        consumer.trusted_until = 0.0  # the first verdict ran out: the next frame checks itself
        before = time.monotonic()
        await comm.send_json_to({"type": "noop"})
        assert (await comm.receive_json_from(timeout=2))["code"] == "unknown_type"
        assert consumer.trusted_until >= before + 6  # renewed by its own check, after `before`: 6 s out
        await sync_to_async(lambda: Dispatcher.objects.filter(user=demo["dispatcher1"]).delete())()
        assert await frames_until_closed(comm, wait_s=6 + 3 * SWEEP_EVERY_S) == ([], 4403)
        await shut(comm)

    asyncio.run(scenario())


class FakeSocket:
    def __init__(self, trusted_until: float) -> None:
        self.trusted_until = trusted_until
        self.ended = False


def test_a_sweep_reads_only_the_slots_falling_due():
    """Scale bench (2026-12): each sweep scanned every open socket of the process (5,000 at the scale bench's 10,000
    riders, 11-28 ms a second of the event loop). Now sockets wait in slots by the second their verdict ends."""
    from dispatch.live.sweep import SWEEP_AHEAD_S, _Sweeper

    async def scenario():
        sweeper = _Sweeper(asyncio.get_running_loop())
        now = 1000.25
        sockets = [FakeSocket(now + i * 0.01) for i in range(3000)]  # due over the next 30 s
        for sock in sockets:
            sweeper.add(sock)
        sockets[0].ended = True
        picked = sweeper.due(now)
        # the slots up to now + SWEEP_AHEAD_S, whole seconds: everything before 1002.0, the ended one left out
        assert picked == [s for s in sockets[1:] if s.trusted_until < int(now + SWEEP_AHEAD_S) + 1]
        assert len(picked) == 174
        left = sum(len(refs) for refs in sweeper.slots.values())
        assert left == 3000 - 175  # taken out of their slots; the sweep puts each back at its verdict's new end
        assert sweeper.due(now) == []
        sweeper.task.cancel()

    asyncio.run(scenario())
