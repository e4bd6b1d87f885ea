"""The counter handoff: the rider's rotating one-time code releases the bag, checked on the server."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import DomainError, NotFound
from ..models import HandoffCode, Order, OrderStatus, Rider, Store
from .access import rider_access_revoke
from .audit import audit_record
from .exits import returns_changed
from .orders import order_event
from .pickup_numbers import business_date, normalise_pickup_code
from .states import Action, transition, transition_check


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


OPEN = (OrderStatus.CREATED, OrderStatus.OFFERED, OrderStatus.ASSIGNED, OrderStatus.READY)


def order_by_pickup_code(*, store: Store, pickup_code: str, now: datetime | None = None) -> Order:
    """The order at this store with that pickup number today, or else yesterday (a bag left over the
    rollover); an open bag before a closed one. One indexed query on (store, business_date, pickup_code)."""
    code = normalise_pickup_code(pickup_code)
    shown = (pickup_code or "").strip()[:12] or "(empty)"
    if code is None:
        raise _refuse("unknown_code", _("No order with pickup number %(code)s at this store.") % {"code": shown}, status=404)
    today = business_date(store=store, at=now or timezone.now())
    found = list(
        Order.objects.filter(store=store, business_date__in=[today, today - timedelta(days=1)], pickup_code=code)
        .select_related("rider")
    )
    if not found:
        raise _refuse("unknown_code", _("No order with pickup number %(code)s at this store today.") % {"code": code}, status=404)
    order = min(found, key=lambda o: (o.status not in OPEN, o.business_date != today, -o.pk))
    order.store = store  # the caller's store: no join needed
    return order


def order_by_rider_code(*, store: Store, rider_code: str) -> Order:
    """The bag at this store that a rider's one-time code (typed or scanned) was issued for."""
    match = (
        HandoffCode.objects.filter(code_digest=_code_digest((rider_code or "").strip()), used_at__isnull=True,
                                   order__store=store)
        .select_related("order__rider", "order__store")
        .order_by("-pk")
        .first()
    )
    if match is None:
        raise _refuse("unknown_code", _("No bag at this store matches that rider code."), status=404)
    if match.expires_at <= timezone.now():
        raise _refuse("expired_code", _("That code has expired. Ask the rider to show a new one."))
    return match.order


def _verdict(order: Order, rider_code: str, now: datetime) -> tuple[HandoffRefused | None, HandoffCode | None]:
    """Whether the bag may go to the holder of `rider_code` now: (refusal, None) or (None, the code)."""
    if order.status == OrderStatus.CANCELLED:
        return _refuse("cancelled", _("This order was cancelled. Do not hand the bag over.")), None
    if order.status in (OrderStatus.PICKED_UP, OrderStatus.DELIVERED, OrderStatus.FAILED, OrderStatus.RETURNING):
        return _refuse("already_picked_up", _("This bag was already handed over.")), None
    if order.status == OrderStatus.RETURNED:
        return _refuse("returned", _("This bag came back from a failed delivery. Do not hand it over.")), None
    if order.status != OrderStatus.READY:
        return _refuse("not_ready", _("This order is not marked ready yet.")), None
    digest = _code_digest((rider_code or "").strip())
    match = HandoffCode.objects.filter(code_digest=digest, used_at__isnull=True).order_by("-pk").first()
    if match is None or match.rider_id != order.rider_id or match.order_id != order.pk:
        return _refuse("wrong_rider", _("That code does not belong to the rider assigned to this bag.")), None
    if match.expires_at <= now:
        return _refuse("expired_code", _("That code has expired. Ask the rider to refresh it.")), None
    return None, match


def pickup_handoff(*, store: Store, pickup_code: str, rider_code: str, by) -> Order:
    """Release the bag to the assigned rider, or raise a refusal. Refusals are audited too, so the
    transaction commits before the refusal is raised."""
    order, refusal = _pickup_handoff_tx(store=store, pickup_code=pickup_code, rider_code=rider_code, by=by)
    if refusal is not None:
        raise refusal
    assert order is not None  # no refusal means a handed-over order
    return order


