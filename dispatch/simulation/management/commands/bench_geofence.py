"""Benchmark: µs per ping decision (the pure engine) and pings/s through the service and the rider
socket consumer, on whatever database this process is configured for. Prints figures; asserts nothing.

    make bench-geofence      # a scratch SQLite database under var/
"""

from __future__ import annotations

import statistics
import time

from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.core.management.base import BaseCommand

from dispatch import geofence as g

DEST = (51.5033, -0.1196)


def _trace(n: int) -> list[g.Fix]:
    """A rider cycling toward the door and away again, 1 fix a second, 12 m steps."""
    fixes = []
    for i in range(n):
        north = 2500 - (i % 400) * 12 if (i // 400) % 2 == 0 else -2300 + (i % 400) * 12
        fixes.append(g.Fix(DEST[0] + abs(north) / 111_195.0, DEST[1], 8.0, 1_700_000_000 + i, i + 1))
    return fixes


class Command(BaseCommand):
    help = "Benchmark the reveal engine and the ping path."

    def add_arguments(self, parser):
        parser.add_argument("--decisions", type=int, default=100_000)
        parser.add_argument("--pings", type=int, default=1_000)

    def handle(self, *args, decisions: int, pings: int, **options):
        self.engine(decisions)
        order, rider = self.setup_order()
        fast = self.service(rider, pings, label="service (cached context, batched history)")
        slow = self.naive(rider, pings)
        self.stdout.write(f"ratio: the hot path handles {fast / slow:.1f}x the pings/s of the naive one, same run")
        self.spaced(rider, pings)
        self.consumer(rider, pings)

    def naive(self, rider, n: int) -> float:
        """The same pings with the context reloaded every time and each fix written at once."""
        from django.test.utils import override_settings

        from dispatch.live import state

        ttl = state.CONTEXT_TTL_S
        state.CONTEXT_TTL_S = -1.0
        try:
            with override_settings(LOCATION_FIX_BATCH=False):
                return self.service(rider, n, label="service (naive: reload context, write each fix)", seq0=30_000_000)
        finally:
            state.CONTEXT_TTL_S = ttl

    def spaced(self, rider, n: int) -> None:
        """Pings spaced like the real app (every 4 s): each ping finds its rider's context 4 s older. Counts
        the cache round trips and database queries per ping too."""
        from django.core.cache import cache
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        calls = {"n": 0}
        originals = {}
        for name in ("get", "set", "add", "get_many", "set_many", "incr", "delete"):
            originals[name] = getattr(cache, name)

            def counted(*a, _f=originals[name], **k):
                calls["n"] += 1
                return _f(*a, **k)
            setattr(cache, name, counted)
        try:
            with CaptureQueriesContext(connection) as queries:
                self.service(rider, n, label="service (pings 4 s apart per rider)", seq0=40_000_000, age_s=4.0)
        finally:
            for name, f in originals.items():
                setattr(cache, name, f)
        self.stdout.write(f"  per ping: {calls['n'] / n:.2f} cache calls, {len(queries) / n:.2f} database queries")

    def engine(self, n: int) -> None:
        radii = g.Radii(1000, 150)
        fixes = _trace(n)
        state = g.TrackState()
        t0 = time.perf_counter()
        for f in fixes:
            d = g.evaluate(state, f, DEST, radii, now=f.ts, picked_up=True)
            state = d.state if d.accepted else state
        dt = time.perf_counter() - t0
        self.stdout.write(f"engine: {n} decisions, {dt / n * 1e6:.2f} us per decision")

    def setup_order(self):
        from dispatch.models import Order, OrderStatus, Rider
        from dispatch.services.orders import order_assign, order_create

        call_command("demo_data", verbosity=0)
        from dispatch.models import Merchant

        merchant = Merchant.objects.get(user__username="merchant1")
        rider = Rider.objects.get(user__username="rider1")
        order = order_create(merchant=merchant, store=merchant.stores.first(), external_ref="BENCH",
                             customer={"name": "Bench Mark", "phone": "+447700900999", "lat": DEST[0], "lng": DEST[1],
                                       "address": {"area": "Westminster", "street": "1 Bench Street"}},
                             items=[{"name": "Thing", "qty": 1}], consent={})
        order_assign(order_id=order.pk, rider_id=rider.pk, by=None)
        Order.objects.filter(pk=order.pk).update(status=OrderStatus.PICKED_UP)
        rider.on_duty = True
        rider.save(update_fields=["on_duty"])
        return order, rider

    def service(self, rider, n: int, *, label: str, seq0: int = 10_000_000, age_s: float = 0.0) -> float:
        from dispatch.live import state
        from dispatch.live.ping import location_ping
        from dispatch.live.writer import buffer

        # Fresh, increasing timestamps 20 ms apart and centimetre jitter: every fix is accepted.
        base = time.time() - (25 if seq0 == 10_000_000 else 4)
        lat0 = DEST[0] + 5000 / 111_195.0  # outside every radius: no grant writes in the loop
        times = []
        accepted = 0
        for i in range(n):
            if age_s:
                for key, (stamp, version, ctx) in list(state._contexts.items()):
                    state._contexts[key] = (stamp - age_s, version, ctx)
            t = time.perf_counter()
            result = location_ping(rider=rider, lat=lat0 + (i % 5) * 1e-7, lng=DEST[1], accuracy=8,
                                   timestamp=base + i * 0.02, seq=seq0 + i)
            accepted += result.accepted
            times.append(time.perf_counter() - t)
        flushed = buffer.flush()
        total = sum(times)
        p50, p99 = statistics.median(times) * 1e3, sorted(times)[int(n * 0.99) - 1] * 1e3
        self.stdout.write(f"{label}: {n} pings, {n / total:.0f} pings/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
                          f"{accepted} accepted ({flushed} fixes flushed at the end)")
        return n / total

    def consumer(self, rider, n: int) -> None:
        """The rider socket as a phone reaches it: the project's ASGI application (settings.ASGI_APPLICATION, as
        daphne loads it), with its origin check, the session lookup and the URL router, in this process."""
        from channels.testing import WebsocketCommunicator
        from django.conf import settings
        from django.test import Client
        from django.utils.module_loading import import_string

        application = import_string(settings.ASGI_APPLICATION)
        client = Client()
        client.force_login(rider.user)
        session = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers = [(b"host", b"localhost"), (b"origin", b"http://localhost"),
                   (b"cookie", f"{settings.SESSION_COOKIE_NAME}={session}".encode())]

        async def run():
            comm = WebsocketCommunicator(application, "/ws/rider/", headers=headers)
            connected, _ = await comm.connect()
            assert connected, "the rider socket refused the bench's session"
            await comm.receive_json_from()
            base = time.time() - n
            lat0 = DEST[0] + 5000 / 111_195.0
            t0 = time.perf_counter()
            for i in range(n):
                await comm.send_json_to({"type": "location", "lat": lat0 + (i % 5) * 1e-5, "lng": DEST[1],
                                         "accuracy": 8, "timestamp": base + i + 0.5, "seq": 20_000_000 + i})
                ack = await comm.receive_json_from(timeout=5)
                while ack.get("type") != "location.ack":
                    ack = await comm.receive_json_from(timeout=5)
            dt = time.perf_counter() - t0
            await comm.disconnect()
            return dt

        dt = async_to_sync(run)()
        self.stdout.write(f"consumer: {n} pings over the rider socket (send, decide, ack), {n / dt:.0f} pings/s, "
                          f"{dt / n * 1e3:.2f} ms per round trip")
