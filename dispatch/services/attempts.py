"""Failed tries counted for security limits (wrong delivery PINs, failed pickup lookups and handoffs),
in the database: a restart of the server or of Redis clears none of them. A count is one indexed
range query over (scope, key, at)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from ..models import FailedAttempt


@transaction.atomic
def failed_attempt_note(*, scope: str, key: int, window: timedelta, now: datetime | None = None) -> None:
    """Count one failure against (scope, key). Failures older than the window are dropped here."""
    now = now or timezone.now()
    FailedAttempt.objects.filter(scope=scope, key=key, at__lt=now - window).delete()
    FailedAttempt.objects.create(scope=scope, key=key, at=now)


def failed_attempt_counts(*, keys: Iterable[tuple[str, int]], window: timedelta,
                          now: datetime | None = None) -> dict[tuple[str, int], int]:
    """Failures within the window for each (scope, key), in one query."""
    keys = list(keys)
    since = (now or timezone.now()) - window
    match = Q()
    for scope, key in keys:
        match |= Q(scope=scope, key=key)
    rows = (FailedAttempt.objects.filter(match, at__gte=since).values_list("scope", "key")
            .annotate(n=Count("id")).order_by())
    counts = {(scope, key): n for scope, key, n in rows}
    return {k: counts.get(k, 0) for k in keys}


@transaction.atomic
def failed_attempts_clear(*, scope: str, key: int) -> int:
    """Forget every failure counted against (scope, key); how many there were."""
    deleted, _ = FailedAttempt.objects.filter(scope=scope, key=key).delete()
    return deleted
