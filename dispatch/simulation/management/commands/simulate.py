"""Simulated riders over the real API and sockets: the demo's living map, and a load generator.

    python manage.py simulate --demo --riders 3              # make run: sim riders deliver orders, forever
    python manage.py simulate --riders 1000 --rate 250       # load: open-loop pings for --seconds, then figures
    python manage.py simulate --riders 1000 --setup-json F   # bulk set-up only (make bench-live uses it)
    python manage.py simulate --lunch-peak --orders-per-hour 3000 --riders 40 --seconds 120
                                                             # orders posted, auto-dispatched, accepted, delivered
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
from dispatch.simulation.lunch import lunch_line, lunch_run, lunch_setup


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
        parser.add_argument("--lunch-peak", action="store_true",
                            help="merchants post orders at --orders-per-hour; auto-dispatch offers them to the sim riders")
        parser.add_argument("--lunch-json", default="",
                            help="with --setup-json: also set up --lunch-riders lunch riders, written here")
        parser.add_argument("--lunch-riders", type=int, default=50)
        parser.add_argument("--orders-per-hour", type=float, default=3000.0)
        parser.add_argument("--ride-seconds", type=float, default=30.0, help="lunch peak: the longest ride to a stop")
        parser.add_argument("--decline-every", type=int, default=5, help="lunch peak: every n-th offer is declined")
        parser.add_argument("--fail-every", type=int, default=10, help="lunch peak: every n-th job fails (refused)")

    def handle(self, *args, url: str, riders: int, demo: bool, every: float, speed: float, rate: float, seconds: float | None,
               setup_json: str, orders: bool, lunch_peak: bool, orders_per_hour: float, ride_seconds: float,
               decline_every: int, fail_every: int, lunch_json: str, lunch_riders: int, **options):
        if not (settings.DEBUG or settings.DEMO_MODE or settings.TESTING):
            raise CommandError("The simulator is only for debug or demo mode (set DEMO_MODE=1).")
        url = url or f"http://127.0.0.1:{settings.PORT}"
        logging.getLogger("httpx").setLevel(logging.WARNING)  # its request lines would carry tracking tokens
        if setup_json:
            t0 = time.monotonic()
            setup = lunch_setup(riders=riders) if lunch_peak else accounts.accounts_setup(riders=riders, orders=orders)
            Path(setup_json).write_text(json.dumps(setup))
            if lunch_json:  # one process start for both set-ups (the live bench)
                Path(lunch_json).write_text(json.dumps(lunch_setup(riders=lunch_riders)))
            self.stdout.write(f"set up {riders} sim riders in {time.monotonic() - t0:.1f} s")
            return
        raise_fd_limit()
        if lunch_peak:
            setup = lunch_setup(riders=riders)
            self.stdout.write(f"lunch peak: {orders_per_hour:.0f} orders/h for {seconds or 60:.0f} s, {riders} sim riders "
                              f"against {url} (auto-dispatch on for store {setup['store']['id']})")
            report = asyncio.run(lunch_run(url, setup, seconds=seconds or 60.0, orders_per_hour=orders_per_hour,
                                           every=every, ride_s=ride_seconds, speed=speed, decline_every=decline_every,
                                           fail_every=fail_every, log=lambda line: self.stdout.write(line)))
            self.stdout.write(lunch_line(report))
            return
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
