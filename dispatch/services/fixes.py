"""Location history, written in batches off the ping path.

Pings append to an in-process buffer; a daemon thread writes it with one INSERT every
LOCATION_FIX_FLUSH_S (or sooner when it holds LOCATION_FIX_BATCH_MAX rows). On process exit the
buffer is flushed. History is a record, not a decision input: the reveal engine never reads it.
"""

from __future__ import annotations

import atexit
import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from ..models import LocationFix

log = logging.getLogger(__name__)


class FixBuffer:
    def __init__(self) -> None:
        self._rows: list[LocationFix] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, rows: list[LocationFix]) -> None:
        if not settings.LOCATION_FIX_BATCH:
            LocationFix.objects.bulk_create(rows)
            return
        with self._lock:
            self._rows.extend(rows)
            full = len(self._rows) >= settings.LOCATION_FIX_BATCH_MAX
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="fix-flusher", daemon=True)
                self._thread.start()
        if full:
            self._wake.set()

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if rows:
            try:
                LocationFix.objects.bulk_create(rows, batch_size=500)
            except Exception:
                log.exception("could not write %s location fixes; keeping them for the next flush", len(rows))
                with self._lock:
                    self._rows[:0] = rows
                return 0
        return len(rows)

    def pending(self) -> int:
        return len(self._rows)

    def _run(self) -> None:
        while True:
            self._wake.wait(settings.LOCATION_FIX_FLUSH_S)
            self._wake.clear()
            close_old_connections()
            self.flush()


buffer = FixBuffer()
atexit.register(buffer.flush)
