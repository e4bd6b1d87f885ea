"""Location history, written in batches off the ping path.

Pings append to an in-process buffer; a daemon thread writes it with one INSERT per group, in one
transaction with the riders' last positions that came with them: it wakes when rows arrive and writes
what is there. It commits when idle: rows that arrive while a group is being written form the next group,
so groups grow with the load (natural batching). LOCATION_FIX_FLUSH_S (default 10 ms) adds a gather window
before each write, cut short at LOCATION_FIX_BATCH_MAX rows: fewer, larger commits (on the scale profile at
1,000 pings/s it halved the server CPU per ping, for ~5 ms more ack latency). History is a
record, not a decision input: the reveal engine never reads it.

A group costs a few statements, whatever its size: the history goes in with one COPY on PostgreSQL (one
prepared INSERT run over the rows elsewhere), and the riders' last positions with one UPDATE joined to a
VALUES list; the rows' primary keys are not read back. A row is a `FixRow`, a tuple of the history's column
values in their columns' order, not a model instance: building a `LocationFix` and converting it field by field
cost 30-45 µs a ping, 7-9 % of a server's CPU per ping (scale profile, 2026-12). What the fields' conversion would do
to these values (`get_db_prep_save`) is done by `_history_values`, and a test holds the two equal.

Durability contract: `add` returns a future that resolves once its rows are committed. A location ack
waits for it (the ack means "durable"), so a process killed with rows in the buffer loses only fixes
that were never acked: the device still holds them. A failed write keeps the rows (and their futures)
for the next attempt. The futures of one group are one future; the event loop waits on it through one
asyncio future per loop (`fixes_durable`), which the writer resolves with one wake per loop and flush,
not one per waiting ping.

Two writers, one contract. The socket's fast path on PostgreSQL hands its rows to its event loop's own writer
(`LoopWriter`, loop_writer.py): the same gather window, and each group's history and positions written by one statement on an
async connection, so a group commits in one round trip and its pings are resolved in the loop with no thread
between. Everything else (the database path, HTTP pings, SQLite) uses the thread's `FixBuffer`. The statements
both run are statements.py.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import threading
from collections.abc import Iterable
from concurrent.futures import Future
from typing import Any

from django.conf import settings
from django.db import close_old_connections, transaction

from ..models import LocationFix
from . import statements
from .statements import FixRow

log = logging.getLogger(__name__)
RETRY_AFTER_FAILURE_S = 0.5


class GroupFuture(Future):
    """The future of one group commit, shared by its pings. Waiters in an event loop share one asyncio future
    per loop (`loop_future`), resolved from the writer thread with one `call_soon_threadsafe` per loop."""

    def __init__(self) -> None:
        super().__init__()
        self._loops: dict[asyncio.AbstractEventLoop, asyncio.Future] = {}
        self._loops_lock = threading.Lock()
        self._committed = False

    def loop_future(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future | None:
        """This group's future in `loop` (None once the group is committed: nothing to wait for)."""
        with self._loops_lock:
            if self._committed:
                return None
            shared = self._loops.get(loop)
            if shared is None:
                shared = self._loops[loop] = loop.create_future()
            return shared

    def committed(self) -> dict[asyncio.AbstractEventLoop, asyncio.Future]:
        """Mark the group committed (and its concurrent future done); returns its loops' futures to resolve."""
        with self._loops_lock:
            self._committed = True
            loops, self._loops = self._loops, {}
        if not self.done():
            self.set_result(None)
        return loops


def _done() -> Future:
    future: Future = Future()
    future.set_result(None)
    return future


def _resolve(futures: list[asyncio.Future]) -> None:
    for future in futures:
        if not future.done():
            future.set_result(None)


def _wake_loops(groups: Iterable[GroupFuture]) -> None:
    """Resolve the groups: their concurrent futures here, their loops' futures with ONE wake per loop."""
    per_loop: dict[asyncio.AbstractEventLoop, list[asyncio.Future]] = {}
    for group in groups:
        for loop, shared in group.committed().items():
            per_loop.setdefault(loop, []).append(shared)
    for loop, shared_futures in per_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, shared_futures)
        except RuntimeError:  # the loop is closed: nobody waits there any more
            pass


