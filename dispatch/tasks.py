"""Celery tasks: take ids, call a service, stay idempotent. No long countdowns: a grant's
expires_at is the due time and the beat sweep catches whatever a countdown missed."""

from __future__ import annotations

import logging

from celery import shared_task

from .services.audit import audit_checkpoint as _audit_checkpoint
from .services.detectors import alerts_sweep as _alerts_sweep
from .services.exits import returns_due
from .services.lifecycle import access_revoke_due, lifecycle_sweep
from .services.lifecycle import retention_sweep as _retention_sweep

log = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def revoke_order_access(order_id: int) -> int:
    count = access_revoke_due(order_id=order_id)
    log.info("revoke_order_access order=%s grants=%s", order_id, count)
    return count


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def return_failed_order(order_id: int) -> int:
    """A failed order's retry window ran out: back to the store (a no-op if dispatch retried it meanwhile)."""
    return returns_due(order_id=order_id)


@shared_task(acks_late=True)
def revocation_sweep() -> dict:
    result = lifecycle_sweep()
    if any(result.values()):
        log.info("revocation_sweep %s", result)
    return result


@shared_task(acks_late=True)
def retention_sweep() -> dict:
    return _retention_sweep()


@shared_task(acks_late=True)
def audit_checkpoint() -> dict:
    verdict = _audit_checkpoint()
    return {"ok": verdict.ok, "count": verdict.count, "last_id": verdict.anchor.last_id if verdict.anchor else None,
            "problem": verdict.problem}


@shared_task(acks_late=True)
def alerts_sweep() -> dict:
    """Stale devices, late orders, unusual rates: each raised as an alert row (idempotent: open alerts dedupe)."""
    result = _alerts_sweep()
    if any(result.values()):
        log.info("alerts_sweep %s", result)
    return result
