# ruff: noqa: S311 - simulated movement, nothing secret
"""The live benchmark's load generator: open-loop rider pings over `LeanSocket`s in worker processes, and the
dispatcher's map observer. Everything here talks to a running server the way real clients do."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import math
import os
import random
import resource
import time
from typing import Any

from .client import LeanSocket, ws_connect
from .geo import Mover, offset


def raise_fd_limit() -> int:
    """Raise this process's open-file limit to its hard limit (children inherit it). Returns the new limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1_048_576
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


class LoadShard:
    """A share of the load's rider sockets in one process: open-loop pings on a fixed schedule, acks timed
    against the send time of the same seq.

    One ticker sends every socket's pings in order of their due times (a timer per ping, not a task per
    socket), on `LeanSocket`s: at 2,500 pings/s the load generator shares the servers' two cores, and what it
    spends is taken from them."""

    def __init__(self, riders: list[dict[str, Any]], urls: list[str], path: str):
        self.riders = riders
        self.urls = urls
        self.path = path
        self.sockets: list[LeanSocket] = []
        self.movers: list[Mover] = []
        self.sent: dict[tuple[int, int], float] = {}
        self.acks: list[tuple[int, float, float, bool]] = []  # (rider id, ping ts, latency s, accepted)

    async def open(self, *, concurrency: int = 50) -> tuple[int, int]:
        sem = asyncio.Semaphore(concurrency)
        failures = 0

        async def one(spec: dict[str, Any]):
            nonlocal failures
            for attempt in range(3):  # a busy server's listen queue overflows under a connect storm: retry
                async with sem:
                    with contextlib.suppress(Exception):
                        return await self._connect(spec)
                await asyncio.sleep(1.0 + attempt)
            failures += 1
            return None

        for spec in self.riders:
            spec["url"] = self.urls[spec["index"] % len(self.urls)]
        results = await asyncio.gather(*(one(s) for s in self.riders))
        for spec, ws in zip(self.riders, results, strict=True):
            if ws is None:
                continue
            rng = random.Random(spec["id"])
            start = self._ring_point(spec, spec["phase"])
            self.sockets.append(ws)
            self.movers.append(Mover(*start, rng=rng))
        self.riders = [s for s, ws in zip(self.riders, results, strict=True) if ws is not None]
        return len(self.sockets), failures

    async def _connect(self, spec: dict[str, Any]) -> LeanSocket:
        """A rider socket whose first frame (the hello; the bare echo says nothing first) has come, and whose
        acks then go to `_ack`."""
        rider_id = spec["id"]
        hello: asyncio.Future = asyncio.get_running_loop().create_future()
        echo = self.path == "/ws/echo/"

        def on_text(raw: bytes) -> None:
            if hello.done():
                self._ack(rider_id, raw)
            else:
                hello.set_result(raw)

        ws = await LeanSocket.connect(spec["url"], self.path, spec["session"], on_text)
        if echo:
            hello.set_result(b"")
            return ws
        try:
            first = json.loads(await asyncio.wait_for(hello, 60))
            if first.get("type") != "hello":
                raise RuntimeError(f"unexpected first frame {first.get('type')!r}")
        except BaseException:
            ws.abort()
            raise
        return ws

    def _ack(self, rider_id: int, raw: bytes) -> None:
        now = time.time()
        msg = json.loads(raw)
        if msg.get("type") != "location.ack":
            return
        sent = self.sent.pop((rider_id, msg.get("seq")), None)
        if sent is not None:
            self.acks.append((rider_id, sent, now - sent, bool(msg.get("accepted"))))

    @staticmethod
    def _ring_point(spec: dict[str, Any], angle: float) -> tuple[float, float]:
        r = spec["ring_m"]
        return offset(spec["dest"][0], spec["dest"][1], r * math.cos(angle), r * math.sin(angle))

    async def step(self, *, interval: float, start_at: float, seconds: float, phase0: float, total: int,
                   grace: float = 2.0) -> dict:
        """Each socket pings every `interval` s from `start_at` for `seconds`, its first ping spread over the
        interval by its global index (open loop: a ping goes out on schedule whether or not acks came).
        `total` (the sockets open over all shards) is informational."""
        self.sent.clear()
        self.acks = []
        late: list[float] = []
        sent_count = 0
        end = start_at + seconds
        # Golden-ratio spacing of the first pings: even over the interval whichever sockets failed to open.
        # One round of the schedule is the sockets in order of their offset; round r sends each at start + offset
        # + r * interval.
        order = sorted(((interval * ((spec["index"] * 0.6180339887498949 + phase0) % 1.0), k)
                        for k, spec in enumerate(self.riders)), key=lambda pair: pair[0])
        dead: set[int] = set()
        rounds = 0
        base = start_at
        sleep = asyncio.sleep
        while order and base < end:
            for off, k in order:
                due = base + off
                if due >= end:
                    break
                delay = due - time.time()
                if delay > 0:
                    await sleep(delay)
                if k in dead:
                    continue
                late.append(time.time() - due)
                spec, mover = self.riders[k], self.movers[k]
                # Circle the destination at ~7 m/s: 2-3 km out, never inside a reveal radius.
                spec["phase"] += 7.0 * interval / spec["ring_m"]
                mover.lat, mover.lng = self._ring_point(spec, spec["phase"])
                frame = mover.fix(canyon=False)
                self.sent[(spec["id"], frame["seq"])] = frame["timestamp"]
                try:
                    self.sockets[k].send(json.dumps(frame))
                except Exception:  # closed under it: this ping and the socket's later ones are lost
                    dead.add(k)
                    continue
                sent_count += 1
            rounds += 1
            base = start_at + rounds * interval  # not a running sum: no drift over a long step
        grace_end = time.time() + grace  # acks still in flight
        while self.sent and time.time() < grace_end:  # noqa: ASYNC110 - polls a dict the protocol empties
            await asyncio.sleep(0.05)
        late.sort()
        return {"sent": sent_count, "acks": self.acks, "lost": len(self.sent),
                "client_late_p99": late[int(len(late) * 0.99) - 1] if late else 0.0}

    async def close(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)


