"""Benchmark suggestions: seed 10,000 on-duty riders (two fleets, some carrying orders) over a city of 30 × 30 km,
then time `suggest_riders` for orders at stores spread over it and print p50/p95/p99, the queries and the rows a
call costs, and the same figures for a scan of every rider (what the index replaces). Target: p99 <= 50 ms.

Everything runs in one transaction that is rolled back at the end, so the database is left as it was. Refused
outside debug/demo mode."""

from __future__ import annotations

import gc
import random
import secrets
import time
from datetime import date, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dispatch.grid import cell_of
from dispatch.models import Merchant, Order, OrderStatus, Rider, Store
from dispatch.selectors import suggestions
from dispatch.selectors.suggestions import suggest_riders
from dispatch.simulation.management.commands.bench_pickup import percentiles

CENTRE = (51.5, -0.12)
HALF_SPAN_DEG = (0.135, 0.216)  # about 15 km each way at 51.5°N


class Rollback(Exception):
    pass


def scan(order: Order, limit: int) -> list:
    """Every on-duty rider, ranked: the first version's way (for comparison only)."""
    fresh_after = timezone.now() - timedelta(seconds=suggestions.POSITION_FRESH_S)
    riders = list(Rider.objects.filter(on_duty=True).only(*suggestions._FIELDS))
    loads = suggestions._loads([r.pk for r in riders])
    out = [suggestions._suggestion(r, order, "", loads.get(r.pk, 0), fresh_after) for r in riders]
    return sorted((s for s in out if s is not None), key=suggestions.rank_key)[:limit]


