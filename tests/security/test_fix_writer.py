"""The location-fix batch writer (dispatch/live/writer.py), the writer's share of the scale profile:
a group's history goes in with one statement of the writer's own (COPY on PostgreSQL) and the riders' last
positions with one UPDATE, writing what Django's `bulk_create` and `update` write; and the event loop is woken
once per group, not once per waiting ping. Durability is unchanged: an ack only after the commit, a failed
write keeps its rows and waiters, a waiter that times out or is cancelled leaves the group to the others."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from dispatch.live import loop_writer as loop_writer_module
from dispatch.live import statements
from dispatch.live.statements import FixRow
from dispatch.live.writer import FixBuffer, fixes_durable, fixes_wait_durable
from dispatch.models import LocationFix, Order, Rider
from tests import fix_roundtrip
from tests.factories import RiderFactory

pytestmark = pytest.mark.django_db(transaction=True)
AT = datetime(2026, 12, 1, 5, 0, tzinfo=UTC)


@pytest.fixture
def batched(settings):
    settings.LOCATION_FIX_BATCH = True  # as in production: the history goes through the batch writer
    settings.LOCATION_FIX_FLUSH_S = 0.0


def idle_buffer() -> FixBuffer:
    """A buffer whose writer thread never starts: the test decides when it flushes."""
    buf = FixBuffer()
    buf._thread = threading.current_thread()  # alive, so `add` starts no writer
    return buf


def row(rider: Rider, seq: int) -> FixRow:
    return FixRow(rider.pk, None, 51.53, -0.1196, 8.0, AT, AT, seq, True)


async def flush_in_thread(buf: FixBuffer) -> int:
    """The writer thread's flush, while the loop keeps running (and without an executor's own wake)."""
    done = threading.Event()
    written: list[int] = []
    thread = threading.Thread(target=lambda: (written.append(buf.flush()), done.set()))
    thread.start()
    while not done.is_set():  # noqa: ASYNC110 - polled: a thread-safe wake would count in the wake test
        await asyncio.sleep(0.005)
    thread.join()
    return written[0]


def test_the_history_insert_writes_what_bulk_create_writes(demo, posted_order):
    """Converted as Django converts them: aware datetimes (another zone, microseconds) as UTC, an int as a float,
    both booleans, a missing order, non-ASCII text, a 40-bit seq. PostgreSQL: tests/integration/test_fix_writer_pg.py."""
    orm, writer = fix_roundtrip.history(demo["rider1"].rider, Order.objects.get(pk=posted_order["id"]))
    assert len(orm) == 3 and orm[1]["order_id"] is None and orm[1]["accuracy"] == 12.0
    assert writer == orm
    assert fix_roundtrip.fields_agree(demo["rider1"].rider, Order.objects.get(pk=posted_order["id"]))


@pytest.mark.parametrize("update_from", [True, False], ids=["update-from", "sqlite-before-3.33"])
def test_the_last_positions_save_what_the_orm_saves(demo, monkeypatch, update_from):
    monkeypatch.setattr(statements, "SQLITE_UPDATE_FROM", update_from and statements.SQLITE_UPDATE_FROM)
    orm, writer = fix_roundtrip.positions(list(Rider.objects.order_by("pk")))
    assert orm and all(lat is not None for _, lat, _, _ in orm)
    assert writer == orm


def test_no_loop_writer_on_sqlite_the_thread_writes(demo, batched):
    """The loop's own writer is PostgreSQL's (an async driver); on SQLite the fast path's rows go to the thread."""

    async def which():
        return loop_writer_module.loop_writer()

    assert asyncio.run(which()) is None


