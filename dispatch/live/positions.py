"""The dispatch map's live positions, batched: one `rider.positions` frame per POSITION_FLUSH_S from this
process, carrying the latest position of every rider who moved, instead of one group send per ping.

Frames carry a rider id, coordinates and a time, nothing else. Every rider goes to the dispatchers of every
fleet; a fleet's riders also go, in a frame of their own, to the dispatchers scoped to that fleet. `seq` rises
per process: a board keeps a rider's newest `at`, so frames from several processes may interleave.

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
from ..services.fleets import fleet_valid, group_fleet
from .loops import task_running
from .publish import ephemeral_publish, publish_now_async

log = logging.getLogger(__name__)


class PositionAggregator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[int, dict[str, Any]] = {}
        self._fleets: dict[int, str] = {}  # each rider's fleet: its dispatchers get a frame of their own
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

    def add(self, *, rider_id: int, lat: float, lng: float, at: datetime, fleet: str = "") -> None:
        """The rider's newest position; `fleet` (services/fleets.py) names the scoped dispatchers who see it
        besides those of every fleet ("": those only)."""
        with self._lock:
            self._latest[rider_id] = {"rider": rider_id, "lat": lat, "lng": lng, "at": at.isoformat()}
            self._fleets[rider_id] = fleet
            if not self._in_loop() and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._run, name="position-aggregator", daemon=True)
                self._thread.start()

    def _take(self) -> list[tuple[dict[str, Any], str]]:
        with self._lock:
            latest, fleets = self._latest, self._fleets
            self._latest, self._fleets = {}, {}
        return [(entry, fleets.get(rider, "")) for rider, entry in latest.items()]

    def take(self) -> list[dict[str, Any]]:
        return [entry for entry, _ in self._take()]

    def _frames(self) -> tuple[list[tuple[dict[str, Any], str]], list[tuple[str, dict[str, Any]]]] | None:
        """(what was taken, the frames to send as (group, frame)): every rider to the all-fleets group, and each
        fleet's riders to that fleet's group, under one seq."""
        taken = self._take()
        if not taken:
            return None
        with self._lock:
            self._seq += 1
            seq = self._seq
        per_fleet: dict[str, list[dict[str, Any]]] = {}
        for entry, fleet in taken:
            if fleet_valid(fleet):
                per_fleet.setdefault(group_fleet(fleet), []).append(entry)
        frames = [(GROUP_DISPATCH, {"seq": seq, "riders": [entry for entry, _ in taken]})]
        frames += [(group, {"seq": seq, "riders": riders}) for group, riders in per_fleet.items()]
        return taken, frames

    def put_back(self, riders: list[tuple[dict[str, Any], str]]) -> None:
        """Positions of a flush that could not be sent, for the next flush: a rider's newer position, added
        meanwhile, wins."""
        with self._lock:
            for entry, fleet in riders:
                if entry["rider"] not in self._latest:
                    self._latest[entry["rider"]] = entry
                    self._fleets[entry["rider"]] = fleet

    @contextmanager
    def _put_back_on_failure(self, taken: list[tuple[dict[str, Any], str]]):
        try:
            yield
        except BaseException:
            self.put_back(taken)
            raise

    def flush(self) -> int:
        """Send what moved since the last flush (one frame per group); returns the number of riders. A flush that
        could not be sent goes again with the next one instead of leaving its riders stale (a group that had it
        already gets it twice: a board keeps each rider's newest `at`)."""
        built = self._frames()
        if built is None:
            return 0
        taken, frames = built
        with self._put_back_on_failure(taken):
            for group, frame in frames:
                ephemeral_publish(group=group, type="rider.positions", payload=frame)
        return len(taken)

    async def aflush(self) -> int:
        """`flush` from the event loop, with the layer's own coroutine."""
        built = self._frames()
        if built is None:
            return 0
        taken, frames = built
        with self._put_back_on_failure(taken):
            for group, frame in frames:
                await publish_now_async(group=group, type="rider.positions", payload=frame)
        return len(taken)

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