class Command(BaseCommand):
    help = "Seed 10,000 on-duty riders, then time suggestions for orders (p50/p99); rolled back afterwards."

    def add_arguments(self, parser):
        parser.add_argument("--riders", type=int, default=10_000)
        parser.add_argument("--stores", type=int, default=50)
        parser.add_argument("--calls", type=int, default=1000)
        parser.add_argument("--scan-calls", type=int, default=20)
        parser.add_argument("--seed", type=int, default=26)
        parser.add_argument("--profile", action="store_true", help="Print a profile of one call per store.")

    def handle(self, *args, riders: int, stores: int, calls: int, scan_calls: int, seed: int, profile: bool,
               **options):
        self.profile = profile
        if not (settings.DEBUG or settings.DEMO_MODE):
            raise CommandError("bench_suggest seeds and rolls back test data: run it in debug or demo mode only.")
        rng = random.Random(seed)  # noqa: S311 - reproducible test data, not a secret
        try:
            with transaction.atomic():
                self.run(rng, riders, stores, calls, scan_calls)
                raise Rollback()
        except Rollback:
            pass

    def run(self, rng: random.Random, n_riders: int, n_stores: int, calls: int, scan_calls: int) -> None:
        User = get_user_model()
        tag = secrets.token_hex(3)
        started = time.perf_counter()
        own = Merchant.objects.create(user=User.objects.create(username=f"bench-m-{tag}-own"))
        other = Merchant.objects.create(user=User.objects.create(username=f"bench-m-{tag}-other"))

        def point() -> tuple[float, float]:
            return (CENTRE[0] + rng.uniform(-HALF_SPAN_DEG[0], HALF_SPAN_DEG[0]),
                    CENTRE[1] + rng.uniform(-HALF_SPAN_DEG[1], HALF_SPAN_DEG[1]))

        stores = Store.objects.bulk_create([Store(name=f"Bench {tag} {i}", address="1 Bench Road", lat=p[0], lng=p[1])
                                            for i, p in ((i, point()) for i in range(n_stores))])
        users = User.objects.bulk_create([User(username=f"bench-s-{tag}-{j}") for j in range(n_riders)], batch_size=1000)
        now = timezone.now()
        rows = []
        for j, user in enumerate(users):
            lat, lng = point()
            rows.append(Rider(user=user, display_name=f"R{j}", phone="+440000000000", on_duty=True, last_lat=lat,
                              last_lng=lng, cell=cell_of(lat, lng), last_seen_at=now - timedelta(seconds=rng.randint(0, 60)),
                              fleet=own if j % 10 == 0 else None))  # one rider in ten rides for a merchant's fleet
        all_riders = Rider.objects.bulk_create(rows, batch_size=1000)
        expires = now + timedelta(days=1)

        def order(n: int, store: Store, merchant: Merchant, status: str, rider: Rider | None) -> Order:
            return Order(store=store, merchant=merchant, status=status, rider=rider, business_date=date(2026, 1, 1),
                         pickup_seq=n, pickup_code=f"{n}", display_name="Z**", phone_masked="****0000", area="Bench",
                         delivery_pin_digest="x", tracking_token_digest=f"bench-{tag}-{n}", tracking_expires_at=expires,
                         retention_due_at=expires)

        busy = rng.sample(all_riders, len(all_riders) // 5)  # a fifth of them carry one or two orders
        held = [order(i, rng.choice(stores), own, OrderStatus.ASSIGNED, r) for i, r in enumerate(busy + busy[::3])]
        probes = [order(100_000 + i, s, own if i % 2 else other, OrderStatus.CREATED, None) for i, s in enumerate(stores)]
        Order.objects.bulk_create(held + probes, batch_size=1000)
        probes = list(Order.objects.filter(pickup_seq__gte=100_000, tracking_token_digest__startswith=f"bench-{tag}")
                      .select_related("store"))
        self.stdout.write(f"seeded {n_riders} on-duty riders, {len(held)} orders held, {n_stores} stores in "
                          f"{time.perf_counter() - started:.1f} s ({connection.vendor})")
        for o in probes[:20]:  # warm up, and check the index against the scan
            assert suggest_riders(order=o) == scan(o, 10), o.pk
        self.explain(probes[0])
        if self.profile:
            import cProfile
            import pstats

            with cProfile.Profile() as prof:
                for o in probes:
                    suggest_riders(order=o)
            pstats.Stats(prof, stream=self.stdout).sort_stats("cumulative").print_stats(25)
        self.stdout.write(self.measure("suggest_riders (index)", calls, probes, lambda o: suggest_riders(order=o)))
        self.stdout.write(self.measure("scan of every rider", scan_calls, probes, lambda o: scan(o, 10)))

    def explain(self, order: Order) -> None:
        """The plan of each query of one call: the riders' come from the cell index."""
        with CaptureQueriesContext(connection) as ctx:
            suggest_riders(order=order)
        prefix = "EXPLAIN QUERY PLAN " if connection.vendor == "sqlite" else "EXPLAIN "
        with connection.cursor() as cursor:
            for query in ctx.captured_queries:
                cursor.execute(prefix + query["sql"])
                plan = " / ".join(str(row[-1]).strip() for row in cursor.fetchall())
                self.stdout.write(f"  {query['sql'][:60]}… → {plan[:200]}")

    def measure(self, label: str, calls: int, probes: list[Order], fn) -> str:
        """Wall time and this process's CPU time per call (the CPU time shows the cost on a busy machine)."""
        samples, cpu, queries, rows = [], [], 0, 0
        gc.collect()
        for i in range(calls):
            o = probes[i % len(probes)]
            with CaptureQueriesContext(connection) as ctx:
                t, c = time.perf_counter(), time.process_time()
                rows += len(fn(o))
                samples.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
            queries += len(ctx.captured_queries)
        p, q = percentiles(samples), percentiles(cpu)
        return (f"{label}: {calls} calls, wall p50 {p['p50']:.2f} ms, p95 {p['p95']:.2f} ms, p99 {p['p99']:.2f} ms, "
                f"max {p['max']:.2f} ms; CPU p50 {q['p50']:.2f} ms, p99 {q['p99']:.2f} ms; "
                f"{queries / calls:.1f} queries a call, {rows / calls:.1f} riders returned")
