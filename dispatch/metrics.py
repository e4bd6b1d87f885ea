"""`GET /metrics`: Prometheus's text format, for the scraper only (docs/operations.md, "Metrics").

Who may read it: a request with `Authorization: Bearer <METRICS_TOKEN>` (when that is set), or one whose socket
peer is in METRICS_ALLOW (CIDRs; loopback by default) and that did not come through a proxy (no
X-Forwarded-For: behind a reverse proxy on the same host every visitor's peer is loopback). Anyone else gets the
site's ordinary 404: the endpoint is not advertised.

What it says: the process's instruments (dispatch/instruments.py; every server process's, summed, in
prometheus_client's multiprocess mode), the channel layer's drops summed over every server (the shared totals
behind GET /api/dispatch/overload/'s `all_servers`), the Celery queue's depth, and the database's figures
(selectors/metrics.py), all read at scrape time. No label carries an id, a token or PII."""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector

from .instruments import REGISTRY
from .live.layers import shared_counts
from .selectors.metrics import metrics_figures

log = logging.getLogger(__name__)
PRIORITY_SEPARATOR = "\x06\x16"  # kombu's Redis transport: a queue's priority lists are "<queue>\x06\x16<n>"
PRIORITY_STEPS = (0, 3, 6, 9)


@cache
def _networks(allow: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in allow if cidr.strip())


def scraper_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if "HTTP_X_FORWARDED_FOR" in request.META or "HTTP_FORWARDED" in request.META:
        return False
    try:
        peer = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(peer in net for net in _networks(tuple(settings.METRICS_ALLOW)) if net.version == peer.version)


def celery_queue_depth() -> int | None:
    """Messages waiting in the default queue: LLEN of its lists on Redis, its files on the filesystem transport;
    None when the broker cannot be read."""
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    url = settings.CELERY_BROKER_URL
    try:
        if url.startswith("filesystem://"):
            folder = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
            return sum(1 for name in os.listdir(folder) if name.endswith(f".{queue}.msg"))
        if url.startswith(("redis://", "rediss://", "unix://")):
            prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
            keys = [f"{prefix}{queue}" if step == 0 else f"{prefix}{queue}{PRIORITY_SEPARATOR}{step}"
                    for step in PRIORITY_STEPS]
            pipe = _redis(url).pipeline(transaction=False)
            for key in keys:
                pipe.llen(key)
            return sum(pipe.execute())
    except Exception as exc:  # a scrape reports the broker as unreadable, it does not fail
        log.warning("metrics: the Celery broker could not be read (%s)", exc.__class__.__name__)
    return None


@cache
def _redis(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)


class ScrapeCollector:
    """The figures read at scrape time, from the shared stores (the cache, the broker, the database)."""

    def collect(self) -> Iterator[Metric]:
        drops = shared_counts()
        dropped = GaugeMetricFamily("delivery_frames_dropped", "Frames dropped on full channels, every server summed "
                                    "(since the shared cache was emptied), by group kind.", labels=["kind"])
        for kind, n in sorted(drops["by_group"].items()):
            dropped.add_metric([kind], n)
        yield dropped
        yield GaugeMetricFamily("delivery_frames_dropped_all", "Frames dropped on full channels, every server summed.",
                                value=drops["dropped"])
        depth = celery_queue_depth()
        yield GaugeMetricFamily("delivery_celery_queue_depth", "Tasks waiting in the Celery queue (-1: unreadable).",
                                value=-1 if depth is None else depth)
        f = metrics_figures()
        yield GaugeMetricFamily("delivery_outbox_lag_seconds", "Age of the oldest outbox event not yet sent.",
                                value=f.outbox_lag_s)
        yield GaugeMetricFamily("delivery_revocation_lag_seconds",
                                "How long the oldest grant past its expiry has waited to be revoked.",
                                value=f.revocation_lag_s)
        grants = GaugeMetricFamily("delivery_grants_live", "Live grants (not revoked, not expired), by tier.",
                                   labels=["tier"])
        for tier, n in f.grants_by_tier.items():
            grants.add_metric([tier], n)
        yield grants
        yield GaugeMetricFamily("delivery_break_glass_uses", "Break-glass reveals, ever.", value=f.break_glass_total)
        yield GaugeMetricFamily("delivery_break_glass_uses_24h", "Break-glass reveals in the last 24 hours.",
                                value=f.break_glass_day)
        yield GaugeMetricFamily("delivery_webhook_deliveries_failed", "Webhook deliveries failed for good.",
                                value=f.webhook_deliveries_failed)
        yield GaugeMetricFamily("delivery_webhook_endpoints_failing", "Webhook endpoints marked failing.",
                                value=f.webhook_endpoints_failing)
        yield GaugeMetricFamily("delivery_audit_anchor_age_seconds",
                                "Age of the audit log's signed anchor (-1: none, or it does not verify).",
                                value=-1 if f.audit_anchor_age_s is None else f.audit_anchor_age_s)


def exposition() -> bytes:
    """The whole text: this process's (or every process's) instruments, then the scrape-time figures."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        instruments = CollectorRegistry()
        MultiProcessCollector(instruments)
    else:
        instruments = REGISTRY
    figures = CollectorRegistry(auto_describe=False)
    figures.register(ScrapeCollector())
    return generate_latest(instruments) + generate_latest(figures)


def metrics_view(request: HttpRequest) -> HttpResponse:
    if not scraper_allowed(request):  # before the method: a stranger learns nothing, not even a 405
        raise Http404
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    return HttpResponse(exposition(), content_type=CONTENT_TYPE_LATEST)
