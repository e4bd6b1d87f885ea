"""Benchmark the counter lookup over HTTP on the scale profile: a real daphne on PostgreSQL and Redis,
100k orders seeded by bench_pickup, a staff session, sequential GET /api/pickup/lookup/. It runs the
same requests against a server that opens a PostgreSQL connection per request (DATABASE_POOL=0) and
one that pools them (the default), and prints p50/p99 as the client saw them and as Django timed them
(the Server-Timing header). Prints figures; asserts nothing.

    DATABASE_URL=postgres://... REDIS_URL=redis://... make bench-http
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from tests.harness import DEMO_PASSWORD, LiveStack

SETUP = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.utils import timezone
from dispatch.models import Order, Staff
from dispatch.services.pickup_numbers import business_date
get_user_model().objects.filter(username__startswith="bench-staff-").update(password=make_password("{password}"))
out = []
for staff in Staff.objects.select_related("user", "store").filter(user__username__startswith="bench-staff-"):
    today = business_date(store=staff.store, at=timezone.now())
    codes = list(Order.objects.filter(store=staff.store, business_date=today).values_list("pickup_code", flat=True))
    out.append([staff.user.username, codes])
print(json.dumps(out))
"""


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def run(*, pool: bool, database_url: str, redis_url: str, orders: int, lookups: int, seed: int) -> dict[str, float]:
    env = {"DATABASE_POOL": "1" if pool else "0", "SERVER_TIMING": "1"}
    with tempfile.TemporaryDirectory() as tmp, LiveStack(Path(tmp), database_url=database_url, redis_url=redis_url,
                                                         env=env) as stack:
        stack.manage("bench_pickup", "--keep", "--orders", str(orders), "--lookups", "20")
        staff = json.loads(stack.manage("shell", "-c", SETUP.format(password=DEMO_PASSWORD)).stdout.strip().splitlines()[-1])
        clients = [(stack.login(username), codes) for username, codes in staff if codes]
        rng = random.Random(seed)  # noqa: S311 - picks, not secrets
        picks = [rng.choice(clients) for _ in range(lookups + 100)]
        client_ms, server_ms = [], []
        for i, (client, codes) in enumerate(picks):
            started = time.perf_counter()
            response = client.get("/api/pickup/lookup/", params={"code": rng.choice(codes)})
            elapsed = (time.perf_counter() - started) * 1000
            if response.status_code != 200:
                raise SystemExit(f"lookup answered {response.status_code}: {response.text[:300]}")
            if i >= 100:  # the first hundred warm the server up
                client_ms.append(elapsed)
                server_ms.append(float(response.headers["Server-Timing"].split("dur=")[1]))
        for client, _ in clients:
            client.close()
    return {"client p50": pct(client_ms, 0.5), "client p99": pct(client_ms, 0.99),
            "server p50": pct(server_ms, 0.5), "server p99": pct(server_ms, 0.99)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--lookups", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    database_url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if not (database_url.startswith("postgres") and redis_url):
        sys.exit("bench-http runs the scale profile: set DATABASE_URL (PostgreSQL) and REDIS_URL.")
    print(f"daphne on PostgreSQL and Redis, {args.orders:,} orders, {args.lookups} sequential lookups, "
          f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    results = {}
    for pool in (False, True):
        label = "pooled connections" if pool else "a connection per request"
        results[pool] = r = run(pool=pool, database_url=database_url, redis_url=redis_url, orders=args.orders,
                                lookups=args.lookups, seed=args.seed)
        verdict = "OK" if r["server p99"] <= 10 else "OVER TARGET"
        print(f"{label:<26} client p50={r['client p50']:6.2f} p99={r['client p99']:6.2f} ms   "
              f"server p50={r['server p50']:6.2f} p99={r['server p99']:6.2f} ms [{verdict}: server p99 <= 10 ms]")
    print(f"ratio: pooling cuts the server's median by {results[False]['server p50'] / results[True]['server p50']:.2f}x "
          f"and its p99 by {results[False]['server p99'] / results[True]['server p99']:.2f}x, same run")


if __name__ == "__main__":
    main()