def settle_gc() -> None:
    """A load worker's open sockets live as long as it does: out of every collection from now on, as the server's
    start-up objects are (config/asgi.py). Scale bench, 10,000 sockets: before, the first step's pings went out
    105-157 ms late at p99 (client lag, 6 runs; 3-6 ms in the steps after), the collections over 2,500 sockets'
    objects falling in it; with them frozen, 3-7 ms (5 runs)."""
    gc.collect()
    gc.freeze()


def new_loop() -> asyncio.AbstractEventLoop:
    """A load process's event loop: uvloop's (as under the servers, config/server.py) unless SIM_LOOP=asyncio.
    The load generator shares the machine's cores with the servers it measures, so each of its pings should cost
    as little as it can."""
    if os.environ.get("SIM_LOOP", "uvloop") == "uvloop":
        import uvloop

        return uvloop.new_event_loop()
    return asyncio.new_event_loop()


def shard_process(conn, riders: list[dict[str, Any]], urls: list[str], path: str) -> None:
    """A load worker process: commands from the bench over a pipe ("open", "step", "close")."""
    raise_fd_limit()
    loop = new_loop()
    shard = LoadShard(riders, urls, path)
    try:
        while True:
            cmd, args = conn.recv()
            if cmd == "open":
                conn.send(loop.run_until_complete(shard.open()))
                settle_gc()
            elif cmd == "step":
                conn.send(loop.run_until_complete(shard.step(**args)))
            elif cmd == "close":
                loop.run_until_complete(shard.close())
                conn.send("closed")
                return
    finally:
        loop.close()


class MapObserver:
    """The dispatcher's socket: every rider position frame, with its arrival time."""

    def __init__(self, url: str, session: str):
        self.url = url
        self.session = session
        self.frames: list[tuple[int, float, float]] = []  # (rider, ping ts carried as `at`, arrival)
        self.other = 0

    async def run(self, stop: asyncio.Event) -> None:
        from datetime import datetime

        ws, _ = await ws_connect(self.url, "/ws/dispatch/", self.session)
        try:
            while not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), 0.2)
                except TimeoutError:
                    continue
                now = time.time()
                msg = json.loads(raw)
                kind = msg.get("type")
                items = [msg] if kind == "rider.position" else msg.get("riders", []) if kind == "rider.positions" else None
                if items is None:
                    self.other += 1
                    continue
                for item in items:
                    at = datetime.fromisoformat(item["at"]).timestamp()
                    self.frames.append((item["rider"], at, now))
        finally:
            await ws.close()


def map_process(conn, url: str, session: str) -> None:
    """The map observer in a process of its own. It answers "ready" (or "failed: ..."), then each "frames"
    with the frames seen since the last one, and "stop" with the last ones before it exits."""
    loop = new_loop()
    observer = MapObserver(url, session)
    stop = asyncio.Event()

    async def main():
        task = asyncio.create_task(observer.run(stop))
        await asyncio.sleep(0.5)
        conn.send("ready" if not task.done() else f"failed: {task.exception()!r}")
        while True:
            if not await loop.run_in_executor(None, conn.poll, 0.2):
                continue
            cmd = conn.recv()
            frames, observer.frames = observer.frames, []
            conn.send(frames)
            if cmd == "stop":
                break
        stop.set()
        with contextlib.suppress(Exception):
            await task

    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
