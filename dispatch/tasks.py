"""Celery tasks: take ids, call a service, stay idempotent. No long countdowns: a grant's
expires_at is the due time and the beat sweep catches whatever a countdown missed."""

from __future__ import annotations

import logging
from datetime import datetime

from celery import shared_task
from django.conf import settings

from .models import Order
from .selectors.suggestions import suggest_riders
from .services.audit import audit_checkpoint as _audit_checkpoint
from .services.detectors import alerts_sweep as _alerts_sweep
from .services.exits import returns_due
from .services.intake import idempotency_keys_expired_delete
from .services.lifecycle import access_revoke_due, lifecycle_sweep
from .services.lifecycle import retention_sweep as _retention_sweep
from .services.notify import MessageRetry
from .services.notify import message_send as _message_send
from .services.notify import messages_sweep as _messages_sweep
from .services.offers import auto_dispatch_max_riders, auto_dispatch_next, offer_expire, scheduled_dispatch_due
from .services.quotes import quotes_expired_delete
from .services.webhooks import webhook_delivery_attempt
from .services.webhooks import webhook_sweep as _webhook_sweep

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


def auto_dispatch_run(order_id: int, *, now=None):
    """One auto-dispatch step: rank the riders (`suggest_riders`, which keeps to the riders who may take the order)
    and let the service offer the order to the best one not yet asked, or escalate. Safe to run twice."""
    order = Order.objects.select_related("store").filter(pk=order_id).first()
    if order is None or not order.store.auto_dispatch:
        return None
    ranked = [s.rider for s in suggest_riders(order=order, limit=auto_dispatch_max_riders() + 10)]
    return auto_dispatch_next(order_id=order_id, ranked=ranked, now=now)


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def auto_dispatch(order_id: int) -> str:
    result = auto_dispatch_run(order_id)
    return type(result).__name__ if result is not None else "nothing"


@shared_task(acks_late=True, autoretry_for=(Exception,), retry_backoff=True, max_retries=3)
def offer_timeout(offer_id: int) -> bool:
    """The offer's countdown ran out: expire it if still open (a no-op otherwise); auto-dispatch moves on."""
    return offer_expire(offer_id=offer_id) is not None


@shared_task(acks_late=True)
def webhook_deliver(delivery_id: int, lease: str | None = None) -> str | None:
    """One attempt of a webhook delivery if it is due or still holds the sweep's `lease` (a duplicate or late
    task finds nothing to do). Its retries are due times the sweep picks up, not Celery retries."""
    return webhook_delivery_attempt(delivery_id=delivery_id, lease=datetime.fromisoformat(lease) if lease else None)


@shared_task(acks_late=True)
def webhook_sweep() -> int:
    """Deliveries whose next attempt is due, handed to workers (no countdown: the row holds the due time)."""
    return _webhook_sweep()


@shared_task(acks_late=True)
def intake_sweep() -> dict:
    """Expired idempotency keys and stale quotes deleted; scheduled orders of auto-dispatch stores offered once
    their ready time comes near."""
    from django.utils import timezone

    now = timezone.now()
    result = {"idempotency_keys": idempotency_keys_expired_delete(now=now), "quotes": quotes_expired_delete(now=now),
              "scheduled_kicked": scheduled_dispatch_due(now=now)}
    if any(result.values()):
        log.info("intake_sweep %s", result)
    return result


@shared_task(acks_late=True, autoretry_for=(MessageRetry,), retry_backoff=2, retry_backoff_max=60, retry_jitter=True,
             max_retries=settings.NOTIFY_MAX_ATTEMPTS)
def message_send_task(message_id: int) -> str:
    """One customer message, by id (never its body or its number). Backoff 2, 4, 8... s, capped at a minute:
    far under the broker's visibility timeout. `message_send` marks it failed when the attempts run out."""
    return _message_send(message_id=message_id)


@shared_task(acks_late=True)
def messages_sweep() -> int:
    """Queued messages whose task was lost: queued again (message_send is safe to run twice)."""
    return _messages_sweep()