class FixBuffer:
    def __init__(self) -> None:
        self._rows: list[FixRow] = []
        self._positions: dict[int, tuple[float, float, Any]] = {}  # rider id -> last (lat, lng, at)
        self._futures: list[GroupFuture] = [GroupFuture()]  # the last one is the open group's
        self._lock = threading.Lock()
        self._flushing = threading.Lock()  # one flush at a time: a second waits for the first, and its put-back
        self._wake = threading.Event()  # rows are waiting
        self._full = threading.Event()  # enough rows: write without waiting out the gather window
        self._thread: threading.Thread | None = None

    def add(self, rows: list[FixRow], *, position: tuple[int, float, float, Any] | None = None) -> Future:
        """Queue rows (and the rider's last known position, `(rider id, lat, lng, at)`); the future resolves
        when they are committed."""
        if not settings.LOCATION_FIX_BATCH:
            with transaction.atomic():
                LocationFix.objects.bulk_create([row.model() for row in rows])
                if position is not None:
                    statements._positions_save({position[0]: position[1:]})
            return _done()
        with self._lock:
            self._rows.extend(rows)
            if position is not None:
                self._positions[position[0]] = position[1:]
            future = self._futures[-1]
            full = len(self._rows) >= settings.LOCATION_FIX_BATCH_MAX
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fix-flusher", daemon=True)
                self._thread.start()
        self._wake.set()
        if full:
            self._full.set()
        return future

    def flush(self) -> int:
        """Write what is buffered now. Returns the rows written (0 on failure: they stay buffered). A flush that
        another thread has in flight is waited for first, so that what it fails to write (and puts back) is
        written by this one, not left behind it: "write what is buffered now" holds for a shutdown's flush or
        a test's while the writer thread retries."""
        with self._flushing:
            return self._flush()

    def _flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
            positions, self._positions = self._positions, {}
            futures, self._futures = self._futures, [GroupFuture()]
        if rows or positions:
            try:
                with transaction.atomic():
                    statements._history_insert(rows)
                    statements._positions_save(positions)
            except Exception:
                log.exception("could not write %s location fixes; keeping them for the next flush", len(rows))
                with self._lock:
                    self._rows[:0] = rows
                    self._positions = {**positions, **self._positions}
                    self._futures[:0] = futures
                return 0
        _wake_loops(futures)
        return len(rows)

    def pending(self) -> int:
        return len(self._rows) + len(self._positions)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._full.wait(settings.LOCATION_FIX_FLUSH_S)  # the gather window of one group commit
            self._wake.clear()
            self._full.clear()
            try:
                close_old_connections()
                written = self.flush()
            except Exception:  # the writer outlives a database that is away: the rows stay buffered
                log.exception("location fix writer failed; retrying")
                written = 0
            if written == 0 and self.pending():
                self._full.wait(RETRY_AFTER_FAILURE_S)
                self._wake.set()


buffer = FixBuffer()
atexit.register(buffer.flush)


def fixes_wait_durable(future: Future, *, wait_s: float | None = None) -> bool:
    """Block until the fixes behind `future` are committed; False if that takes over LOCATION_ACK_TIMEOUT_S."""
    try:
        future.result(timeout=settings.LOCATION_ACK_TIMEOUT_S if wait_s is None else wait_s)
    except concurrent.futures.TimeoutError:
        return False
    return True


async def fixes_durable(future: Future | asyncio.Future, *, wait_s: float | None = None) -> bool:
    """`fixes_wait_durable` for the event loop: waits without holding a thread, on the group's future in this
    loop (one wake for all its pings). A timeout or a cancelled waiter leaves the group's future alone."""
    if future.done():
        return True
    timeout = settings.LOCATION_ACK_TIMEOUT_S if wait_s is None else wait_s
    shared: asyncio.Future | None
    if isinstance(future, asyncio.Future):  # a loop writer's group: waited on as it is (never cancelled here)
        shared = future
    elif isinstance(future, GroupFuture):
        shared = future.loop_future(asyncio.get_running_loop())
        if shared is None:
            return True
    else:  # not a group's: a wake of its own
        shared = asyncio.wrap_future(future)
    return await _verdict(shared, timeout)


class _Verdict(asyncio.Future):
    """A group's answer for all its waiters in one loop and with one timeout: True at the commit, False at the
    deadline. It is shared, so it ignores `cancel`: a waiter cancelled meanwhile (its socket closed) ends
    cancelled when the verdict comes, at most the timeout later, and does not cancel it for the others."""

    def cancel(self, msg: Any = None) -> bool:
        return False


# (the group's future, the timeout) -> its waiters' verdict, until the commit or the deadline settles it.
_verdicts: dict[tuple[asyncio.Future, float], _Verdict] = {}


def _verdict(shared: asyncio.Future, timeout: float) -> _Verdict:
    """One timer and one callback per group, not per waiting ping: `asyncio.wait(..., timeout=)` for each ping cost
    22-26 µs more than awaiting a shared future (scale profile, 2026-12). A waiter that comes after the
    deadline gets a verdict of its own, with its own timeout."""
    key = (shared, timeout)
    verdict = _verdicts.get(key)
    if verdict is None:
        loop = shared.get_loop()
        verdict = _verdicts[key] = _Verdict(loop=loop)
        deadline = loop.call_later(timeout, _settle, key, verdict, False)

        def committed(done: asyncio.Future) -> None:
            deadline.cancel()
            _settle(key, verdict, not done.cancelled())

        shared.add_done_callback(committed)
    return verdict


def _settle(key: tuple[asyncio.Future, float], verdict: _Verdict, ok: bool) -> None:
    if _verdicts.get(key) is verdict:
        del _verdicts[key]
    if not verdict.done():
        verdict.set_result(ok)