def test_a_group_costs_one_insert_and_one_update_whatever_its_size(demo, batched):
    """300 fixes and 50 riders' last positions: one INSERT and one UPDATE (were one UPDATE per rider and an
    INSERT per 99 rows on SQLite)."""
    riders = RiderFactory.create_batch(50)
    buf = idle_buffer()
    for i, rider in enumerate(riders):
        buf.add([row(rider, 1000 * i + k) for k in range(6)], position=(rider.pk, 51.5 + i / 100, -0.12, AT))
    with CaptureQueriesContext(connection) as queries:
        assert buf.flush() == 300
    statements = [q["sql"] for q in queries]  # an executemany is one statement, logged once
    assert sum("INSERT INTO" in q for q in statements) == 1, [q[:80] for q in statements]
    assert sum("UPDATE " in q for q in statements) == 1, [q[:80] for q in statements]
    assert LocationFix.objects.filter(rider__in=riders).count() == 300
    saved = dict(Rider.objects.filter(pk__in=[r.pk for r in riders]).values_list("pk", "last_lat"))
    assert saved == {r.pk: 51.5 + i / 100 for i, r in enumerate(riders)}


def test_one_event_loop_wake_per_group_for_50_waiting_pings(demo, batched):
    """50 pings of one group waiting in one loop: the writer wakes the loop once (was once per ping), and not
    one of them is acked before the commit."""
    rider = demo["rider1"].rider
    buf = idle_buffer()

    async def scenario():
        loop = asyncio.get_running_loop()
        futures = [buf.add([row(rider, seq)]) for seq in range(50)]
        waiters = [asyncio.ensure_future(fixes_durable(f)) for f in futures]
        await asyncio.sleep(0.05)
        early = [w for w in waiters if w.done()]
        wakes = []
        real = loop.call_soon_threadsafe

        def counting(callback, *args, **kwargs):
            wakes.append(callback)
            return real(callback, *args, **kwargs)

        loop.call_soon_threadsafe = counting  # type: ignore[method-assign]
        try:
            written = await flush_in_thread(buf)
            acks = await asyncio.wait_for(asyncio.gather(*waiters), 5)
        finally:
            del loop.call_soon_threadsafe
        return early, written, acks, wakes

    early, written, acks, wakes = asyncio.run(scenario())
    assert early == [] and written == 50 and acks == [True] * 50
    assert len(wakes) == 1, wakes
    assert LocationFix.objects.filter(rider=rider, seq__lt=50).count() == 50


def test_a_failed_write_keeps_the_rows_and_their_waiters_for_the_next_attempt(demo, batched, monkeypatch):
    rider = demo["rider1"].rider
    buf = idle_buffer()
    real = statements._history_insert

    def failing(rows):
        raise DatabaseError("the database is away")

    async def scenario():
        futures = [buf.add([row(rider, seq)], position=(rider.pk, 51.0, -0.1, AT)) for seq in range(10)]
        waiters = [asyncio.ensure_future(fixes_durable(f)) for f in futures]
        monkeypatch.setattr(statements, "_history_insert", failing)
        failed = await flush_in_thread(buf)
        await asyncio.sleep(0.05)
        after_failure = (buf.pending(), [w.done() for w in waiters])
        monkeypatch.setattr(statements, "_history_insert", real)
        written = await flush_in_thread(buf)
        return failed, after_failure, written, await asyncio.wait_for(asyncio.gather(*waiters), 5)

    failed, after_failure, written, acks = asyncio.run(scenario())
    assert failed == 0 and after_failure == (11, [False] * 10)  # 10 rows and the rider's position, nobody acked
    assert written == 10 and acks == [True] * 10
    assert LocationFix.objects.filter(rider=rider, seq__lt=10).count() == 10
    assert Rider.objects.get(pk=rider.pk).last_lat == 51.0


