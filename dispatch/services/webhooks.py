"""Signed webhooks to merchants: endpoints, the outbox of deliveries, attempts, retries and rotation.

Emission: every status change goes through `states.transition`, which names the move's event on the order
(`states.WEBHOOK_TYPES`); `orders.order_event`, which every service calls once the order is saved, then calls
`webhooks_emit` (as `order_create` does for `order.created`). The deliveries are rows written in the caller's transaction and
sent after commit by a Celery task. A retry is a due time (`next_attempt_at`) that the beat sweep picks up,
never a long countdown. Payloads hold ids, codes and timestamps only: no name, phone, address or position.

Retries: after the n-th failed attempt the next is due WEBHOOK_BACKOFF_BASE_S * 2**(n-1) seconds later, at
most WEBHOOK_BACKOFF_MAX_S; once the next would fall more than WEBHOOK_RETRY_WINDOW_S after the first
attempt, the delivery is `failed`. WEBHOOK_FAILING_AFTER failed deliveries in a row mark the endpoint
`failing` (it is still sent to; a delivered one brings it back to `active`).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets as _secrets
import uuid
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from celery import current_app
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import Invalid
from ..models import (
    Merchant,
    Order,
    OrderStatus,
    WebhookDelivery,
    WebhookDeliveryState,
    WebhookEndpoint,
    WebhookEndpointState,
)
from .events import on_commit_robust
from .hook_http import post_signed, url_vet

log = logging.getLogger(__name__)

WEBHOOK_TYPES: tuple[str, ...] = (
    "order.created", "order.assigned", "order.ready", "order.picked_up", "order.courier_imminent",
    "order.delivered", "order.failed", "order.returned", "order.cancelled",
)
SENDING = (WebhookEndpointState.ACTIVE, WebhookEndpointState.FAILING)
SECRET_PREFIX = "whsec_"  # noqa: S105 - the prefix of generated secrets


# --- The secret, sealed at rest --------------------------------------------------------------------------------
@lru_cache(maxsize=4)
def _seal_key(master: str) -> bytes:
    return hmac.new(master.encode(), b"pd-webhook-secret", hashlib.sha256).digest()


def _seal(secret: str) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(_seal_key(settings.TOKEN_DIGEST_KEY)).encrypt(nonce, secret.encode(), b"webhook-secret")


def _open(sealed: bytes | memoryview | None) -> str:
    raw = bytes(sealed or b"")
    return AESGCM(_seal_key(settings.TOKEN_DIGEST_KEY)).decrypt(raw[:12], raw[12:], b"webhook-secret").decode()


def new_secret() -> str:
    return SECRET_PREFIX + _secrets.token_urlsafe(32)


def signing_secrets(endpoint: WebhookEndpoint, *, now: datetime) -> list[str]:
    """The current secret, then the previous one while its overlap lasts."""
    out = [_open(endpoint.secret_sealed)]
    if endpoint.previous_secret_sealed and endpoint.previous_expires_at and now < endpoint.previous_expires_at:
        out.append(_open(endpoint.previous_secret_sealed))
    return out


# --- Endpoints ---------------------------------------------------------------------------------------------------
def _events_check(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(WEBHOOK_TYPES))
    if unknown or not events:
        raise Invalid(_("Subscribe to one or more of the listed event types."), code="bad_events")
    return [t for t in WEBHOOK_TYPES if t in set(events)]


@transaction.atomic
def webhook_endpoint_create(*, merchant: Merchant, url: str, events: list[str]) -> tuple[WebhookEndpoint, str]:
    """The endpoint and its secret: the only time the secret leaves the server in plain, with `rotate`'s."""
    url_vet(url)
    if WebhookEndpoint.objects.filter(merchant=merchant, state__in=SENDING).count() >= settings.WEBHOOK_MAX_ENDPOINTS:
        raise Invalid(_("This account has as many webhook endpoints as it may have."), code="too_many_endpoints")
    secret = new_secret()
    endpoint = WebhookEndpoint.objects.create(merchant=merchant, url=url, events=_events_check(events),
                                              secret_sealed=_seal(secret))
    return endpoint, secret


