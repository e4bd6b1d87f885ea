# ruff: noqa: S311 - simulated choices and movement, nothing secret
"""The lunch peak: merchants post orders at a set rate through the merchant API, the store's auto-dispatch offers
them, sim riders accept or decline on the rider socket's `offer.new`, pick up at the counter, then deliver or fail;
each live order's tracking page holds its socket open. Everything goes through the real HTTP API and sockets.

Deterministic choices, so that a short run shows each path: every `decline_every`-th offer is declined (the order
then goes to the next rider) and every `fail_every`-th job fails (`refused`); a rider who already carries a job
declines the offer too. Offer-to-phone latency is the offer's `created_at` (the server's clock, the same machine)
to the arrival of its `offer.new` frame."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from datetime import datetime
from typing import Any

from .client import ws_connect
from .geo import Mover, offset

LUNCH_PREFIX = "sim-lunch"


def lunch_setup(*, riders: int, prefix: str = LUNCH_PREFIX) -> dict[str, Any]:
    """Sim lunch riders (on duty, free, placed 100-800 m from the first store so that auto-dispatch ranks them
    first), a merchant, staff and dispatcher (`accounts.accounts_setup`), and auto-dispatch on for the store."""
    from dispatch.models import Rider, Store

    from .accounts import accounts_setup

    setup = accounts_setup(riders=riders, orders=False, prefix=prefix)
    store = setup["store"]
    Store.objects.filter(pk=store["id"]).update(auto_dispatch=True)
    rng = random.Random(7)
    for spec in setup["riders"]:
        bearing, far = rng.uniform(0, 2 * math.pi), rng.uniform(100, 800)
        spec["start"] = offset(store["lat"], store["lng"], far * math.cos(bearing), far * math.sin(bearing))
        Rider.objects.filter(pk=spec["id"]).update(last_lat=spec["start"][0], last_lng=spec["start"][1])
    return setup


class LunchPeak:
    def __init__(self, base: str, setup: dict[str, Any], *, orders_per_hour: float, every: float = 2.0,
                 ride_s: float = 30.0, speed: float = 8.0, decline_every: int = 5, fail_every: int = 10, drain_s: float = 15.0,
                 log=print):
        self.base = base.rstrip("/")
        self.setup = setup
        self.interval = 3600.0 / orders_per_hour
        self.every = every
        self.ride_s = ride_s
        self.speed = speed
        self.decline_every = max(1, decline_every)
        self.fail_every = max(1, fail_every)
        self.drain_s = drain_s  # at the end, jobs under way get this long to finish (no new orders meanwhile)
        self.log = log
        self.busy_jobs: set[asyncio.Task] = set()
        self.rng = random.Random(11)
        self.tokens: dict[int, str] = {}  # order id -> tracking token (the customer's link)
        self.pickup_codes: dict[int, str] = {}  # order id -> the store's pickup number (the merchant has it)
        self.ended: set[int] = set()  # orders delivered or failed
        self.offer_lat_ms: list[float] = []
        self.counts = dict.fromkeys(("posted", "post_errors", "offers", "accepted", "declined", "accept_refused",
                                     "picked_up", "delivered", "failed", "job_errors", "track_opened",
                                     "track_closed_early", "track_frames", "pings"), 0)
        self.jobs = 0
        self.tasks: set[asyncio.Task] = set()

    def _spawn(self, coro) -> None:
        task = asyncio.create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _client(self, who: dict[str, Any]):
        import httpx

        return httpx.AsyncClient(base_url=self.base, timeout=30, headers={"Authorization": f"Token {who['token']}"})

    async def run(self, stop: asyncio.Event) -> dict[str, Any]:
        async with self._client(self.setup["merchant"]) as merchant, self._client(self.setup["staff"]) as staff:
            self.staff = staff
            riders = [asyncio.create_task(self._rider(spec, stop)) for spec in self.setup["riders"]]
            await asyncio.sleep(0.5)  # the riders' sockets open before the first order
            poster = asyncio.create_task(self._post_orders(merchant, stop))
            await stop.wait()
            poster.cancel()
            if self.busy_jobs:
                await asyncio.wait(set(self.busy_jobs), timeout=self.drain_s)
            for task in [*riders, *self.tasks]:
                task.cancel()
            await asyncio.gather(poster, *riders, *self.tasks, return_exceptions=True)
        return self.report()

    def report(self) -> dict[str, Any]:
        lat = sorted(self.offer_lat_ms)

        def p(q: float) -> float | None:
            return lat[min(len(lat) - 1, max(0, int(len(lat) * q + 0.5) - 1))] if lat else None

        return {**self.counts, "offer_p50_ms": p(0.5), "offer_p99_ms": p(0.99)}

    # --- the merchants -------------------------------------------------------------------------------------
    async def _post_orders(self, merchant, stop: asyncio.Event) -> None:
        """Open loop: one order every `interval` s whether or not the last answered."""
        start, n = time.monotonic(), 0
        while not stop.is_set():
            self._spawn(self._post_one(merchant, n))
            n += 1
            await asyncio.sleep(max(0.0, start + n * self.interval - time.monotonic()))

    async def _post_one(self, merchant, n: int) -> None:
        store = self.setup["store"]
        bearing, far = self.rng.uniform(0, 2 * math.pi), self.rng.uniform(300, 1500)
        door = offset(store["lat"], store["lng"], far * math.cos(bearing), far * math.sin(bearing))
        r = await merchant.post("/api/orders/", json={
            "external_ref": f"LUNCH-{int(time.time())}-{n}",
            "customer": {"name": "Sim Customer", "phone": "+44 7700 900000", "lat": door[0], "lng": door[1],
                         "address": {"area": "Simtown", "street": f"{n % 99 + 1} Lunch Street"}},
            "items": [{"name": "Lunch", "qty": 1 + n % 3, "sensitive": False}],
            "consent": {"number_protection": True, "marketing": False}})
        if r.status_code != 201:
            self.counts["post_errors"] += 1
            return
        order = r.json()
        self.counts["posted"] += 1
        token = order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
        self.tokens[order["id"]] = token
        self.pickup_codes[order["id"]] = order["pickup_code"]
        await self._track(order["id"], token)

    async def _track(self, order_id: int, token: str) -> None:
        """The customer's tracking page: its socket open for as long as the run, frames counted."""
        ws, _ = await ws_connect(self.base, f"/ws/track/{token}/", None)
        self.counts["track_opened"] += 1
        try:
            async for _ in ws:
                self.counts["track_frames"] += 1
            if order_id not in self.ended:  # the server closed a live order's page
                self.counts["track_closed_early"] += 1
        finally:
            with contextlib.suppress(Exception):
                await ws.close()

    # --- the riders ----------------------------------------------------------------------------------------
    async def _rider(self, spec: dict[str, Any], stop: asyncio.Event) -> None:
        rng = random.Random(spec["id"])
        start = spec.get("start") or (self.setup["store"]["lat"], self.setup["store"]["lng"])
        mover = Mover(start[0], start[1], speed=self.speed, rng=rng, seq=int(time.time() * 10))
        ws, _ = await ws_connect(self.base, "/ws/rider/", spec["session"])
        busy = asyncio.Event()
        async with self._client(spec) as api:
            pinger = asyncio.create_task(self._ping(ws, mover))
            try:
                async for raw in ws:
                    arrived = time.time()
                    msg = json.loads(raw)
                    if msg.get("type") != "offer.new" or msg.get("status") != "open":
                        continue
                    created = datetime.fromisoformat(msg["created_at"]).timestamp()
                    self.offer_lat_ms.append((arrived - created) * 1e3)
                    self.counts["offers"] += 1
                    self._spawn(self._answer(api, msg, mover, busy))
            finally:
                pinger.cancel()
                with contextlib.suppress(Exception):
                    await ws.close()

    async def _ping(self, ws, mover: Mover) -> None:
        last = time.monotonic()
        while True:
            now = time.monotonic()
            mover.advance(now - last, time.time())
            last = now
            await ws.send(json.dumps(mover.fix()))
            self.counts["pings"] += 1
            await asyncio.sleep(self.every)

    async def _answer(self, api, offer: dict[str, Any], mover: Mover, busy: asyncio.Event) -> None:
        oid = offer["offer"]
        if busy.is_set() or self.counts["offers"] % self.decline_every == 0:
            r = await api.post(f"/api/rider/offers/{oid}/decline/")
            self.counts["declined" if r.status_code == 200 else "accept_refused"] += 1
            return
        busy.set()
        me = asyncio.current_task()
        if me is not None:
            self.busy_jobs.add(me)
        try:
            r = await api.post(f"/api/rider/offers/{oid}/accept/")
            if r.status_code != 200:  # expired or withdrawn meanwhile
                self.counts["accept_refused"] += 1
                return
            self.counts["accepted"] += 1
            await self._job(api, r.json()["order"], mover)
        except (OSError, KeyError, ValueError) as exc:
            self.counts["job_errors"] += 1
            self.log(f"lunch job error: {type(exc).__name__}")
        finally:
            busy.clear()
            self.busy_jobs.discard(me)

    async def _job(self, api, order_id: int, mover: Mover) -> None:
        store = (self.setup["store"]["lat"], self.setup["store"]["lng"])
        await self._ride(mover, store)
        r = await self.staff.post(f"/api/pickup/orders/{order_id}/ready/")
        if r.status_code not in (200, 409):  # 409: already ready
            raise ValueError(f"ready {r.status_code}")
        code = (await api.get(f"/api/rider/orders/{order_id}/handoff-code/")).json()["code"]
        detail = (await api.get(f"/api/rider/orders/{order_id}/")).json()
        r = await self.staff.post("/api/pickup/handoff/", json={"pickup_code": self.pickup_codes[order_id],
                                                                "rider_code": code})
        if r.status_code != 200:
            raise ValueError(f"handoff {r.status_code}")
        self.counts["picked_up"] += 1
        dest = detail.get("destination") or {}
        if dest.get("lat") is not None:
            await self._ride(mover, (dest["lat"], dest["lng"]))
        self.jobs += 1
        if self.jobs % self.fail_every == 0:
            r = await api.post(f"/api/rider/orders/{order_id}/fail/", json={"reason": "refused"})
            kind = "failed"
        else:
            token = self.tokens[order_id]
            pin = (await api.get(f"/api/track/{token}/")).json().get("delivery_pin")  # as the customer tells it
            r = await api.post(f"/api/rider/orders/{order_id}/deliver/", json={"pin": pin})
            kind = "delivered"
        if r.status_code != 200:
            raise ValueError(f"{kind} {r.status_code}")
        self.ended.add(order_id)
        self.counts[kind] += 1

    async def _ride(self, mover: Mover, target: tuple[float, float]) -> None:
        """Toward `target` at the mover's speed, for at most `ride_s` (a short run's rides are cut short)."""
        mover.target = target
        deadline = time.monotonic() + self.ride_s
        while not mover.arrived() and time.monotonic() < deadline:  # noqa: ASYNC110 - the mover moves as it pings
            await asyncio.sleep(min(0.5, self.ride_s))


