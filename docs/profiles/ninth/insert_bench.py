"""A group's history INSERT and positions UPDATE in three ways:
- "values": multi-row VALUES, one bound parameter per value, the query's text different for each group size, with
  BEGIN and COMMIT in pipeline mode;
- "unnest": the same two statements over one array per column (a fixed text, 10 and 4 parameters);
- "one": both in one statement (a WITH holding the INSERT), no pipeline, no BEGIN and COMMIT, its own transaction
  in autocommit, and prepared by the server after psycopg's five runs.

psycopg converts a query's %s placeholders with a regular expression, and caches the result only for queries of
at most 50 parameters (psycopg/_queries.py MAX_CACHED_STATEMENT_PARAMS): a group of more than 5 rows is parsed
anew every time. Prints, per group and per row: the client's CPU, and the server backend's CPU.

    python docs/profiles/ninth/insert_bench.py [postgres://postgres@127.0.0.1:5432/postgres]
"""

# ruff: noqa: S608 - a benchmark's own table and column names, values bound

from __future__ import annotations

import asyncio
import datetime as dt
import random
import sys
import time

import psycopg

COLS = "rider_id, order_id, lat, lng, accuracy, at, received_at, seq, accepted, reason"
TYPES = ["integer", "integer", "double precision", "double precision", "double precision",
         "timestamp with time zone", "timestamp with time zone", "bigint", "boolean", "varchar(32)"]


def backend_cpu(pid: int) -> float:
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100  # utime + stime, clock ticks of 10 ms


def rows_of(n: int) -> list[tuple]:
    now = dt.datetime.now(dt.UTC)
    pick = random.Random(n)  # noqa: S311 - test data
    return [(pick.randint(1, 10000), pick.randint(1, 10000), 51.5 + pick.random() / 100, -0.1, 12.0, now, now,
             i, True, "") for i in range(n)]


def values_statements(rows, positions):
    mark = "(" + ", ".join(["%s"] * 10) + ")"
    ins = (f"INSERT INTO fx ({COLS}) VALUES " + ", ".join([mark] * len(rows)), [v for r in rows for v in r])
    items = sorted(positions.items())
    upd = ("WITH v (k, a, b, c) AS (VALUES " + ", ".join(["(%s, %s, %s, %s)"] * len(items)) + ") "
           "UPDATE rd SET last_lat = v.a, last_lng = v.b, last_seen_at = v.c FROM v WHERE rd.id = v.k",
           [x for k, (a, b, c) in items for x in (k, a, b, c)])
    return [ins, upd]


INS_UNNEST = (f"INSERT INTO fx ({COLS}) SELECT * FROM unnest("
              + ", ".join(f"%s::{t}[]" for t in TYPES) + ")")
UPD_UNNEST = ("UPDATE rd SET last_lat = v.a, last_lng = v.b, last_seen_at = v.c FROM unnest("
              "%s::integer[], %s::double precision[], %s::double precision[], %s::timestamp with time zone[]) "
              "AS v (k, a, b, c) WHERE rd.id = v.k")


def unnest_statements(rows, positions):
    items = sorted(positions.items())
    return [(INS_UNNEST, [list(col) for col in zip(*rows, strict=True)]),
            (UPD_UNNEST, [[k for k, _ in items], [p[0] for _, p in items], [p[1] for _, p in items],
                          [p[2] for _, p in items]])]


ONE_UNNEST = ("WITH h AS (" + INS_UNNEST + ") " + UPD_UNNEST)


def one_statement(rows, positions):
    (_, ins), (_, upd) = unnest_statements(rows, positions)
    return [(ONE_UNNEST, ins + upd)]


async def run(url: str) -> None:
    conn = await psycopg.AsyncConnection.connect(url, autocommit=True)
    await conn.execute("CREATE TEMP TABLE fx (id bigserial primary key, rider_id integer, order_id integer, "
                       "lat double precision, lng double precision, accuracy double precision, at timestamptz, "
                       "received_at timestamptz, seq bigint, accepted boolean, reason varchar(32))")
    await conn.execute("CREATE TEMP TABLE rd (id integer primary key, last_lat double precision, "
                       "last_lng double precision, last_seen_at timestamptz)")
    await conn.execute("INSERT INTO rd SELECT g, 0, 0, now() FROM generate_series(1, 10000) g")
    pid = conn.info.backend_pid
    print(f"{'rows':>5} {'way':>8} {'client µs/row':>14} {'server µs/row':>14} {'client ms/group':>16}")
    for n in (12, 50, 200):
        groups = max(20, 6000 // n)
        batches = []
        for _ in range(groups):
            rows = rows_of(n)
            batches.append((rows, {r[0]: (r[2], r[3], r[5]) for r in rows}))
        for way, make in (("values", values_statements), ("unnest", unnest_statements), ("one", one_statement)) * 2:
            cpu0, srv0 = time.thread_time(), backend_cpu(pid)
            for rows, positions in batches:
                if way == "one":  # one statement, its own transaction (autocommit), prepared after 5 runs
                    async with conn.cursor() as cur:
                        for sql, params in make(rows, positions):
                            await cur.execute(sql, params)
                    continue
                async with conn.pipeline(), conn.transaction(), conn.cursor() as cur:
                    for sql, params in make(rows, positions):
                        await cur.execute(sql, params)
            client = (time.thread_time() - cpu0) / (groups * n) * 1e6
            server = (backend_cpu(pid) - srv0) / (groups * n) * 1e6
            print(f"{n:>5} {way:>8} {client:>14.1f} {server:>14.1f} {client * n / 1000:>16.2f}")
    await conn.close()


if __name__ == "__main__":
    try:
        import uvloop
        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run(sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432/postgres"))
