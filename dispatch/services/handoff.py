"""The counter handoff: the rider's rotating one-time code releases the bag, checked on the server."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..errors import DomainError
from ..models import HandoffCode, Order, OrderStatus, Rider, Store
from .audit import audit_record
from .orders import order_event


def _code_digest(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), b"handoff:" + code.encode(), hashlib.sha256).hexdigest()


@transaction.atomic
def handoff_code_issue(*, order: Order, rider: Rider) -> tuple[str, datetime]:
    """A fresh 6-digit code; earlier codes of this rider for this order stop working."""
    now = timezone.now()
    HandoffCode.objects.filter(order=order, rider=rider, used_at__isnull=True, expires_at__gt=now).update(expires_at=now)
    live = HandoffCode.objects.filter(used_at__isnull=True, expires_at__gt=now)
    while True:
        code = f"{secrets.randbelow(1_000_000):06d}"
        digest = _code_digest(code)
        if not live.filter(code_digest=digest).exists():  # unique among live codes: identifies the rider
            break
    expires = now + timedelta(seconds=settings.HANDOFF_CODE_TTL_S)
    HandoffCode.objects.create(order=order, rider=rider, code_digest=digest, expires_at=expires)
    return code, expires


class HandoffRefused(DomainError):
    pass


def _refuse(code: str, detail: str, *, status: int = 409) -> HandoffRefused:
    err = HandoffRefused(detail, code=code)
    err.status_code = status
    return err


def order_by_pickup_code(*, store: Store, pickup_code: str) -> Order:
    """The newest order at this store with that pickup number (numbers restart each business day)."""
    code = (pickup_code or "").strip().upper()
    order = (
        Order.objects.filter(store=store, pickup_code__iexact=code)
        .select_related("rider", "store")
        .order_by("-business_date", "-pk")
        .first()
    )
    if order is None:
        raise _refuse("unknown_code", f"No order with pickup number {code or '(empty)'} at this store.", status=404)
    return order


def pickup_handoff(*, store: Store, pickup_code: str, rider_code: str, by) -> Order:
    """Release the bag to the assigned rider, or raise a refusal. Refusals are audited too, so the
    transaction commits before the refusal is raised."""
    order, refusal = _pickup_handoff_tx(store=store, pickup_code=pickup_code, rider_code=rider_code, by=by)
    if refusal is not None:
        raise refusal
    return order


@transaction.atomic
def _pickup_handoff_tx(*, store: Store, pickup_code: str, rider_code: str, by) -> tuple[Order | None, HandoffRefused | None]:
    try:
        found = order_by_pickup_code(store=store, pickup_code=pickup_code)
    except HandoffRefused as refusal:
        audit_record(actor=by, action="handoff.refused", data={"code": refusal.code, "store": store.pk})
        return None, refusal
    order = Order.objects.select_for_update(of=("self",)).select_related("rider").get(pk=found.pk)
    now = timezone.now()
    if order.status == OrderStatus.CANCELLED:
        refusal = _refuse("cancelled", "This order was cancelled. Do not hand the bag over.")
    elif order.status in (OrderStatus.PICKED_UP, OrderStatus.DELIVERED):
        refusal = _refuse("already_picked_up", "This bag was already handed over.")
    elif order.status != OrderStatus.READY:
        refusal = _refuse("not_ready", "This order is not marked ready yet.")
    else:
        digest = _code_digest((rider_code or "").strip())
        match = HandoffCode.objects.filter(code_digest=digest, used_at__isnull=True).order_by("-pk").first()
        if match is None or match.rider_id != order.rider_id or match.order_id != order.pk:
            refusal = _refuse("wrong_rider", "That code does not belong to the rider assigned to this bag.")
        elif match.expires_at <= now:
            refusal = _refuse("expired_code", "That code has expired. Ask the rider to refresh it.")
        else:
            match.used_at = now
            match.save(update_fields=["used_at"])
            order.status = OrderStatus.PICKED_UP
            order.picked_up_at = now
            order.save(update_fields=["status", "picked_up_at"])
            audit_record(actor=by, action="handoff.completed", order=order, data={"rider": order.rider_id})
            order_event(order)
            return order, None
    audit_record(actor=by, action="handoff.refused", order=order, data={"code": refusal.code})
    return order, refusal
