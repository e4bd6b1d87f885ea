"""Merchant intake: an order from the merchant's API (store, quote, service area, scheduled window) and the
`Idempotency-Key` replays of create and cancel (docs/merchant-api.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import tokens
from ..errors import DomainError, Invalid
from ..models import IdempotencyKey, Merchant, Order, Store
from .orders import order_create
from .privacy import reply_open, reply_seal
from .quotes import area_check, quote_take, window_check


def merchant_store(*, merchant: Merchant, store_id: int | None) -> Store:
    """The store a merchant names (400 unknown_store when it is not one of theirs), or its only store."""
    stores = merchant.stores.all()
    if store_id is not None:
        store = stores.filter(pk=store_id).first()
        if store is None:
            raise Invalid(_("You may not post orders for that store."), code="unknown_store")
        return store
    candidates = list(stores[:2])
    if len(candidates) != 1:
        raise Invalid(_("Name the store: this merchant has several."), code="store_required")
    return candidates[0]


@transaction.atomic
def merchant_order_create(
    *, merchant: Merchant, store_id: int | None, external_ref: str, customer: dict[str, Any],
    items: list[dict[str, Any]], consent: dict[str, bool], promised_at: datetime | None = None,
    quote_id: int | None = None, pickup_ready_at: datetime | None = None, dropoff_deadline: datetime | None = None,
    now: datetime | None = None,
) -> Order:
    """An order from the merchant's API. With a quote: the quote's store, door and window (the order may repeat
    them, not change them), and the quote is used up. Without: the door must lie in the store's service area."""
    now = now or timezone.now()
    lat, lng = customer["lat"], customer["lng"]
    quote = None
    if quote_id is not None:
        store = merchant_store(merchant=merchant, store_id=store_id) if store_id is not None else None
        quote = quote_take(merchant=merchant, quote_id=quote_id, store=store, lat=lat, lng=lng, now=now)
        for given, quoted in ((pickup_ready_at, quote.pickup_ready_at), (dropoff_deadline, quote.dropoff_deadline)):
            if given is not None and given != quoted:
                raise Invalid(_("The order's store or address is not the one quoted."), code="quote_mismatch")
        store, pickup_ready_at, dropoff_deadline = quote.store, quote.pickup_ready_at, quote.dropoff_deadline
    else:
        store = merchant_store(merchant=merchant, store_id=store_id)
        area_check(store=store, lat=lat, lng=lng)
    window_check(pickup_ready_at=pickup_ready_at, dropoff_deadline=dropoff_deadline, now=now)
    order = order_create(merchant=merchant, store=store, external_ref=external_ref, customer=customer, items=items,
                         consent=consent, promised_at=promised_at, pickup_ready_at=pickup_ready_at,
                         dropoff_deadline=dropoff_deadline)
    if quote is not None:
        quote.used_at, quote.order = now, order
        quote.save(update_fields=["used_at", "order"])
    return order


# --- Idempotency-Key ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Reply:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def _replay(row: IdempotencyKey, digest: str) -> Reply:
    if row.request_digest != digest:
        raise DomainError(_("This Idempotency-Key was used for a different request."), code="idempotency_mismatch")
    if row.response_sealed is not None and row.order is not None:
        body = reply_open(order=row.order, sealed=bytes(row.response_sealed))
    else:
        body = row.response or {}
    return Reply(status=row.status_code, body=body, replayed=True)


def _key_row(*, merchant: Merchant, key: str) -> IdempotencyKey | None:
    return (IdempotencyKey.objects.select_for_update(of=("self",)).select_related("order")
            .filter(merchant=merchant, key=key).first())


def idempotent(*, merchant: Merchant, key: str | None, operation: str, body: Any,
               run: Callable[[], tuple[int, dict[str, Any], Order | None, bool]], now: datetime | None = None) -> Reply:
    """Run `run` once per (merchant, key): a later request with the same key and the same operation and body gets
    the first answer back (`replayed`); with another, 409 idempotency_mismatch. `run` returns (status, body,
    order, secret): `secret` seals the body under the order's data key. Only a success is kept: a refusal
    leaves the key free. A key lives IDEMPOTENCY_TTL_S (expired rows are ignored here and deleted by the beat's
    intake sweep). Two concurrent first uses: the second's insert fails on the unique key, its work rolls back,
    and it replays the first's answer."""
    if key is None:
        status, data, _order, _secret = run()
        return Reply(status=status, body=data)
    digest = tokens.request_digest(operation, body)
    for attempt in range(2):
        now_ = now or timezone.now()
        try:
            with transaction.atomic():
                row = _key_row(merchant=merchant, key=key)
                if row is not None and row.expires_at > now_:
                    return _replay(row, digest)
                if row is not None:
                    row.delete()
                status, data, order, secret = run()
                with transaction.atomic():
                    IdempotencyKey.objects.create(
                        merchant=merchant, key=key, request_digest=digest, status_code=status,
                        response=None if secret else data, order=order,
                        response_sealed=reply_seal(order=order, body=data) if secret and order else None,
                        created_at=now_, expires_at=now_ + timedelta(seconds=settings.IDEMPOTENCY_TTL_S))
                return Reply(status=status, body=data)
        except IntegrityError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def idempotency_keys_expired_delete(*, now: datetime) -> int:
    deleted, _n = IdempotencyKey.objects.filter(expires_at__lte=now).delete()
    return deleted
