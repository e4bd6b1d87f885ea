"""The dispatch map's live positions, batched: one `rider.positions` frame per POSITION_FLUSH_S from this
process, carrying the latest position of every rider who moved, instead of one group send per ping.

Frames carry a rider id, coordinates and a time, nothing else. `seq` rises per process: a board keeps a
rider's newest `at`, so frames from several processes may interleave.

Under a server, the flush runs as a task of the event loop that handles the sockets' pings (`attach`, called
by the ping path): it sends with the layer's own coroutine. A process with no such loop (pings over HTTP
only) flushes from a daemon thread instead, through `async_to_sync`, which builds an event loop (and, on
Redis, a connection) per flush."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from django.conf import settings

from ..services.events import GROUP_DISPATCH
from .loops import task_running
from .publish import ephemeral_publish, publish_now_async

log = logging.getLogger(__name__)


class PositionAggregator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[int, dict[str, Any]] = {}
        self._seq = 0
        self._thread: threading.Thread | None = None
        self._task: asyncio.Task | None = None

    def attach(self) -> None:
        """From the event loop: flush from a task of this loop (started once per loop)."""
        if not self._in_loop():
            self._task = asyncio.get_running_loop().create_task(self._run_in_loop())

    def _in_loop(self) -> bool:
        """A flushing task on a loop that runs (else the batch would wait for a flush that never comes)."""
        return task_running(self._task)

    def add(self, *, rider_id: int, lat: float, lng: float, at: datetime) -> None:
        with self._lock:
            self._latest[rider_id] = {"rider": rider_id, "lat": lat, "lng": lng, "at": at.isoformat()}
            if not self._in_loop() and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="position-aggregator", daemon=True)
                self._thread.start()

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            riders, self._latest = list(self._latest.values()), {}
            return riders

    def _frame(self) -> dict[str, Any] | None:
        riders = self.take()
        if not riders:
            return None
        with self._lock:
            self._seq += 1
            return {"seq": self._seq, "riders": riders}

    def put_back(self, riders: list[dict[str, Any]]) -> None:
        """Positions of a frame that could not be sent, for the next flush: a rider's newer position, added
        meanwhile, wins."""
        with self._lock:
            for entry in riders:
                self._latest.setdefault(entry["rider"], entry)

    @contextmanager
    def _put_back_on_failure(self, frame: dict[str, Any]):
        try:
            yield
        except BaseException:
            self.put_back(frame["riders"])
            raise

    def flush(self) -> int:
        """Send what moved since the last flush as one frame; returns the number of riders in it. A frame that
        could not be sent goes again with the next flush instead of leaving its riders stale."""
        frame = self._frame()
        if frame is None:
            return 0
        with self._put_back_on_failure(frame):
            ephemeral_publish(group=GROUP_DISPATCH, type="rider.positions", payload=frame)
        return len(frame["riders"])

    async def aflush(self) -> int:
        """`flush` from the event loop, with the layer's own coroutine."""
        frame = self._frame()
        if frame is None:
            return 0
        with self._put_back_on_failure(frame):
            await publish_now_async(group=GROUP_DISPATCH, type="rider.positions", payload=frame)
        return len(frame["riders"])

    async def _run_in_loop(self) -> None:
        while True:
            await asyncio.sleep(settings.POSITION_FLUSH_S)
            try:
                await self.aflush()
            except Exception:
                log.warning("could not send batched positions", exc_info=True)

    def _run(self) -> None:
        while True:
            time.sleep(settings.POSITION_FLUSH_S)
            if self._thread is not threading.current_thread() or self._in_loop():
                return  # a loop's task flushes now (checked after the sleep: it may have started during it)
            try:
                self.flush()
            except Exception:  # the next flush carries newer positions; never let the loop die
                log.warning("could not send batched positions", exc_info=True)


aggregator = PositionAggregator()
