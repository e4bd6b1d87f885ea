"""The process's Prometheus instruments, observed where things happen (the ping, the socket base class) and
exported by `GET /metrics` (dispatch/metrics.py). Labels are bounded names only (kind, outcome, role): never an
id, a token or anything about a customer.

Several server processes: when PROMETHEUS_MULTIPROC_DIR is set in the environment before this module is first
imported (docs/operations.md), prometheus_client writes each process's values to files there and the scrape sums
them (the open sockets gauge as `livesum`: a dead process's sockets no longer count)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Gauge, Histogram

# A ping's ack normally takes a group commit (a few ms to tens of ms); past a second something queues.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)

PINGS = Counter("delivery_pings_total", "Location pings received from riders, by path and outcome.",
                ["kind", "outcome"])
ACK_SECONDS = Histogram("delivery_ping_ack_seconds", "From a ping's receipt to its ack (the fix durable or refused).",
                        ["kind"], buckets=ACK_BUCKETS)
OPEN_SOCKETS = Gauge("delivery_open_sockets", "Open websockets, by the party's role.", ["role"],
                     multiprocess_mode="livesum")

PING_KINDS = ("socket", "http")


def ping_observe(*, kind: str, outcome: str, started: float) -> None:
    """Count one ping and its time to ack; `started` is `time.perf_counter()` at its receipt."""
    PINGS.labels(kind=kind, outcome=outcome).inc()
    ACK_SECONDS.labels(kind=kind).observe(time.perf_counter() - started)