@transaction.atomic
def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Disabled, its secrets destroyed; its pending deliveries end as failed. The row stays for its log."""
    endpoint.state = WebhookEndpointState.DISABLED
    endpoint.secret_sealed = b""
    endpoint.previous_secret_sealed = None
    endpoint.previous_expires_at = None
    endpoint.save(update_fields=["state", "secret_sealed", "previous_secret_sealed", "previous_expires_at"])
    endpoint.deliveries.filter(state=WebhookDeliveryState.PENDING).update(
        state=WebhookDeliveryState.FAILED, next_attempt_at=None, last_error="endpoint_deleted")


@transaction.atomic
def webhook_endpoint_rotate(*, endpoint: WebhookEndpoint, overlap_s: int | None = None,
                            now: datetime | None = None) -> tuple[WebhookEndpoint, str]:
    """A new secret, returned once; the one it replaces still signs (a second v1=) for `overlap_s`."""
    now = now or timezone.now()
    overlap = settings.WEBHOOK_ROTATION_OVERLAP_S if overlap_s is None else overlap_s
    secret = new_secret()
    endpoint.previous_secret_sealed = endpoint.secret_sealed if overlap > 0 else None
    endpoint.previous_expires_at = now + timedelta(seconds=overlap) if overlap > 0 else None
    endpoint.secret_sealed = _seal(secret)
    endpoint.save(update_fields=["secret_sealed", "previous_secret_sealed", "previous_expires_at"])
    return endpoint, secret


# --- Emission ----------------------------------------------------------------------------------------------------
def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z") if value.utcoffset() == timedelta(0) else value.isoformat()


def event_data(order: Order, *, now: datetime) -> dict[str, Any]:
    """What a payload says of an order: ids, the status, codes and when. Never PII, never a position."""
    data: dict[str, Any] = {"order": order.pk, "external_ref": order.external_ref, "store": order.store_id,
                            "status": str(order.status), "occurred_at": _iso(now)}
    if order.status == OrderStatus.CANCELLED and order.cancel_reason:
        data["reason"] = order.cancel_reason
    if order.status == OrderStatus.FAILED and order.fail_reason:
        data["reason"] = order.fail_reason
    return data


def webhooks_emit(*, order: Order, type: str, now: datetime | None = None) -> list[WebhookDelivery]:
    """Outbox rows for the merchant's endpoints subscribed to `type`, in the caller's transaction; sent after
    commit. One query when the order's merchant has no endpoint."""
    if order.merchant_id is None:
        return []
    endpoints = [e for e in WebhookEndpoint.objects.filter(merchant_id=order.merchant_id, state__in=SENDING)
                 .only("pk", "events") if type in e.events]
    if not endpoints:
        return []
    now = now or timezone.now()
    data = event_data(order, now=now)
    deliveries = []
    for endpoint in endpoints:
        event_id = "evt_" + uuid.uuid4().hex
        deliveries.append(WebhookDelivery(
            endpoint=endpoint, order=order, event_id=event_id, type=type, next_attempt_at=now,
            payload={"id": event_id, "type": type, "created_at": _iso(now), "data": data},
        ))
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        on_commit_robust(webhook_delivery_enqueue, delivery.pk)
    return deliveries


def courier_imminent_emit(*, order: Order, now: datetime | None = None) -> list[WebhookDelivery]:
    """Once per order: the rider reached the door tier while carrying it. No distance, no position."""
    if order.merchant_id is None or order.status != OrderStatus.PICKED_UP:
        return []
    if WebhookDelivery.objects.filter(order=order, type="order.courier_imminent").exists():
        return []
    return webhooks_emit(order=order, type="order.courier_imminent", now=now)


def webhook_delivery_enqueue(delivery_id: int, lease: str | None = None) -> None:
    """An attempt by a worker, now (no countdown); if the broker is down the sweep sends it when it is due.
    `lease`: the due time the sweep moved the row to while the task waits in the queue (see `webhook_sweep`)."""
    try:
        current_app.send_task("dispatch.tasks.webhook_deliver", args=[delivery_id, lease] if lease else [delivery_id])
    except Exception as exc:  # the broker being down must not fail the write; the sweep catches it
        log.warning("could not enqueue webhook delivery %s (%s)", delivery_id, type(exc).__name__)


# --- Attempts ----------------------------------------------------------------------------------------------------
def backoff_s(attempts: int) -> int:
    """The wait after the `attempts`-th failed attempt: 30 s, 1 m, 2 m, 4 m, ... capped at an hour."""
    return int(min(settings.WEBHOOK_BACKOFF_BASE_S * 2 ** max(attempts - 1, 0), settings.WEBHOOK_BACKOFF_MAX_S))


def body_bytes(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def _claim(delivery_id: int, now: datetime, force: bool,
           lease: datetime | None = None) -> tuple[WebhookDelivery, list[str]] | None:
    """Lock the row, check it is due (or holds the sweep's `lease`), count the attempt and lease it for the
    duration of a send."""
    with transaction.atomic():
        d = (WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint")
             .filter(pk=delivery_id).first())
        if d is None or d.state != WebhookDeliveryState.PENDING:
            return None
        if not force and d.next_attempt_at is not None and d.next_attempt_at > now and d.next_attempt_at != lease:
            return None
        if d.endpoint.state not in SENDING:
            d.state, d.next_attempt_at, d.last_error = WebhookDeliveryState.FAILED, None, "endpoint_deleted"
            d.save(update_fields=["state", "next_attempt_at", "last_error"])
            return None
        d.attempts += 1
        d.first_attempt_at = d.first_attempt_at or now
        d.last_attempt_at = now
        # The lease: a sweep that runs while this send is in flight leaves the row alone.
        d.next_attempt_at = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_S * 3)
        d.save(update_fields=["attempts", "first_attempt_at", "last_attempt_at", "next_attempt_at"])
        return d, signing_secrets(d.endpoint, now=now)