@transaction.atomic
def _pickup_handoff_tx(*, store: Store, pickup_code: str, rider_code: str, by) -> tuple[Order | None, HandoffRefused | None]:
    try:
        found = order_by_pickup_code(store=store, pickup_code=pickup_code)
    except HandoffRefused as missing:
        audit_record(actor=by, action="handoff.refused", data={"code": missing.code, "store": store.pk})
        return None, missing
    order = Order.objects.select_for_update(of=("self",)).select_related("rider").get(pk=found.pk)
    now = timezone.now()
    refusal, match = _verdict(order, rider_code, now)
    if refusal is None and match is not None:
        match.used_at = now
        match.save(update_fields=["used_at"])
        transition(order, Action.PICK_UP)
        order.picked_up_at = now
        order.save(update_fields=["status", "picked_up_at"])
        audit_record(actor=by, action="handoff.completed", order=order, data={"rider": order.rider_id, "store": store.pk})
        order_event(order)
        return order, None
    assert refusal is not None  # _verdict gives a refusal or a code
    audit_record(actor=by, action="handoff.refused", order=order, data={"code": refusal.code, "store": store.pk})
    return order, refusal


def handoff_check(*, store: Store, pickup_code: str, rider_code: str, by) -> Order:
    """The dry run of `pickup_handoff`: the same checks, nothing consumed. Audited as `handoff.checked`;
    like the handoff, the audit commits before a refusal is raised."""
    order, refusal = _handoff_check_tx(store=store, pickup_code=pickup_code, rider_code=rider_code, by=by)
    if refusal is not None:
        raise refusal
    assert order is not None  # no refusal means a found order
    return order


@transaction.atomic
def _handoff_check_tx(*, store: Store, pickup_code: str, rider_code: str, by) -> tuple[Order | None, HandoffRefused | None]:
    try:
        order = order_by_pickup_code(store=store, pickup_code=pickup_code)
    except HandoffRefused as missing:
        audit_record(actor=by, action="handoff.checked", data={"result": missing.code, "store": store.pk})
        return None, missing
    refusal, _match = _verdict(order, rider_code, timezone.now())
    audit_record(actor=by, action="handoff.checked", order=order,
                 data={"result": refusal.code if refusal else "ok", "store": store.pk})
    return order, refusal


# --- The bag back at the counter (a failed delivery) ----------------------------------------------------
def _return_verdict(order: Order, rider_code: str, now: datetime) -> tuple[HandoffRefused | None, HandoffCode | None]:
    """Whether the holder of `rider_code` is the rider bringing this bag back, as `_verdict` for the handoff."""
    try:
        transition_check(order.status, Action.RETURN_RECEIVE)
    except DomainError as wrong:
        return _refuse(wrong.code, wrong.detail), None
    digest = _code_digest((rider_code or "").strip())
    match = HandoffCode.objects.filter(code_digest=digest, used_at__isnull=True).order_by("-pk").first()
    if match is None or match.rider_id != order.rider_id or match.order_id != order.pk:
        return _refuse("wrong_rider", _("That code does not belong to the rider bringing this bag back.")), None
    if match.expires_at <= now:
        return _refuse("expired_code", _("That code has expired. Ask the rider to refresh it.")), None
    return None, match


def pickup_return(*, store: Store, order_id: int, rider_code: str, by) -> Order:
    """The counter takes a returning bag back from its rider (their one-time code): the order is returned.
    Refusals are audited, and commit before they are raised."""
    order, refusal = _pickup_return_tx(store=store, order_id=order_id, rider_code=rider_code, by=by)
    if refusal is not None:
        raise refusal
    return order


@transaction.atomic
def _pickup_return_tx(*, store: Store, order_id: int, rider_code: str, by) -> tuple[Order, HandoffRefused | None]:
    order = (Order.objects.select_for_update(of=("self",)).select_related("rider__user")
             .filter(store=store, pk=order_id).first())
    if order is None:
        raise NotFound()
    now = timezone.now()
    refusal, match = _return_verdict(order, rider_code, now)
    if refusal is not None:
        audit_record(actor=by, action="return.refused", order=order, data={"code": refusal.code, "store": store.pk})
        return order, refusal
    assert match is not None  # _return_verdict gives a refusal or a code
    match.used_at = now
    match.save(update_fields=["used_at"])
    transition(order, Action.RETURN_RECEIVE)
    order.returned_at = now
    order.save(update_fields=["status", "returned_at"])
    if order.rider is not None:  # nothing is left after the failure: idempotent, writes nothing then
        rider_access_revoke(order=order, user=order.rider.user, reason="returned", now=now)
    audit_record(actor=by, action="order.returned", order=order, data={"rider": order.rider_id, "store": store.pk})
    order_event(order)
    returns_changed(order)
    return order, None
