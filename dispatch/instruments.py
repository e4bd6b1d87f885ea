"""The process's Prometheus instruments, observed where things happen (the ping, the socket base class) and
exported by `GET /metrics` (dispatch/metrics.py). Labels are bounded names only (kind, outcome, role): never an
id, a token or anything about a customer.

Several server processes: when PROMETHEUS_MULTIPROC_DIR is set in the environment before this module is first
imported (docs/operations.md), prometheus_client writes each process's values to files there and the scrape sums
them (the open sockets gauge as `livesum`: a dead process's sockets no longer count)."""

from __future__ import annotations

import atexit
import os
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector

# Our own registry, not prometheus_client's default one: that one adds the interpreter's collectors, whose labels
# (a GC generation "0", a Python version) would be the only numbers among our label values.
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)  # process_cpu_seconds_total, process_resident_memory_bytes, ... (Linux)

# A ping's ack normally takes a group commit (a few ms to tens of ms); past a second something queues.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

PINGS = Counter("delivery_pings_total", "Location pings received from riders, by path and outcome.",
                ["kind", "outcome"], registry=REGISTRY)
ACK_SECONDS = Histogram("delivery_ping_ack_seconds", "From a ping's receipt to its ack (the fix durable or refused).",
                        ["kind"], buckets=ACK_BUCKETS, registry=REGISTRY)
OPEN_SOCKETS = Gauge("delivery_open_sockets", "Open websockets, by the party's role.", ["role"],
                     multiprocess_mode="livesum", registry=REGISTRY)

PING_KINDS = ("socket", "http")

if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    from prometheus_client.multiprocess import mark_process_dead

    # A process that ends takes its sockets out of the live sum (one killed outright is cleared when the servers
    # start again: the directory is emptied before they do, docs/operations.md).
    atexit.register(mark_process_dead, os.getpid())


_children: dict[tuple[str, str], tuple] = {}  # (kind, outcome) -> its counter and histogram: no label lookup a ping


def ping_observe(*, kind: str, outcome: str, started: float) -> None:
    """Count one ping and its time to ack; `started` is `time.perf_counter()` at its receipt."""
    pair = _children.get((kind, outcome))
    if pair is None:
        pair = _children[(kind, outcome)] = (PINGS.labels(kind=kind, outcome=outcome), ACK_SECONDS.labels(kind=kind))
    pair[0].inc()
    pair[1].observe(time.perf_counter() - started)