def webhook_delivery_attempt(*, delivery_id: int, now: datetime | None = None, force: bool = False,
                             lease: datetime | None = None) -> str | None:
    """One attempt if the delivery is pending and due (`force`: due or not, as a redelivery). Returns the
    delivery's state after it, or None when there was nothing to do. Not atomic: the POST runs outside any
    transaction, between the claim and the record."""
    now = now or timezone.now()
    claimed = _claim(delivery_id, now, force, lease)
    if claimed is None:
        return None
    delivery, keys = claimed
    outcome = post_signed(url=delivery.endpoint.url, body=body_bytes(delivery.payload), secrets=keys,
                          timestamp=int(now.timestamp()), headers={"X-Delivery-Id": delivery.event_id})
    with transaction.atomic():
        d = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=d.endpoint_id)
        d.last_status_code, d.last_error = outcome.status_code, outcome.error[:200]
        if outcome.ok:
            d.state, d.delivered_at, d.next_attempt_at = WebhookDeliveryState.DELIVERED, now, None
            endpoint.consecutive_failures = 0
            endpoint.last_success_at = now
            if endpoint.state == WebhookEndpointState.FAILING:
                endpoint.state = WebhookEndpointState.ACTIVE
        else:
            endpoint.last_failure_at = now
            due = now + timedelta(seconds=backoff_s(d.attempts))
            first = d.first_attempt_at or now  # set by the claim
            if due > first + timedelta(seconds=settings.WEBHOOK_RETRY_WINDOW_S):
                d.state, d.next_attempt_at = WebhookDeliveryState.FAILED, None
                endpoint.consecutive_failures += 1
                endpoint.failed_total += 1
                if (endpoint.consecutive_failures >= settings.WEBHOOK_FAILING_AFTER
                        and endpoint.state == WebhookEndpointState.ACTIVE):
                    endpoint.state = WebhookEndpointState.FAILING
            else:
                d.next_attempt_at = due
        d.save(update_fields=["state", "delivered_at", "next_attempt_at", "last_status_code", "last_error"])
        endpoint.save(update_fields=["consecutive_failures", "failed_total", "last_success_at", "last_failure_at",
                                     "state"])
    log.info("webhook delivery=%s endpoint=%s attempt=%s status=%s", d.pk, endpoint.pk, d.attempts,
             outcome.status_code or outcome.error)
    return d.state


@transaction.atomic
def webhook_redeliver(*, delivery: WebhookDelivery, now: datetime | None = None) -> WebhookDelivery:
    """The same event (same id, same payload) sent again now, as a new attempt with a fresh retry window."""
    now = now or timezone.now()
    d = WebhookDelivery.objects.select_for_update(of=("self",)).select_related("endpoint").get(pk=delivery.pk)
    if d.endpoint.state not in SENDING:
        raise Invalid(_("That endpoint was deleted."), code="endpoint_deleted")
    d.state, d.next_attempt_at, d.first_attempt_at, d.delivered_at = WebhookDeliveryState.PENDING, now, None, None
    d.save(update_fields=["state", "next_attempt_at", "first_attempt_at", "delivered_at"])
    on_commit_robust(webhook_delivery_enqueue, d.pk)
    return d


def webhook_deliveries_due(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    now = now or timezone.now()
    return list(WebhookDelivery.objects.filter(state=WebhookDeliveryState.PENDING, next_attempt_at__lte=now)
                .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def webhook_sweep(*, now: datetime | None = None, inline: bool = False, limit: int = 200) -> int:
    """The beat sweep: every due delivery, attempted here (`inline`) or handed to a worker as a task with no
    countdown. A handed-over row's due time moves to a lease the task carries: the next sweeps leave it alone
    while it waits in the queue, its task alone may claim it early, and if the task is lost the row is due again
    once the lease has passed."""
    now = now or timezone.now()
    due = webhook_deliveries_due(now=now, limit=limit)
    lease = now + timedelta(seconds=settings.WEBHOOK_QUEUE_LEASE_S)
    handed = 0
    for delivery_id in due:
        if inline:
            webhook_delivery_attempt(delivery_id=delivery_id, now=now)
            handed += 1
        elif WebhookDelivery.objects.filter(pk=delivery_id, state=WebhookDeliveryState.PENDING,
                                            next_attempt_at__lte=now).update(next_attempt_at=lease):
            webhook_delivery_enqueue(delivery_id, lease.isoformat())
            handed += 1
    return handed
