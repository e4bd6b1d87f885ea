"""The database-derived figures `GET /metrics` reports, read at scrape time: one query each, on an index, with
no row of PII and no id in what they return (counts, ages and bounded names)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from ..models import AuditEvent, Event, Grant, Tier, WebhookDelivery, WebhookEndpoint
from ..models.webhooks import WebhookDeliveryState, WebhookEndpointState
from ..services.audit import audit_anchor_taken_at

BREAK_GLASS_ACTION = "breakglass.used"


@dataclass(frozen=True)
class Figures:
    outbox_lag_s: float  # the oldest unsent outbox event's age (0 when none waits)
    revocation_lag_s: float  # the oldest grant past its expiry and not yet revoked (0 when none)
    grants_by_tier: dict[str, int] = field(default_factory=dict)  # live grants: area/street/door, or contact
    break_glass_total: int = 0
    break_glass_day: int = 0  # in the last 24 hours
    webhook_deliveries_failed: int = 0
    webhook_endpoints_failing: int = 0
    audit_anchor_age_s: float | None = None  # None: no valid anchor


def _age(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0


def metrics_figures(*, now: datetime | None = None) -> Figures:
    """Six queries (pinned by tests/test_metrics.py), and a read of the audit anchor's file."""
    now = now or timezone.now()
    oldest_unsent = (Event.objects.filter(sent_at__isnull=True).order_by("id")  # the `event_unsent` partial index
                     .values_list("created_at", flat=True).first())
    overdue = (Grant.objects.filter(revoked_at__isnull=True, expires_at__lt=now).order_by("expires_at")
               .values_list("expires_at", flat=True).first())
    names = {t.value: t.label for t in Tier}
    grants = {names.get(row["tier"], "contact"): row["n"] for row in
              Grant.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now), revoked_at__isnull=True)
              .order_by().values("tier").annotate(n=Count("id"))}
    glass = AuditEvent.objects.filter(action=BREAK_GLASS_ACTION).aggregate(
        total=Count("id"), day=Count("id", filter=Q(at__gte=now - timedelta(days=1))))
    failed = WebhookDelivery.objects.filter(state=WebhookDeliveryState.FAILED).count()
    failing = WebhookEndpoint.objects.filter(state=WebhookEndpointState.FAILING).count()
    anchor_at = audit_anchor_taken_at()
    return Figures(
        outbox_lag_s=_age(now, oldest_unsent), revocation_lag_s=_age(now, overdue),
        grants_by_tier={label: grants.get(label, 0) for label in (*names.values(), "contact")},
        break_glass_total=glass["total"], break_glass_day=glass["day"],
        webhook_deliveries_failed=failed, webhook_endpoints_failing=failing,
        audit_anchor_age_s=_age(now, anchor_at) if anchor_at is not None else None,
    )
