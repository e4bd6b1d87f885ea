"""A stall probe for a server's event loop, on when the environment sets LOOP_PROBE to a folder (off by default;
it costs a timer every 2 ms and a watcher thread).

Every stall of the loop (a 2 ms timer that fires more than LOOP_PROBE_STALL_MS late, 8 by default) is written as
one JSON line to DIR/loop-PID.jsonl:
- `ms`: how late the timer was;
- `run_ms` and `wait_ms`: what the loop's thread spent on a core and waiting for one during the stall, from
  /proc/self/task/TID/schedstat (a stall with a large `wait_ms` is the machine, not the code);
- `gc_ms`: collections that ran in it, and their generations;
- `stacks`: what the watcher thread saw the loop's thread run, sampled every millisecond while the stall lasted,
  as "file:function" of the innermost frames, with how many samples each;
- `busy`: the same for the process's other threads that were on a core between two samples (a thread holding
  the GIL stalls the loop too).

`docs/profiles/loop_stalls.py` sums such files up. Started from dispatch/live/server.py, on the loop's first connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from types import FrameType

TICK_S = 0.002
SAMPLE_S = 0.001
_started: dict[int, LoopProbe] = {}


def _ticks(fd: int) -> tuple[int, int]:
    """The thread's time on a core and waiting for one, in ns, from its open schedstat file."""
    try:
        run, wait, _ = os.pread(fd, 128, 0).split()
        return int(run), int(wait)
    except (OSError, ValueError):
        return 0, 0


def _where(frame: FrameType | None, depth: int = 4) -> str:
    parts: list[str] = []
    while frame is not None and len(parts) < depth:
        code = frame.f_code
        parts.append(f"{os.path.basename(code.co_filename)}:{code.co_name}")
        frame = frame.f_back
    return " < ".join(parts)


class LoopProbe:
    def __init__(self, loop: asyncio.AbstractEventLoop, out_dir: str, stall_ms: float = 8.0) -> None:
        self.loop = loop
        self.stall_s = stall_ms / 1000
        self.out = Path(out_dir) / f"loop-{os.getpid()}.jsonl"
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self.ident = threading.get_ident()
        self.schedstat = os.open(f"/proc/self/task/{threading.get_native_id()}/schedstat", os.O_RDONLY)
        self.due = time.perf_counter() + TICK_S
        self.stacks: Counter[str] = Counter()
        self.busy: Counter[str] = Counter()
        self.gcs: list[tuple[int, float]] = []
        self._gc_at = 0.0
        self.lines: list[str] = []
        self.at_ticks = _ticks(self.schedstat)
        self.others: dict[int, int] = {}  # the other threads' time on a core at the last sample, ns

    def start(self) -> None:
        gc.callbacks.append(self._gc)
        self.loop.call_later(TICK_S, self._tick)
        threading.Thread(target=self._watch, name="loop-probe", daemon=True).start()

    def _gc(self, phase: str, info: dict) -> None:
        if threading.get_ident() != self.ident:
            return
        if phase == "start":
            self._gc_at = time.perf_counter()
        else:
            self.gcs.append((info.get("generation", -1), time.perf_counter() - self._gc_at))

    def _tick(self) -> None:
        now = time.perf_counter()
        late = now - self.due
        ticks = _ticks(self.schedstat)
        if late >= self.stall_s:
            self.lines.append(json.dumps({
                "t": round(time.time(), 3), "ms": round(late * 1000, 1),
                "run_ms": round((ticks[0] - self.at_ticks[0]) / 1e6, 1),
                "wait_ms": round((ticks[1] - self.at_ticks[1]) / 1e6, 1),
                "gc_ms": [[g, round(s * 1000, 1)] for g, s in self.gcs],
                "stacks": self.stacks.most_common(6), "busy": self.busy.most_common(4)}))
            if len(self.lines) >= 50:
                self.flush()
        self.stacks.clear()
        self.busy.clear()
        self.gcs.clear()
        self.at_ticks = ticks
        self.due = now + TICK_S
        self.loop.call_later(TICK_S, self._tick)

    def flush(self) -> None:
        lines, self.lines = self.lines, []
        with self.out.open("a") as f:
            f.write("".join(line + "\n" for line in lines))

    def _ran(self, native_id: int | None) -> bool:
        """Whether the thread was on a core since the last look (a thread asleep in C shows its Python frame too)."""
        if native_id is None:
            return False
        try:
            with open(f"/proc/self/task/{native_id}/schedstat", "rb") as f:
                run = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        before = self.others.get(native_id, run)
        self.others[native_id] = run
        return run - before > 200_000  # 0.2 ms since the last sample

    def _watch(self) -> None:
        last_flush = time.monotonic()
        while not self.loop.is_closed():
            time.sleep(SAMPLE_S)
            if not self.loop.is_running():
                continue
            if time.perf_counter() - self.due > SAMPLE_S:  # the loop is late: what is its thread doing?
                me = threading.get_ident()
                threads = {t.ident: t.native_id for t in threading.enumerate()}
                for ident, frame in sys._current_frames().items():
                    if ident == self.ident:
                        self.stacks[_where(frame)] += 1
                    elif ident != me and self._ran(threads.get(ident)):
                        self.busy[_where(frame, 3)] += 1
            if time.monotonic() - last_flush > 5 and self.lines:
                last_flush = time.monotonic()
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                    self.loop.call_soon_threadsafe(self.flush)
        os.close(self.schedstat)


def ensure_started() -> LoopProbe | None:
    """The running loop's probe, started on first call, if LOOP_PROBE names a folder."""
    out_dir = os.environ.get("LOOP_PROBE")
    if not out_dir:
        return None
    loop = asyncio.get_event_loop()
    probe = _started.get(id(loop))
    if probe is None or probe.loop is not loop:
        probe = _started[id(loop)] = LoopProbe(loop, out_dir, float(os.environ.get("LOOP_PROBE_STALL_MS", "8")))
        probe.start()
    return probe
