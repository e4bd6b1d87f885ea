"""The batch writer of one event loop, for the socket's fast path on PostgreSQL (writer.py says the contract)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import logging
import weakref
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

from . import statements
from .loops import PerLoop
from .statements import FixRow
from .writer import RETRY_AFTER_FAILURE_S, _resolve, buffer

log = logging.getLogger("dispatch.live.writer")  # one log for both writers
LOOP_WRITER_APPLICATION = "dispatch-fix-loop-writer"


class LoopWriter:
    """The batch writer of one event loop, for the socket's fast path on PostgreSQL: the group is written on an
    async connection of the loop's own, so a ping's ack waits for PostgreSQL and nothing else. The thread writer
    costs three more hops per group (a wake of its thread, the GIL taken back after each of its statements while
    the loop runs Python, and a wake of the loop), and each hop waits for a core the loop is using.

    Same contract as `FixBuffer`: the same gather window and group size, the same values (in one statement,
    `_group_statement`); `add` returns a future that resolves
    once the rows are committed, and a failed write keeps the rows and their waiters for the next attempt (after
    RETRY_AFTER_FAILURE_S, on a new connection). Rows still here when the loop ends go to the thread writer."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._rows: list[FixRow] = []
        self._positions: dict[int, tuple[float, float, Any]] = {}
        self._futures: list[asyncio.Future] = [loop.create_future()]  # the last one is the open group's
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._conn: Any = None  # psycopg.AsyncConnection, opened on the first write
        self.groups = 0  # groups committed: for tests and the bench

    def add(self, rows: list[FixRow], *, position: tuple[int, float, float, Any] | None = None) -> asyncio.Future:
        """Queue rows and the rider's last position (call in the loop); the future resolves at the commit."""
        self._rows.extend(rows)
        if position is not None:
            self._positions[position[0]] = position[1:]
        if self._task is None or self._task.done():
            self._task = self.loop.create_task(self._run(), name="fix-loop-writer")
            _loop_writers.add(self)
        self._wake.set()
        if len(self._rows) >= settings.LOCATION_FIX_BATCH_MAX:
            self._full.set()
        return self._futures[-1]

    def pending(self) -> int:
        return len(self._rows) + len(self._positions)

    async def _run(self) -> None:
        try:
            while True:
                await self._wake.wait()
                if not self._full.is_set():
                    try:  # the gather window of one group commit, cut short by a full group
                        await asyncio.wait_for(self._full.wait(), settings.LOCATION_FIX_FLUSH_S)
                    except TimeoutError:
                        pass
                self._wake.clear()
                self._full.clear()
                if not await self.flush() and self.pending():
                    await asyncio.sleep(RETRY_AFTER_FAILURE_S)
                    self._wake.set()
        finally:
            self.hand_over()
            await self._drop_connection()

    async def flush(self) -> bool:
        """Write what is queued now, in one transaction; False on failure (the rows stay queued)."""
        rows, self._rows = self._rows, []
        positions, self._positions = self._positions, {}
        futures, self._futures = self._futures, [self.loop.create_future()]
        if rows or positions:
            try:
                conn = await self._connection()
                # One statement, its own transaction on this autocommit connection: one round trip for the group.
                async with conn.cursor() as cursor:
                    await cursor.execute(*statements._group_statement(rows, positions))
            except Exception:
                log.exception("could not write %s location fixes from the event loop; keeping them", len(rows))
                self._rows[:0] = rows
                self._positions = {**positions, **self._positions}
                self._futures[:0] = futures
                await self._drop_connection()
                return False
            self.groups += 1
        _resolve(futures)
        return True

    async def _connection(self) -> Any:
        if self._conn is None or self._conn.closed:
            import psycopg

            params = connections[DEFAULT_DB_ALIAS].get_connection_params()  # Django's, with its adapters
            params.pop("cursor_factory", None)  # a sync class; the async cursor binds on the server side
            params.setdefault("application_name", LOOP_WRITER_APPLICATION)  # named in pg_stat_activity
            if "prepare_threshold" not in settings.DATABASES[DEFAULT_DB_ALIAS].get("OPTIONS", {}):
                # Django turns psycopg's server-side preparing off (for poolers); the group statement is one text,
                # prepared after psycopg's default of five runs, unless the settings say otherwise.
                params["prepare_threshold"] = 5
            self._conn = await psycopg.AsyncConnection.connect(**params, autocommit=True)
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:  # it failed, or the loop is ending: a close that fails too changes nothing
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await conn.close()

    def hand_over(self) -> None:
        """Give what is still queued to the thread writer (the loop is ending): its waiters are this loop's and
        go with it, but the fixes are written all the same."""
        rows, self._rows = self._rows, []
        positions, self._positions = self._positions, {}
        for rider_id, value in positions.items():
            buffer.add([], position=(rider_id, *value))
        if rows:
            buffer.add(rows)


_loop_writers: weakref.WeakSet[LoopWriter] = weakref.WeakSet()
_per_loop: PerLoop[LoopWriter] = PerLoop(LoopWriter)


def loop_writer() -> LoopWriter | None:
    """The running loop's writer when the loop may write for itself (PostgreSQL, the batch on), else None:
    then the thread writer takes the rows."""
    if not (settings.LOCATION_FIX_BATCH and settings.LOCATION_FIX_LOOP_WRITER):
        return None
    # From the settings, not `connections[...]`: in a coroutine, Django's connection handler keeps one wrapper
    # per task, so asking it from every socket's task built and kept a DatabaseWrapper per socket (3.7 KiB each).
    if not settings.DATABASES[DEFAULT_DB_ALIAS]["ENGINE"].endswith(".postgresql"):
        return None
    return _per_loop.get()


@atexit.register
def _hand_over_all() -> None:  # registered after buffer.flush, so it runs before it
    for writer in list(_loop_writers):
        writer.hand_over()
