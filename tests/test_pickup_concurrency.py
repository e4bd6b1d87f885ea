"""On PostgreSQL, orders arriving at the same moment never share a pickup number: 8 processes, each with
its own connection, allocate 50 numbers each (and store an order with each) at once, on a store-day
whose counter row does not exist yet. The numbers are distinct and contiguous. Then the full intake
service (vault, audit) does the same from 4 processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.harness import ROOT, create_pg_database, drop_pg_database, scale_urls

pytestmark = pytest.mark.scale

WORKER = r"""
import json, os, random, secrets, sys, time
from datetime import datetime, timedelta
import django
django.setup()
from django.db import connection, transaction
from django.utils import timezone
from dispatch.models import Order, Store
from dispatch.services.pickup_numbers import pickup_number_allocate

mode, store_id, n, go, at = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
at = datetime.fromisoformat(at)
store = Store.objects.get(pk=store_id)
connection.ensure_connection()
print("ready", flush=True)
while not os.path.exists(go):
    time.sleep(0.001)
got = []
for i in range(n):
    if mode == "alloc":
        with transaction.atomic():
            day, seq, code = pickup_number_allocate(store=store, at=at)
            time.sleep(random.random() / 500)  # hold the counter row a little: more overlap
            now = timezone.now()
            Order.objects.create(store=store, business_date=day, pickup_seq=seq, pickup_code=code, display_name="Z**",
                                 phone_masked="****0000", area="Test", approx_lat=51.5, approx_lng=-0.1,
                                 delivery_pin_digest=secrets.token_hex(32), tracking_token_digest=secrets.token_hex(32),
                                 tracking_expires_at=now + timedelta(days=1), retention_due_at=now + timedelta(days=90))
    else:
        from dispatch.services.orders import order_create
        order = order_create(merchant=None, store=store, external_ref=f"C-{i}", items=[{"name": "Tea", "qty": 1}],
                             consent={}, customer={"name": "Test Person", "phone": "+447700900000", "lat": 51.5,
                             "lng": -0.1, "address": {"area": "Test", "street": "1 Road"}})
        seq, code = order.pickup_seq, order.pickup_code
    got.append([seq, code])
print(json.dumps(got), flush=True)
"""

SETUP = r"""
import django
django.setup()
from dispatch.models import Store
print(Store.objects.create(name="Concurrency", address="1 Road", lat=51.5, lng=-0.1, timezone="Europe/London",
                           pickup_prefix="C").pk)
"""


@pytest.fixture
def pg(tmp_path):
    base, _ = scale_urls()
    if not base:
        pytest.skip("DATABASE_URL not set: PostgreSQL concurrency test needs the scale profile")
    url, name = create_pg_database(base)
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TESTING", "EVENTS_RELAY")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEMO_MODE="1", DATABASE_URL=url, VAR_DIR=str(tmp_path / "var"),
               PYTHONUNBUFFERED="1")
    try:
        subprocess.run([sys.executable, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True, text=True, timeout=180)
        yield env
    finally:
        drop_pg_database(base, name)


def python(env, code: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def run_at_once(env, tmp: Path, mode: str, store_id: int, workers: int, each: int) -> list[list]:
    go = tmp / f"go-{mode}"
    at = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
    procs = [python(env, WORKER, mode, str(store_id), str(each), str(go), at) for _ in range(workers)]
    try:
        for proc in procs:  # every worker is connected and waiting
            line = proc.stdout.readline()
            assert line.strip() == "ready", (line, proc.stderr.read() if proc.poll() is not None else "")
        go.touch()
        results = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err[-3000:]
            results.extend(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


def test_simultaneous_orders_never_share_a_number_on_postgresql(pg, tmp_path):
    setup = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=pg, check=True, capture_output=True, text=True,
                           timeout=60)
    store_id = int(setup.stdout.strip().splitlines()[-1])

    got = run_at_once(pg, tmp_path, "alloc", store_id, workers=8, each=50)
    seqs = sorted(seq for seq, _ in got)
    assert len(got) == 400
    assert seqs == list(range(1, 401)), "numbers must be distinct and contiguous"
    assert len({code for _, code in got}) == 400
    assert all(code == f"C{seq}" for seq, code in got)

    got = run_at_once(pg, tmp_path, "intake", store_id, workers=4, each=10)
    assert sorted(seq for seq, _ in got) == list(range(401, 441))

    check = subprocess.run([sys.executable, "-c", (
        "import django; django.setup()\n"
        "from dispatch.models import Order, PickupCounter\n"
        f"qs = Order.objects.filter(store_id={store_id})\n"
        "print(qs.count(), qs.values('pickup_seq').distinct().count(), PickupCounter.objects.get().last)\n")],
        cwd=ROOT, env=pg, check=True, capture_output=True, text=True, timeout=60)
    assert check.stdout.split() == ["440", "440", "440"]
