"""`make bench-live`: the ping path through daphne over real websockets, against a bare echo consumer on the
same daphne, in one run. Prints one table; asserts nothing.

    python -m tests.bench_live [--riders 1000] [--steps 100,250,500,1000,2500] [--step-seconds 20]
                               [--profile auto|embedded|scale] [--procs N]
                               [--variant NAME:SETTING=VALUE[,SETTING=VALUE...]] ...
                               [--lunch-peak ORDERS_PER_HOUR [--lunch-riders N]]

A `--variant` runs the app's steps again after the first run, on the same riders and database, with the servers
restarted under those settings (read back from their environment before anything is measured): an A/B of a
setting in one run, whose rows are named app[NAME]. A setting's name must be one the project reads from the
environment (a misspelt one would measure the default twice). The host's speed can change between targets (the
calib ms column), so repeat the default as a variant of its own to see how far.

Profiles: embedded (one daphne on SQLite, the in-memory channel layer), or scale when DATABASE_URL and
REDIS_URL are set (two daphne, a fresh PostgreSQL database on that server, and a private redis-server on a
free port, so that its CPU is this run's alone). Every rider socket holds a picked-up order (the reveal
engine runs on every ping) and pings every riders/rate seconds, open loop. A dispatcher socket times each
`rider.position` frame against the send time the rider put in the ping's `timestamp`.

Columns: offered and achieved pings/s; ack latency p50/p95/p99 (send to `location.ack`); map p99 (ping sent
to its position on the dispatcher's socket); lost (pings never acked within 2 s of the step's end); map
missing (positions the server should have put on the map, by its one-a-second-per-rider rule, that had not
arrived 2 s after the step's end: dropped, or too late to be of use); overflow (the server's own count of
messages dropped on full channels); riders on the map out of riders pinging; map stale (at the step's end,
the most any pinging rider's last accepted ping is ahead of its position on the map; a rider never shown
counts from the step's start); server CPU ms per acked ping (every
server process, and on scale PostgreSQL's backends for this database and Redis, from /proc); RSS KiB per
open socket (servers' RSS after the warm-up's ping on every socket minus before the sockets opened, over the
sockets; the log line also gives it before any ping; the servers are restarted between targets); the app's
achieved load over the echo's at the same offered load; the client's own lag p99 (how late the load generator
sent pings: when it is large, the offered load was not really offered). Each step's log line also gives the
load generator's own CPU per ping and share of a core: it runs on the servers' machine and takes their cores,
but is not counted in the servers' CPU. Each idle and step line ends with its window in Unix seconds, to cut
the servers' stall files (LOOP_PROBE=DIR in the environment, dispatch/live/probe.py) with
`docs/profiles/loop_stalls.py --from T --to T`. The last column, calib ms, is the machine's own speed just before
the step: the best of 7 timings of a fixed pure-Python loop (`calibrate`), taken while the servers are idle. On a
virtual machine the host's other tenants slow every process without the load average showing it (seen here: the
same code and setting gave ack p99 19 ms and 63 ms at 2,500/s in two runs on one machine, 1-minute load under 1.0 at the start
of both, with the load generator's own CPU per ping 0.09 and 0.15 ms); compare runs, and variants, at like figures.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import httpx

from dispatch.simulation import load, lunch
from tests.harness import BIN, ROOT, SERVER, LiveStack, free_port

TICK = os.sysconf("SC_CLK_TCK")
SATURATED_P99_MS = 5000.0
GAP_NOTES = 5  # riders short on the map described in the notes, with what arrived for them in the next 3 s
MAP_SETTLE_S = 1.5  # after the step's acks, before the map's frames are collected: > POSITION_FLUSH_S (0.5 s)
COLUMNS = ["target", "offered/s", "achieved/s", "ack p50 ms", "ack p95 ms", "ack p99 ms", "map p99 ms", "lost",
           "map missing", "overflow", "riders on map", "map stale max s", "CPU ms/ping", "RSS KiB/socket", "vs echo",
           "client lag p99 ms", "calib ms"]


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICK  # utime, stime
    return total


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


def calibrate(n: int = 200_000, tries: int = 7) -> float:
    """The machine's speed now, in ms: the best of `tries` timings of a fixed pure-Python loop (higher: slower)."""
    best = float("inf")
    for _ in range(tries):
        t0 = time.perf_counter()
        sum(i * i for i in range(n))
        best = min(best, time.perf_counter() - t0)
    return best * 1e3


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, max(0, int(len(values) * q + 0.5) - 1))]


