"""The dispatch map's live positions, batched: one `rider.positions` frame per POSITION_FLUSH_S from this
process, carrying the latest position of every rider who moved, instead of one group send per ping.

Frames carry a rider id, coordinates and a time, nothing else. `seq` rises per process: a board keeps a
rider's newest `at`, so frames from several processes may interleave."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

from django.conf import settings

from .events import GROUP_DISPATCH, ephemeral_publish

log = logging.getLogger(__name__)


class PositionAggregator:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latest: dict[int, dict[str, Any]] = {}
        self._seq = 0
        self._thread: threading.Thread | None = None

    def add(self, *, rider_id: int, lat: float, lng: float, at: datetime) -> None:
        with self._lock:
            self._latest[rider_id] = {"rider": rider_id, "lat": lat, "lng": lng, "at": at.isoformat()}
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="position-aggregator", daemon=True)
                self._thread.start()

    def take(self) -> list[dict[str, Any]]:
        with self._lock:
            riders, self._latest = list(self._latest.values()), {}
            return riders

    def flush(self) -> int:
        """Send what moved since the last flush as one frame; returns the number of riders in it."""
        riders = self.take()
        if not riders:
            return 0
        with self._lock:
            self._seq += 1
            seq = self._seq
        ephemeral_publish(group=GROUP_DISPATCH, type="rider.positions", payload={"seq": seq, "riders": riders})
        return len(riders)

    def _run(self) -> None:
        while True:
            time.sleep(settings.POSITION_FLUSH_S)
            try:
                self.flush()
            except Exception:  # the next flush carries newer positions; never let the loop die
                log.warning("could not send batched positions", exc_info=True)


aggregator = PositionAggregator()