async def lunch_run(base: str, setup: dict[str, Any], *, seconds: float | None = None,
                    stop: asyncio.Event | None = None, **kwargs) -> dict[str, Any]:
    """Runs for `seconds`, or until `stop` is set; returns the counts and the offer-to-phone percentiles."""
    from .demo import server_answers

    stop = stop or asyncio.Event()
    await server_answers(base)
    peak = LunchPeak(base, setup, **kwargs)
    runner = asyncio.create_task(peak.run(stop))
    if seconds is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(runner), seconds)
        stop.set()
    return await runner


def lunch_line(r: dict[str, Any]) -> str:
    def ms(v) -> str:
        return "-" if v is None else f"{v:.0f} ms"

    return (f"lunch peak: posted {r['posted']} ({r['post_errors']} refused), offers {r['offers']} "
            f"(accepted {r['accepted']}, declined {r['declined']}, too late {r['accept_refused']}), picked up "
            f"{r['picked_up']}, delivered {r['delivered']}, failed {r['failed']}, job errors {r['job_errors']}; "
            f"offer-to-phone p50 {ms(r['offer_p50_ms'])}, p99 {ms(r['offer_p99_ms'])}; tracking sockets opened "
            f"{r['track_opened']}, closed early {r['track_closed_early']}, frames {r['track_frames']}")


def lunch_process(conn, base: str, setup: dict[str, Any], kwargs: dict[str, Any]) -> None:
    """The lunch peak in a process of its own (the live bench): answers "ready", runs until "stop", then sends
    its report."""
    from .load import new_loop

    loop = new_loop()
    stop = asyncio.Event()

    async def main() -> dict[str, Any]:
        task = asyncio.create_task(lunch_run(base, setup, stop=stop, **kwargs))
        conn.send("ready")
        while not conn.poll():  # noqa: ASYNC110 - a pipe, not an awaitable
            await asyncio.sleep(0.1)
        conn.recv()
        stop.set()
        return await task

    try:
        conn.send(loop.run_until_complete(main()))
    finally:
        loop.close()