def map_account(acks: list, frames: list, start_at: float, end: float):
    """What the map showed of a step: the positions it received for pings sent in the step's window (`frames`:
    rider, ping time, arrival), their latency, and per rider, how many positions short it is of the server's
    rule (one a second per rider that moved) for the accepted pings (`acks`: rider, send time, latency,
    accepted) sent in the same window. A ping sent after the window's end (the last of a step, a few ms late)
    is neither expected nor counted."""
    seen = {(r, at) for r, at, _ in frames if start_at <= at <= end}
    map_lat = [(arr - at) * 1e3 for r, at, arr in frames if start_at <= at <= end]
    by_rider: dict[int, list[float]] = defaultdict(list)
    for rider, ts, _lat, accepted in acks:
        if accepted and start_at <= ts <= end:
            by_rider[rider].append(ts)
    seen_by_rider: dict[int, int] = defaultdict(int)
    for rider, _at in seen:
        seen_by_rider[rider] += 1
    missing = 0
    gaps: list[tuple[int, float]] = []  # (rider, its last accepted ping) where the map is short of positions
    for rider, times in by_rider.items():
        expected, last = 0, float("-inf")
        for ts in sorted(times):
            if ts - last >= 1.0:  # the server forwards a rider's position at least once a second it moved
                expected += 1
                last = ts
        short = max(0, expected - seen_by_rider.get(rider, 0))  # per rider: one's extras hide no other's gap
        missing += short
        if short:
            gaps.append((rider, max(times)))
    return seen, map_lat, missing, gaps, by_rider


class PrivateRedis:
    def __init__(self, tmp: Path):
        self.port = free_port()
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(tmp), "--maxclients", "20000"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 10
        import redis

        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=10)