def test_a_flush_waits_for_one_in_flight_and_writes_what_that_one_put_back(demo, batched, monkeypatch):
    """CI found it (tests/security/test_durable_ack.py): the writer thread's retry was inside a failing write when
    the test's own flush ran, found the buffer empty (the rows were in flight) and returned; the retry then put
    the rows back, unwritten. Here the two flushes overlap by construction."""
    rider = demo["rider1"].rider
    buf = idle_buffer()
    real = statements._history_insert
    inside, release = threading.Event(), threading.Event()

    def failing_slowly(rows):
        inside.set()
        release.wait(5)
        raise DatabaseError("the database is away")

    buf.add([row(rider, 1)])
    monkeypatch.setattr(statements, "_history_insert", failing_slowly)
    first: list[int] = []
    retry = threading.Thread(target=lambda: first.append(buf.flush()))
    retry.start()
    assert inside.wait(5)
    monkeypatch.setattr(statements, "_history_insert", real)
    second: list[int] = []
    mine = threading.Thread(target=lambda: second.append(buf.flush()))
    mine.start()
    mine.join(0.2)  # it waits for the flush in flight
    release.set()
    retry.join(5)
    mine.join(5)
    assert first == [0] and second == [1]
    assert LocationFix.objects.filter(rider=rider, seq=1).count() == 1
    assert buf.pending() == 0


def test_a_timed_out_or_cancelled_waiter_leaves_the_group_to_the_others(demo, batched):
    """The ack timeout still answers not_saved, and neither it nor a closed socket's cancelled wait cancels the
    future the rest of the group waits on."""
    rider = demo["rider1"].rider
    buf = idle_buffer()

    async def scenario():
        future = buf.add([row(rider, 1)])
        cancelled = asyncio.ensure_future(fixes_durable(future))
        patient = asyncio.ensure_future(fixes_durable(future))
        await asyncio.sleep(0)
        cancelled.cancel()
        timed_out = await fixes_durable(future, wait_s=0.05)
        assert not patient.done()
        await flush_in_thread(buf)
        return timed_out, await asyncio.wait_for(patient, 5), await fixes_durable(future), cancelled.cancelled()

    assert asyncio.run(scenario()) == (False, True, True, True)


def test_a_group_waited_on_from_a_closed_loop_still_commits_and_the_sync_wait_sees_it(demo, batched):
    rider = demo["rider1"].rider
    buf = idle_buffer()
    future = buf.add([row(rider, 1)])
    assert asyncio.run(fixes_durable(future, wait_s=0.01)) is False  # that loop is closed now
    assert not fixes_wait_durable(future, wait_s=0.01)
    assert buf.flush() == 1
    assert fixes_wait_durable(future, wait_s=1)
    assert asyncio.run(fixes_durable(future)) is True


def test_the_sync_path_gets_the_groups_future(demo, batched):
    """The HTTP fallback (no event loop) waits with `fixes_wait_durable` on the same group."""
    rider = demo["rider1"].rider
    buf = idle_buffer()
    first, second = buf.add([row(rider, 1)]), buf.add([row(rider, 2)])
    assert first is second and not first.done()
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(fixes_wait_durable(first, wait_s=5)))
    waiter.start()
    assert buf.flush() == 2
    waiter.join(5)
    assert results == [True]


def test_a_groups_waiters_share_one_deadline_timer(demo, batched):
    """Each ping's wait for its group's commit used to arm a timer of its own (`asyncio.wait` with a timeout):
    100 waiters, 100 timers. They share the group's verdict now: one timer, and every waiter still acked."""
    rider = demo["rider1"].rider
    buf = idle_buffer()

    async def scenario():
        loop = asyncio.get_running_loop()
        timers: list[float] = []
        real = loop.call_later

        def counting(delay, callback, *args, **kwargs):
            timers.append(delay)
            return real(delay, callback, *args, **kwargs)

        loop.call_later = counting  # type: ignore[method-assign]
        future = buf.add([row(rider, seq) for seq in range(1, 101)])
        waiters = [asyncio.ensure_future(fixes_durable(future)) for _ in range(100)]
        await asyncio.sleep(0)
        armed = len(timers)
        await flush_in_thread(buf)
        return armed, await asyncio.wait_for(asyncio.gather(*waiters), 5)

    armed, acked = asyncio.run(scenario())
    assert armed == 1
    assert acked == [True] * 100
