"""Simulated riders over the real API and sockets: the demo's living map, and a load generator.

    python manage.py simulate --demo --riders 3              # make run: sim riders deliver orders, forever
    python manage.py simulate --riders 1000 --rate 250       # load: open-loop pings for --seconds, then figures
    python manage.py simulate --riders 1000 --setup-json F   # bulk set-up only (make bench-live uses it)
"""

from __future__ import annotations

import asyncio
import json
import logging
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from dispatch.simulation import accounts
from dispatch.simulation.demo import demo_run
from dispatch.simulation.load import LoadShard, raise_fd_limit


class Command(BaseCommand):
    help = "Simulate riders through the real HTTP API and websockets (demo mode, or load)."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="the running server (default http://127.0.0.1:$PORT)")
        parser.add_argument("--riders", type=int, default=3)
        parser.add_argument("--demo", action="store_true", help="deliver orders end to end, forever (or --seconds)")
        parser.add_argument("--every", type=float, default=2.0, help="demo: seconds between a rider's pings")
        parser.add_argument("--speed", type=float, default=8.0, help="demo: riding speed, m/s (the engine refuses > 40)")
        parser.add_argument("--rate", type=float, default=100.0, help="load: pings per second over all riders")
        parser.add_argument("--seconds", type=float, default=None)
        parser.add_argument("--setup-json", default="", help="write the bulk set-up (accounts, sessions, orders) here")
        parser.add_argument("--orders", action="store_true", help="set-up: one picked-up order per rider")

    def handle(self, *args, url: str, riders: int, demo: bool, every: float, speed: float, rate: float, seconds: float | None,
               setup_json: str, orders: bool, **options):
        if not (settings.DEBUG or settings.DEMO_MODE or settings.TESTING):
            raise CommandError("The simulator is only for debug or demo mode (set DEMO_MODE=1).")
        url = url or f"http://127.0.0.1:{settings.PORT}"
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines would carry tracking tokens
        if setup_json:
            t0 = time.monotonic()
            setup = accounts.accounts_setup(riders=riders, orders=orders)
            Path(setup_json).write_text(json.dumps(setup))
            self.stdout.write(f"set up {riders} sim riders in {time.monotonic() - t0:.1f} s")
            return
        raise_fd_limit()
        if demo:
            setup = accounts.accounts_setup(riders=riders, orders=False, prefix="sim-demo")
            self.stdout.write(f"simulating {riders} riders against {url} (sim-demo-rider-*; rider1 stays free)")
            sims = asyncio.run(demo_run(url, setup, riders=riders, seconds=seconds, every=every, speed=speed,
                                        log=lambda line: self.stdout.write(line)))
            self.stdout.write(f"delivered {sum(s.delivered for s in sims)} orders")
            return
        setup = accounts.accounts_setup(riders=riders, orders=True)
        for i, spec in enumerate(setup["riders"]):
            spec["index"] = i
        asyncio.run(self.load(url, setup, rate=rate, seconds=seconds or 20.0))

    async def load(self, url: str, setup: dict, *, rate: float, seconds: float) -> None:
        shard = LoadShard(setup["riders"], [url], "/ws/rider/")
        opened, failed = await shard.open()
        n = len(setup["riders"])
        result = await shard.step(interval=n / rate, start_at=time.time() + 1, seconds=seconds, phase0=0.0, total=n)
        await shard.close()
        lat = sorted(a[2] * 1e3 for a in result["acks"])

        def p(q: float) -> float:
            return lat[max(0, int(len(lat) * q) - 1)] if lat else float("nan")

        self.stdout.write(f"{opened} sockets ({failed} failed); offered {rate:.0f}/s, achieved {len(lat) / seconds:.0f}/s; "
                          f"ack p50 {p(0.5):.1f} ms, p99 {p(0.99):.1f} ms, mean {statistics.fmean(lat) if lat else 0:.1f} ms; "
                          f"lost {result['lost']}")
