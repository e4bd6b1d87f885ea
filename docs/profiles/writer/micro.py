# ruff: noqa - a measurement script kept as it was run for docs/profiles/README.md (the batch writer pass)
"""Micro-benchmark of the writer's statements: python -m (run inside a django env)."""
import os
import sys
import time

import django

django.setup()
from datetime import UTC, datetime

from django.db import connection, transaction

from dispatch.models import LocationFix, Order, Rider
from dispatch.live import statements
from dispatch.live import writer as fixes

TICK = os.sysconf("SC_CLK_TCK")
def srv_cpu(pid):
    try:
        f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / TICK
    except OSError:
        return 0.0

rider = Rider.objects.first(); order = Order.objects.first()
if Rider.objects.count() < 50:
    from django.contrib.auth.models import User
    for i in range(50 - Rider.objects.count()):
        u = User.objects.create(username=f"micro{i}")
        Rider.objects.create(user=u, display_name=f"m{i}", phone="+440000")
riders = list(Rider.objects.all())

with connection.cursor() as c:
    if connection.vendor == "postgresql":
        c.execute("select pg_backend_pid()"); bpid = c.fetchone()[0]
    else:
        bpid = None
seq = [0]
def rows(n):
    return _rows(n)
def _rows(n):
    out = []
    for i in range(n):
        seq[0] += 1
        out.append(LocationFix(rider=rider, order=order, lat=51.5, lng=-0.12, accuracy=8.0, at=datetime.now(UTC),
                               received_at=datetime.now(UTC), seq=seq[0], accepted=True, reason=""))
    return out

def bulk(rs): LocationFix.objects.bulk_create(rs, batch_size=500)
def writer(rs): statements._history_insert([statements.FixRow(*(getattr(r, f) for f in statements.FixRow._fields)) for r in rs])  # rows are FixRows since the eighth pass
def multi_values(rs):
    fields = statements._history_columns()
    preps = [(f.pre_save, f.get_db_prep_save) for f in fields]
    params = [prep(pre(r, True), connection) for r in rs for pre, prep in preps]
    qn = connection.ops.quote_name
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = f"INSERT INTO {qn(LocationFix._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) VALUES " + ", ".join([marks] * len(rs))
    with connection.cursor() as c:
        c.execute(sql, params)
def executemany(rs):
    fields = statements._history_columns()
    preps = [(f.pre_save, f.get_db_prep_save) for f in fields]
    values = [tuple(prep(pre(r, True), connection) for pre, prep in preps) for r in rs]
    qn = connection.ops.quote_name
    sql = f"INSERT INTO {qn(LocationFix._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))})"
    with connection.cursor() as c:
        c.executemany(sql, values)

def unnest(rs):
    conn = connection
    fields = statements._history_columns()
    preps = [(f.pre_save, f.get_db_prep_save) for f in fields]
    cols = [[] for _ in fields]
    for r in rs:
        for col, (pre, prep) in zip(cols, preps):
            col.append(prep(pre(r, True), conn))
    qn = conn.ops.quote_name
    casts = ", ".join(f"%s::{f.db_type(conn)}[]" for f in fields)
    sql = f"INSERT INTO {qn(LocationFix._meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) SELECT * FROM unnest({casts})"
    with conn.cursor() as c:
        c.execute(sql, cols)

def pos_old(p):
    for rid, (a, b, at) in p.items():
        Rider.objects.filter(pk=rid).update(last_lat=a, last_lng=b, last_seen_at=at)
def pos_new(p): statements._positions_save(p)
def pos_bulk_update(p):
    objs = []
    for rid, (a, b, at) in p.items():
        r = Rider(pk=rid, last_lat=a, last_lng=b, last_seen_at=at); objs.append(r)
    Rider.objects.bulk_update(objs, ["last_lat", "last_lng", "last_seen_at"])

def run(fn, make, n, reps):
    t0 = time.perf_counter(); c0 = time.process_time(); s0 = srv_cpu(bpid) if bpid else 0
    for _ in range(reps):
        arg = make(n)
        with transaction.atomic():
            fn(arg)
    t1 = time.perf_counter(); c1 = time.process_time(); s1 = srv_cpu(bpid) if bpid else 0
    return (t1 - t0) / reps * 1000, (c1 - c0) / reps * 1000, (s1 - s0) / reps * 1000

def make_pos(n):
    return {r.pk: (51.5, -0.1, datetime.now(UTC)) for r in riders[:n]}

print("vendor", connection.vendor, "riders", len(riders), "load", os.getloadavg()[0])
if os.environ.get("PROFILE"):
    import cProfile
    import pstats
    rs = rows(200)
    pr = cProfile.Profile(); pr.enable()
    for _ in range(50):
        with transaction.atomic(): statements._history_insert(rs[:])
    pr.disable(); pstats.Stats(pr).sort_stats("tottime").print_stats(12); sys.exit()
reps = int(sys.argv[1]) if len(sys.argv) > 1 else 200
for n in (10, 50, 200):
    # make() cost included in both; subtract by a no-op
    for name, fn in (("noop", lambda rs: None), ("bulk_create", bulk), ("writer", writer), ("multi_values", multi_values), ("executemany", executemany), ("unnest", unnest)) if connection.vendor == "postgresql" else (("noop", lambda rs: None), ("bulk_create", bulk), ("writer", writer)):
        wall, cpu, srv = run(fn, rows, n, reps)
        print(f"history n={n:4d} {name:13s} wall {wall:7.3f} ms  client cpu {cpu:7.3f} ms  server cpu {srv:7.3f} ms /group")
for n in sorted({min(len(riders), k) for k in (3, 10, 50)}):
    for name, fn in (("noop", lambda p: None), ("per-row update", pos_old), ("writer", pos_new), ("bulk_update", pos_bulk_update)):
        wall, cpu, srv = run(fn, make_pos, n, reps)
        print(f"positions n={n:4d} {name:15s} wall {wall:7.3f} ms  client cpu {cpu:7.3f} ms  server cpu {srv:7.3f} ms /group")
