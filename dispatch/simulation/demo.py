# ruff: noqa: S311 - simulated movement, nothing secret
"""The demo's moving map: sim riders who deliver orders end to end through the real HTTP API (API tokens) and
the rider socket (a session cookie), as the merchant, dispatch, the store and the rider would."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import random
import time
from typing import Any

from .client import ws_connect
from .geo import Mover, offset


class DemoRider:
    """One sim rider living a delivery loop through the real API: an order comes in (as the merchant),
    dispatch assigns it, the rider rides to the store, the staff hands the bag over against the rider's
    one-time code, the rider rides to the door, reads the PIN the customer sees on the tracking page, and
    delivers. Positions go over the rider socket every `every` seconds the whole time."""

    def __init__(self, base: str, setup: dict[str, Any], spec: dict[str, Any], *, every: float = 2.0,
                 speed: float = 8.0, log=print):
        self.base = base.rstrip("/")
        self.setup = setup
        self.spec = spec
        self.every = every
        self.log = log
        store = (setup["store"]["lat"], setup["store"]["lng"])
        self.rng = random.Random(spec["id"])
        start = offset(*store, self.rng.uniform(-600, 600), self.rng.uniform(-600, 600))
        self.mover = Mover(*start, speed=speed, rng=self.rng, seq=int(time.time() * 10))
        self.store = store
        self.delivered = 0

    def _client(self, who: dict[str, Any]):
        import httpx

        return httpx.AsyncClient(base_url=self.base, timeout=20, headers={"Authorization": f"Token {who['token']}"})

    async def run(self, stop: asyncio.Event) -> None:
        ws, _ = await ws_connect(self.base, "/ws/rider/", self.spec["session"])
        async with self._client(self.spec) as rider, self._client(self.setup["merchant"]) as merchant, \
                self._client(self.setup["staff"]) as staff, self._client(self.setup["dispatcher"]) as dispatcher:
            (await rider.post("/api/rider/duty/", json={"on_duty": True})).raise_for_status()
            pinger = asyncio.create_task(self._ping(ws, stop))
            drain = asyncio.create_task(self._drain(ws))
            try:
                while not stop.is_set():
                    await self._one_delivery(rider, merchant, staff, dispatcher, stop)
            finally:
                pinger.cancel()
                drain.cancel()
                with contextlib.suppress(Exception):
                    await ws.close()
                if stop.is_set():  # the demo ends: off the board, not a stale marker
                    with contextlib.suppress(Exception):
                        await rider.post("/api/rider/duty/", json={"on_duty": False})

    async def _ping(self, ws, stop: asyncio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            self.mover.advance(now - last, time.time())
            last = now
            await ws.send(json.dumps(self.mover.fix()))
            await asyncio.sleep(self.every)

    @staticmethod
    async def _drain(ws) -> None:
        with contextlib.suppress(Exception):
            async for _ in ws:
                pass

    async def _ride_to(self, target: tuple[float, float], stop: asyncio.Event, *, until=None, give_up_s: float = 900) -> None:
        self.mover.target = target
        deadline = time.monotonic() + give_up_s
        while not stop.is_set() and time.monotonic() < deadline:
            if self.mover.arrived() and (until is None or await until()):
                return
            await asyncio.sleep(1.0)

    async def _one_delivery(self, rider, merchant, staff, dispatcher, stop: asyncio.Event) -> None:
        bearing = self.rng.uniform(0, 2 * math.pi)
        far = self.rng.uniform(1000, 1800)
        door = offset(*self.store, far * math.cos(bearing), far * math.sin(bearing))
        r = await merchant.post("/api/orders/", json={
            "external_ref": f"SIM-{self.spec['id']}-{int(time.time())}",
            "customer": {"name": "Sim Customer", "phone": "+44 7700 900000", "lat": door[0], "lng": door[1],
                         "address": {"area": "Simtown", "street": f"{self.rng.randint(1, 99)} Sim Street"}},
            "items": [{"name": "Parcel", "qty": 1, "sensitive": False}],
            "consent": {"number_protection": True, "marketing": False}})
        r.raise_for_status()
        order = r.json()
        oid, track = order["id"], order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
        (await dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", json={"rider": self.spec["id"]})).raise_for_status()
        self.log(f"order {oid}: assigned to {self.spec['username']}")
        await self._ride_to(self.store, stop)
        if stop.is_set():
            return
        (await staff.post(f"/api/pickup/orders/{oid}/ready/")).raise_for_status()
        code = (await rider.get(f"/api/rider/orders/{oid}/handoff-code/")).json()["code"]
        (await staff.post("/api/pickup/handoff/", json={"pickup_code": order["pickup_code"], "rider_code": code})
         ).raise_for_status()
        self.log(f"order {oid}: picked up")

        async def at_door() -> bool:
            got = await rider.get(f"/api/rider/orders/{oid}/")
            return got.status_code == 200 and got.json().get("destination", {}).get("tier") == "door"

        await self._ride_to(door, stop, until=at_door)
        if stop.is_set():
            return
        pin = (await rider.get(f"/api/track/{track}/")).json().get("delivery_pin")  # as the customer tells it
        (await rider.post(f"/api/rider/orders/{oid}/deliver/", json={"pin": pin})).raise_for_status()
        self.delivered += 1
        self.log(f"order {oid}: delivered")
        await asyncio.sleep(self.rng.uniform(3, 8))


async def demo_run(base: str, setup: dict[str, Any], *, riders: int, seconds: float | None, every: float = 2.0,
                   speed: float = 8.0, log=print) -> list[DemoRider]:
    stop = asyncio.Event()
    await server_answers(base)
    sims = [DemoRider(base, setup, spec, every=every, speed=speed, log=log) for spec in setup["riders"][:riders]]
    tasks = [asyncio.create_task(_forever(s, stop, log)) for s in sims]
    try:
        if seconds is None:
            await asyncio.gather(*tasks)
        else:
            await asyncio.sleep(seconds)
    finally:
        stop.set()
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return sims


async def server_answers(base: str, *, poll: float = 0.25) -> None:
    """Returns once the server answers any HTTP request. `make run` starts the sim riders with the web server, which
    takes seconds to import and listen: polling it keeps them from failing their first connect and sitting out
    the 3 s pause of a restart after it."""
    import httpx

    async with httpx.AsyncClient(base_url=base.rstrip("/"), timeout=2) as client:
        while True:
            try:
                await client.get("/")
                return
            except httpx.TransportError:
                await asyncio.sleep(poll)


async def _forever(sim: DemoRider, stop: asyncio.Event, log) -> None:
    """A sim rider that hits an error (a server restart, a refusal) says so and starts over."""
    while not stop.is_set():
        try:
            await sim.run(stop)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log(f"{sim.spec['username']}: {type(exc).__name__}: {exc}; starting over in 3 s")
            await asyncio.sleep(3)