class Bench:
    def __init__(self, args):
        self.args = args
        self.rows: list[dict] = []
        self.notes: list[str] = []
        self.lunch_lines: list[str] = []
        self.lunch_report: dict | None = None

    # --- the server's processes ---------------------------------------------------------------------
    def daphnes(self) -> list[subprocess.Popen]:
        """The stack's daphne processes still running."""
        return [p for p in self.stack.procs if p.name.startswith("daphne") and p.poll() is None]  # type: ignore[attr-defined]

    def server_parts(self) -> dict[str, list[int]]:
        """The server's processes by part: daphne (with any other process of the stack), redis, postgres."""
        parts = {"daphne": [p.pid for p in self.stack.procs if p.poll() is None], "redis": [], "postgres": []}
        if self.redis is not None:
            parts["redis"].append(self.redis.proc.pid)
        if self.stack.db_name:
            import psycopg

            with psycopg.connect(self.stack.base_db_url, autocommit=True) as conn:
                parts["postgres"] += [r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s",
                                                                 (self.stack.db_name,))]
        return parts

    def cpu_split(self, parts: dict[str, list[int]]) -> dict[str, float]:
        return {part: cpu_seconds(pids) for part, pids in parts.items()}

    def idle_cpu(self, target: str, sockets: int) -> None:
        """The servers' CPU with every socket open and no pings: what the open sockets cost by themselves."""
        seconds = self.args.idle_seconds
        if seconds <= 0:
            return
        parts = self.server_parts()
        cpu0 = self.cpu_split(parts)
        idle_from = time.time()
        time.sleep(seconds)
        cpu1 = self.cpu_split(parts)
        split = ", ".join(f"{part} {(cpu1[part] - cpu0[part]) * 1e3 / seconds:.0f}" for part in parts)
        total = sum(cpu1.values()) - sum(cpu0.values())
        print(f"  {target}: idle, {sockets} sockets open and no pings for {seconds:.0f} s: servers' CPU "
              f"{total * 1e3 / seconds:.0f} ms/s ({split}); window {idle_from:.0f}-{idle_from + seconds:.0f}", flush=True)

    def spy(self, target: str, rate: float, clients: list[int]) -> list[subprocess.Popen]:
        """py-spy on each daphne and each load-generator process for the step (`--spy DIR`): raw collapsed stacks,
        for docs/profiles/spy_summary.py."""
        if not self.args.spy:
            return []
        out = Path(self.args.spy)
        out.mkdir(parents=True, exist_ok=True)
        servers = [p.pid for p in self.daphnes()]
        spied = [(f"daphne{i}", pid) for i, pid in enumerate(servers)] + [(f"client{i}", pid) for i, pid in enumerate(clients)]
        return [subprocess.Popen(
            [shutil.which("py-spy") or str(BIN / "py-spy"), "record", "--nonblocking", "--gil", "-r", "50", "-f", "raw",
             "-d", str(int(self.args.step_seconds)), "-p", str(pid), "-o", str(out / f"{target}-{rate:.0f}-{name}.txt")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name, pid in spied]

    def overflow(self) -> int:
        return self.overflow_groups()[0]

    def overflow_groups(self) -> tuple[int, dict[str, int]]:
        """Messages dropped on full channels, summed over the servers: in all, and by group kind (the group's name
        up to its first '.' or '_' and digits: "rider", "track", "dispatch"...)."""
        total, groups = 0, defaultdict(int)
        for i in range(len(self.stack.ports)):
            r = httpx.get(f"{self.stack.url_of(i)}/api/dispatch/overload/", timeout=10,
                          headers={"Authorization": f"Token {self.setup['dispatcher']['token']}"})
            if r.status_code != 200:
                continue
            total += r.json()["dropped"]
            for group, n in r.json().get("by_group", {}).items():
                groups[re.split(r"[._\d]", group, maxsplit=1)[0] or group] += n
        return total, dict(groups)

    # --- the lunch peak beside the pings ---------------------------------------------------------------
    def lunch_start(self):
        """The lunch peak (dispatch/simulation/lunch.py) in a process of its own, running until `lunch_stop`."""
        ctx = multiprocessing.get_context("fork")
        mine, theirs = ctx.Pipe()
        a = self.args
        kwargs = {"orders_per_hour": a.lunch_peak, "ride_s": a.lunch_ride_seconds, "decline_every": a.lunch_decline_every,
                  "fail_every": a.lunch_fail_every, "log": lambda line: None}
        proc = ctx.Process(target=lunch.lunch_process, daemon=True,
                           args=(theirs, self.stack.url, self.lunch_setup, kwargs))
        self.lunch_over0 = self.overflow_groups()
        proc.start()
        answer = mine.recv() if mine.poll(60) else "failed: no answer in 60 s"
        if answer != "ready":
            proc.kill()
            raise RuntimeError(f"the lunch peak did not start: {answer}")
        self.lunch_t0 = time.monotonic()
        print(f"  lunch peak: {a.lunch_peak:.0f} orders/h, {len(self.lunch_setup['riders'])} lunch riders, auto-dispatch on",
              flush=True)
        return proc, mine

    def lunch_stop(self, lunch_proc) -> None:
        proc, conn = lunch_proc
        left = self.args.lunch_min_seconds - (time.monotonic() - self.lunch_t0)
        if left > 0:
            time.sleep(left)
        seconds = time.monotonic() - self.lunch_t0
        conn.send("stop")
        report = conn.recv() if conn.poll(60) else None
        proc.join(10)
        if proc.is_alive():
            proc.kill()
        if report is None:
            self.lunch_lines.append("lunch peak: no report (the process did not answer)")
            return
        (t0, g0), (t1, g1) = self.lunch_over0, self.overflow_groups()
        by = {k: g1.get(k, 0) - g0.get(k, 0) for k in sorted(set(g0) | set(g1)) if g1.get(k, 0) - g0.get(k, 0)}
        report.update(seconds=seconds, dropped=t1 - t0, dropped_by=by, orders_per_hour=self.args.lunch_peak)
        self.lunch_report = report
        self.lunch_lines += [
            f"lunch peak, {self.args.lunch_peak:.0f} orders/h for {seconds:.0f} s beside the pings:",
            f"  orders posted {report['posted']}, assigned {report['accepted']}, delivered {report['delivered']}, "
            f"failed {report['failed']} (refused posts {report['post_errors']}, job errors {report['job_errors']})",
            f"  offers {report['offers']}: accepted {report['accepted']}, declined {report['declined']}, "
            f"answered too late {report['accept_refused']}",
            "  offer-to-phone ms (created_at to offer.new on the rider socket): p50 "
            + " p99 ".join("-" if v is None else f"{v:.0f}" for v in (report["offer_p50_ms"], report["offer_p99_ms"])),
            f"  tracking sockets opened {report['track_opened']}, closed early {report['track_closed_early']}, "
            f"frames {report['track_frames']}",
            f"  frames dropped (overflow, all servers, during the lunch peak) {t1 - t0}"
            + (f" by group {by}" if by else "") + "; alerts dropped "
            + str(by.get("dispatch", 0)) + " (the dispatch groups carry alerts)",
        ]

    def restart_servers(self, extra: dict[str, str] | None = None) -> None:
        """Fresh daphne processes, same command and ports, for the next target: its RSS per socket is not
        flattered by memory the last target freed, and no backlog of the last overload is still running.
        `extra`: environment for the new servers on top of the stack's (a `--variant`'s settings)."""
        t0 = time.monotonic()
        servers = self.daphnes()
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 10)):  # a server still working off a backlog is killed
            for proc in servers:
                if proc.poll() is None:
                    os.killpg(proc.pid, sig)
            for proc in servers:
                try:
                    proc.wait(timeout=wait)
                except subprocess.TimeoutExpired:
                    pass
        self.stack.procs = [p for p in self.stack.procs if p.poll() is None]
        for i, port in enumerate(self.stack.ports):
            self.stack._spawn(f"daphne{i}", [*SERVER, "-b", "127.0.0.1", "-p", str(port),
                                             "config.asgi:application"], {"PORT": str(port), **(extra or {})})
        for port in self.stack.ports:
            self.stack._wait_http(port)
        print(f"  servers restarted for the next target in {time.monotonic() - t0:.1f} s", flush=True)

    def check_environment(self, name: str, extra: dict[str, str]) -> None:
        """A variant's settings, read back from each new server's /proc environment, before anything is measured."""
        servers = self.daphnes()
        for proc in servers:
            raw = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
            seen = dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)
            wrong = {k: seen.get(k) for k, v in extra.items() if seen.get(k) != v}
            if wrong:
                raise RuntimeError(f"variant {name}: {proc.name} started without {wrong}")  # type: ignore[attr-defined]
        print(f"  variant {name}: " + " ".join(f"{k}={v}" for k, v in extra.items())
              + f", read back from {len(servers)} server(s)' environment", flush=True)

    # --- a target's run -------------------------------------------------------------------------------
    def run_target(self, target: str, path: str) -> None:
        """Open every rider's socket on `path`, warm up, measure idle, run the steps, close. `target` names the
        table's rows: "app", "echo", or "app[NAME]" for a `--variant`."""
        ctx = multiprocessing.get_context("fork")
        riders = self.setup["riders"]
        procs = max(1, self.args.procs or (len(riders) + 2499) // 2500)
        urls = [self.stack.url_of(i) for i in range(len(self.stack.ports))]
        shards = []
        rss0 = rss_kib([p.pid for p in self.stack.procs] + ([self.redis.proc.pid] if self.redis else []))
        redis0 = rss_kib([self.redis.proc.pid]) if self.redis else 0
        for k in range(procs):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=load.shard_process, args=(theirs, riders[k::procs], urls, path), daemon=True)
            proc.start()
            shards.append((proc, mine))
        try:
            for _, conn in shards:
                conn.send(("open", {}))
            opened = failed = 0
            for _, conn in shards:
                ok, bad = conn.recv()
                opened += ok
                failed += bad
            time.sleep(1.0)
            rss1 = rss_kib([p.pid for p in self.stack.procs] + ([self.redis.proc.pid] if self.redis else []))
            rss_per = (rss1 - rss0) / max(opened, 1)
            print(f"  {target}: {opened} sockets open ({failed} failed), RSS +{(rss1 - rss0) / 1024:.1f} MiB", flush=True)
            if self.args.warmup_seconds > 0:  # one unmeasured ping per socket, acked (up to 60 s) before step 1 starts
                t0 = time.monotonic()
                start_at = time.time() + 0.5
                for _, conn in shards:
                    conn.send(("step", {"interval": self.args.warmup_seconds, "start_at": start_at, "phase0": 0.0,
                                        "seconds": self.args.warmup_seconds, "total": opened, "grace": 60.0}))
                acked = sum(len(conn.recv()["acks"]) for _, conn in shards)
                time.sleep(1.0)
                print(f"  {target}: warm-up, {acked} of {opened} first pings acked in {time.monotonic() - t0:.1f} s", flush=True)
                # The socket as it lives on: with its context and engine state after a ping (the column's figure).
                rss2 = rss_kib([p.pid for p in self.stack.procs] + ([self.redis.proc.pid] if self.redis else []))
                rss_per = (rss2 - rss0) / max(opened, 1)
                redis = (f", of which Redis {(rss_kib([self.redis.proc.pid]) - redis0) / max(opened, 1):.1f} KiB"
                         if self.redis else "")
                print(f"  {target}: RSS per socket {(rss1 - rss0) / max(opened, 1):.1f} KiB open, {rss_per:.1f} KiB "
                      f"after a ping each{redis}", flush=True)
            self.idle_cpu(target, opened)
            observer = self.map_open() if target.startswith("app") else None
            lunch_proc = self.lunch_start() if target == "app" and self.args.lunch_peak else None
            try:
                for rate in self.args.steps:
                    row = self.step(target, shards, rate, opened, rss_per, observer=observer)
                    self.rows.append(row)
                    if row["ack p99 ms"] > SATURATED_P99_MS or row["lost"] > 0.05 * max(row["sent"], 1):
                        self.notes.append(f"{target}: saturated at {rate:.0f}/s offered (ack p99 {row['ack p99 ms']:.0f} ms, "
                                          f"{row['lost']} lost); higher steps skipped to keep the run bounded")
                        break
                    time.sleep(2.0)
            finally:
                if lunch_proc is not None:
                    self.lunch_stop(lunch_proc)
                if observer is not None:
                    observer[1].send("stop")
                    observer[1].poll(30) and observer[1].recv()
                    observer[0].join(10)
                    if observer[0].is_alive():
                        observer[0].kill()
        finally:
            for _, conn in shards:
                try:
                    conn.send(("close", {}))
                    conn.poll(30) and conn.recv()
                except (OSError, EOFError):
                    pass
            for proc, _ in shards:
                proc.join(10)
                if proc.is_alive():
                    proc.kill()

    def map_open(self):
        """The dispatcher's socket, in a process of its own, open for the whole target run."""
        ctx = multiprocessing.get_context("fork")
        mine, theirs = ctx.Pipe()
        proc = ctx.Process(target=load.map_process, daemon=True,
                           args=(theirs, self.stack.url, self.setup["dispatcher"]["session"]))
        proc.start()
        answer = mine.recv() if mine.poll(60) else "failed: no answer in 60 s"
        if answer != "ready":
            proc.kill()
            raise RuntimeError(f"the dispatcher socket did not open: {answer}")
        return proc, mine

    def step(self, target: str, shards, rate: float, sockets: int, rss_per: float, *, observer) -> dict:
        seconds = self.args.step_seconds
        with_map = observer is not None
        if with_map:
            observer[1].send("frames")
            observer[1].recv()  # what arrived before this step (late frames of the last one) is not this step's
        over0 = self.overflow() if with_map else 0
        parts = self.server_parts()
        split0 = self.cpu_split(parts)
        cpu0 = sum(split0.values())
        client_pids = [proc.pid for proc, _ in shards] + ([observer[0].pid] if with_map else [])
        calib = calibrate()  # the servers are idle: the last step's acks are in, the next step's pings not yet sent
        client0 = cpu_seconds(client_pids)
        start_at = time.time() + 1.0
        spies = self.spy(target, rate, [proc.pid for proc, _ in shards])
        for _, conn in shards:
            conn.send(("step", {"interval": sockets / rate, "start_at": start_at, "seconds": seconds,
                                "phase0": 0.0, "total": sockets}))
        results = []
        for _, conn in shards:
            if not conn.poll(seconds + 120):
                raise RuntimeError("a load-generator process did not report")
            results.append(conn.recv())
        for part, pids in self.server_parts().items():  # a PostgreSQL backend opened during the step counts too
            fresh = sorted(set(pids) - set(parts[part]))
            parts[part] += fresh
        split1 = self.cpu_split(parts)
        cpu1 = sum(split1.values())
        client1 = cpu_seconds(client_pids)
        for spy in spies:
            try:
                spy.wait(timeout=30)
            except subprocess.TimeoutExpired:
                spy.kill()
        frames: list = []
        if with_map:
            time.sleep(MAP_SETTLE_S)  # the last pings' positions go out with the next flush (POSITION_FLUSH_S)
            observer[1].send("frames")
            frames = observer[1].recv() if observer[1].poll(30) else []
            frames = [f for f in frames if f[0] in self.bench_ids]  # not the lunch peak's riders
        over1 = self.overflow() if with_map else 0
        acks = [a for r in results for a in r["acks"]]
        lat = [a[2] * 1e3 for a in acks]
        row = {"target": target, "offered/s": rate, "achieved/s": len(acks) / seconds, "ack p50 ms": pct(lat, 0.5),
               "ack p95 ms": pct(lat, 0.95), "ack p99 ms": pct(lat, 0.99), "lost": sum(r["lost"] for r in results),
               "sent": sum(r["sent"] for r in results),
               "CPU ms/ping": (cpu1 - cpu0) * 1e3 / len(acks) if acks else None, "RSS KiB/socket": rss_per,
               "client lag p99 ms": max(r["client_late_p99"] for r in results) * 1e3, "calib ms": calib}
        if with_map:
            end = start_at + seconds
            seen, map_lat, missing, gaps, by_rider = map_account(acks, frames, start_at, end)
            if gaps:  # late or lost: the frames of the next few seconds tell
                time.sleep(3.0)
                observer[1].send("frames")
                later = observer[1].recv() if observer[1].poll(30) else []
                arrived = {}
                for r, at, arr in later:
                    arrived[(r, at)] = arr
                for rider, ts in gaps[:GAP_NOTES]:
                    positions = sorted((at, arr) for (r, at), arr in arrived.items() if r == rider and start_at <= at <= end)
                    late = ", ".join(f"{at - start_at:.2f} s into the step, {(arr - at) * 1e3:.0f} ms after its ping"
                                     for at, arr in positions) or "none in the next 3 s"
                    self.notes.append(f"{target} {rate:.0f}/s: rider {rider} short on the map (last accepted ping "
                                      f"{ts - start_at:.2f} s into the step); late positions: {late}")
                if len(gaps) > GAP_NOTES:
                    self.notes.append(f"{target} {rate:.0f}/s: and {len(gaps) - GAP_NOTES} more riders short on the map")
            shown: dict[int, float] = {}
            for rider, at in seen:
                shown[rider] = max(at, shown.get(rider, at))
            # At the step's end, how far the map's position of each pinging rider lags its last accepted ping.
            stale = [max(times) - shown.get(rider, start_at) for rider, times in by_rider.items()]
            row.update({"map p99 ms": pct(map_lat, 0.99), "map missing": missing,
                        "map stale max s": max(stale, default=0.0),
                        "overflow": over1 - over0,
                        "riders on map": f"{len({r for r, _ in seen})}/{len(by_rider)}"})
        split = ", ".join(f"{part} {(split1[part] - split0[part]) * 1e3 / max(len(acks), 1):.2f}" for part in parts)
        # The load generator shares the machine's cores with the servers: its CPU is printed beside theirs, not in it.
        print(f"  {target} {rate:.0f}/s: achieved {row['achieved/s']:.0f}/s, ack p99 {row['ack p99 ms']:.1f} ms, "
              f"CPU ms/ping {split}; load generator {(client1 - client0) * 1e3 / max(len(acks), 1):.2f} "
              f"({(client1 - client0) / seconds:.2f} of a core); calib {calib:.2f} ms; "
              f"window {start_at:.0f}-{start_at + seconds:.0f}", flush=True)
        return row

    # --- the whole run ----------------------------------------------------------------------------------
    def run(self) -> None:
        args = self.args
        limit = load.raise_fd_limit()
        load1 = os.getloadavg()[0]
        print(f"bench-live: profile {args.profile}, {args.riders} riders, steps {args.steps} pings/s x "
              f"{args.step_seconds:.0f} s, fd limit {limit}, {os.cpu_count()} CPUs")
        print(f"1-minute load average at start: {load1:.2f}; calibration {calibrate():.2f} ms (the calib ms column)")
        if load1 >= 1.0:
            print("WARNING: the machine is busy (load >= 1.0): figures will be noisy and low.")
        tmp = Path(tempfile.mkdtemp(prefix="bench-live-"))
        self.redis = None
        try:
            db_url = ""
            if args.profile == "scale":
                db_url = os.environ["DATABASE_URL"]
                self.redis = PrivateRedis(tmp)
            with LiveStack(tmp, servers=2 if args.profile == "scale" else 1, database_url=db_url,
                           workers=bool(args.lunch_peak),  # auto-dispatch runs as Celery tasks
                           redis_url=self.redis.url if self.redis else "",
                           env={"BENCH_ECHO": "1", "LOG_LEVEL": "WARNING"}) as stack:
                self.stack = stack
                t0 = time.monotonic()
                out = tmp / "setup.json"
                lunch_out = tmp / "lunch.json"
                subprocess.run([str(BIN / "python"), "manage.py", "simulate", "--riders", str(args.riders), "--orders",
                                "--setup-json", str(out),
                                *(["--lunch-json", str(lunch_out), "--lunch-riders", str(args.lunch_riders)]
                                  if args.lunch_peak else [])], cwd=ROOT, env=stack.env, check=True, capture_output=True,
                               timeout=3600)
                self.setup = json.loads(out.read_text())
                for i, spec in enumerate(self.setup["riders"]):
                    spec["index"] = i
                self.bench_ids = {spec["id"] for spec in self.setup["riders"]}
                if args.lunch_peak:
                    self.lunch_setup = json.loads(lunch_out.read_text())
                print(f"  set-up of {args.riders} riders with picked-up orders: {time.monotonic() - t0:.1f} s", flush=True)
                if stack.db_url:
                    self.settle_database(stack.db_url)
                self.run_target("app", "/ws/rider/")
                for name, extra in args.variant:  # the same riders and database, servers restarted with `extra`
                    self.restart_servers(extra)
                    self.check_environment(name, extra)
                    self.run_target(f"app[{name}]", "/ws/rider/")
                if not args.no_echo:
                    self.restart_servers()
                    self.run_target("echo", "/ws/echo/")
        finally:
            if self.redis is not None:
                self.redis.stop()
            shutil.rmtree(tmp, ignore_errors=True)
            self.print_table()  # what was measured, even when a later part failed

    @staticmethod
    def settle_database(db_url: str) -> None:
        """PostgreSQL after the set-up's bulk writes: analysed and checkpointed now, so that neither autovacuum's
        analyse of the new rows nor a checkpoint of their dirty pages runs during a step (either took the CPU
        the servers were measured on). A role that may not checkpoint skips it, and says so."""
        import psycopg

        t0 = time.monotonic()
        done = []
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("VACUUM (ANALYZE)")
            done.append("vacuum+analyse")
            try:
                conn.execute("CHECKPOINT")
                done.append("checkpoint")
            except psycopg.Error as exc:
                done.append(f"no checkpoint ({type(exc).__name__})")
        print(f"  database settled ({', '.join(done)}): {time.monotonic() - t0:.1f} s", flush=True)

    def print_table(self) -> None:
        echo = {r["offered/s"]: r["achieved/s"] for r in self.rows if r["target"] == "echo"}
        for r in self.rows:
            base = echo.get(r["offered/s"])
            r["vs echo"] = r["achieved/s"] / base if base else None

        def fmt(value) -> str:
            if value is None:
                return "-"
            if isinstance(value, float):
                return "nan" if value != value else f"{value:.2f}" if abs(value) < 10 else f"{value:.0f}"
            return str(value)

        cells = [[fmt(r.get(c)) for c in COLUMNS] for r in self.rows]
        widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(COLUMNS)]
        print()
        print(" | ".join(c.rjust(w) for c, w in zip(COLUMNS, widths, strict=True)))
        print("-+-".join("-" * w for w in widths))
        for row in cells:
            print(" | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)))

        def capacity(target: str) -> float:
            ok = [r["achieved/s"] for r in self.rows if r["target"] == target and r["ack p99 ms"] <= 50]
            return max(ok, default=0.0)

        for note in self.notes:
            print(note)
        for line in self.lunch_lines:
            print(line)
        app, ref = capacity("app"), capacity("echo")
        ran_echo = any(r["target"] == "echo" for r in self.rows)
        print(f"\nhighest achieved load with ack p99 <= 50 ms: app {app:.0f}/s, "
              + (f"echo {ref:.0f}/s" if ran_echo else "echo not run")
              + (f", ratio {app / ref:.2f}" if ref else ""))
        for name in dict.fromkeys(r["target"] for r in self.rows if r["target"].startswith("app[")):
            highest = capacity(name)
            print(f"  {name} {highest:.0f}/s" + (f", ratio {highest / ref:.2f}" if ref else ""))


def read_from_environment(key: str) -> bool:
    """Whether the project's code names `key` as a quoted string (`env.float("KEY")`, `os.environ.get("KEY")`)."""
    needle = f'"{key}"'
    return any(needle in path.read_text() for top in ("config", "dispatch", "rider", "pickup")
               for path in (ROOT / top).rglob("*.py"))


def variant(p: argparse.ArgumentParser, spec: str) -> tuple[str, dict[str, str]]:
    """`NAME:KEY=VALUE,KEY=VALUE` -> (NAME, {KEY: VALUE}); the parser's error for anything else, and for a KEY the
    project never reads."""
    name, _, pairs = spec.partition(":")
    extra = dict(pair.split("=", 1) for pair in pairs.split(",") if "=" in pair)
    if not name or not extra or len(extra) != len([x for x in pairs.split(",") if x]):
        p.error(f"--variant {spec!r}: expected NAME:KEY=VALUE[,KEY=VALUE...]")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", name) or not all(re.fullmatch(r"[A-Z][A-Z0-9_]*", k) for k in extra):
        p.error(f"--variant {spec!r}: a name of letters, digits, '_.-', and upper-case setting names")
    unknown = [k for k in extra if not read_from_environment(k)]
    if unknown:
        p.error(f"--variant {spec!r}: the project reads no setting named {', '.join(unknown)} from the environment")
    return name, extra


def parse(argv: list[str] | None = None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--riders", type=int, default=1000)
    p.add_argument("--steps", default="100,250,500,1000,2500", help="offered pings/s per step, comma-separated")
    p.add_argument("--step-seconds", type=float, default=20.0)
    p.add_argument("--profile", choices=["auto", "embedded", "scale"], default="auto")
    p.add_argument("--procs", type=int, default=0, help="load-generator processes (default: one per 2,500 riders)")
    p.add_argument("--warmup-seconds", type=float, default=10.0, help="one unmeasured ping per socket over this long")
    p.add_argument("--no-echo", action="store_true", help="skip the echo consumer's steps")
    p.add_argument("--idle-seconds", type=float, default=5.0, help="measure the servers' CPU with no pings this long")
    p.add_argument("--spy", default="", metavar="DIR", help="py-spy each daphne in every step, raw stacks into DIR")
    p.add_argument("--variant", action="append", default=[], metavar="NAME:KEY=VALUE[,KEY=VALUE...]",
                   help="after the app's steps, restart the servers with these settings in their environment and run "
                        "the app's steps again as app[NAME], on the same riders and database: an A/B in one run "
                        "(repeatable)")
    p.add_argument("--lunch-peak", type=float, default=0.0, metavar="ORDERS_PER_HOUR",
                   help="run the lunch peak (manage.py simulate --lunch-peak) beside the app's pinging riders: orders "
                        "posted at this rate, auto-dispatched, accepted, picked up, delivered or failed")
    p.add_argument("--lunch-riders", type=int, default=50, help="the lunch peak's own riders (free, near the store)")
    p.add_argument("--lunch-min-seconds", type=float, default=0.0, help="keep the lunch peak running at least this long")
    p.add_argument("--lunch-ride-seconds", type=float, default=30.0, help="the lunch riders' longest ride to a stop")
    p.add_argument("--lunch-decline-every", type=int, default=5, help="every n-th offer is declined")
    p.add_argument("--lunch-fail-every", type=int, default=10, help="every n-th job fails (refused)")
    args = p.parse_args(argv)
    args.variant = [variant(p, spec) for spec in args.variant]
    args.steps = [float(s) for s in args.steps.split(",") if s.strip()]
    if args.profile == "auto":
        args.profile = "scale" if os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL") else "embedded"
    if args.profile == "scale" and not os.environ.get("DATABASE_URL"):
        p.error("the scale profile needs DATABASE_URL (PostgreSQL) and REDIS_URL")
    return args


if __name__ == "__main__":
    sys.exit(Bench(parse()).run())
