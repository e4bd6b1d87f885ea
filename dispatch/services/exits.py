"""The exits from a delivery on the road: a failed attempt (with the evidence "unreachable" needs), a retry within
the store's window, and the way back to the store. Cancel is `orders.order_cancel`; the bag's return at the
counter is `handoff.pickup_return`. Each exit moves the order through `states.transition` and ends the rider's
access through the one revocation path, `access.rider_access_revoke`."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import current_app
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ..errors import DomainError, Invalid
from ..models import GrantPurpose, GrantScope, Interaction, InteractionKind, MessageKind, Order, OrderStatus, Party, Rider, Tier
from .access import rider_access_revoke
from .audit import audit_record
from .events import event_publish, group_rider
from .notify import message_enqueue
from .orders import order_event
from .privacy import grant_create, party_hash
from .reasons import FAIL_REASONS
from .states import Action, transition, transition_check

log = logging.getLogger(__name__)
MAX_COUNTDOWN_S = 900  # as delivery.MAX_COUNTDOWN_S: longer waits are left to the lifecycle sweep


# --- The evidence an "unreachable" needs ----------------------------------------------------------------
def door_wait_ends_at(order: Order) -> datetime | None:
    if order.door_wait_started_at is None:
        return None
    return order.door_wait_started_at + timedelta(seconds=order.store.door_wait_s)


def call_attempts(*, order: Order, rider: Rider) -> int:
    """The rider's calls to the customer on this order since the bag was picked up: in the app, or through the
    masked number, answered or not (the interaction log; `services.rtc`)."""
    calls = Interaction.objects.filter(
        order=order, kind__in=(InteractionKind.CALL, InteractionKind.PHONE), caller_role=Party.RIDER,
        caller_hash=party_hash(Party.RIDER, rider.pk), callee_role=Party.CUSTOMER,
    )
    if order.picked_up_at is not None:
        calls = calls.filter(started_at__gte=order.picked_up_at)
    return calls.count()


@transaction.atomic
def door_wait_start(*, order: Order, rider: Rider) -> Order:
    """The rider is at the door and nobody answers: the wait starts once (a second call leaves it running, so it
    cannot be pushed back or cut short). `order` is the rider's, locked by the caller."""
    if order.status != OrderStatus.PICKED_UP:
        raise DomainError(_("Start the door wait only with the bag, on the way to the customer."), code="wrong_state")
    if order.door_wait_started_at is None:
        order.door_wait_started_at = timezone.now()
        order.save(update_fields=["door_wait_started_at"])
        audit_record(actor=rider.user, action="delivery.door_wait_started", order=order,
                     data={"rider": rider.pk, "wait_s": order.store.door_wait_s})
        ends = door_wait_ends_at(order)
        assert ends is not None  # just started
        order_event(order, extra={"door_wait": {"started_at": order.door_wait_started_at.isoformat(),
                                                "ends_at": ends.isoformat()}})
    return order


def _unreachable_evidence(*, order: Order, rider: Rider, now: datetime) -> None:
    needed = order.store.fail_min_calls
    made = call_attempts(order=order, rider=rider)
    if made < needed:
        raise DomainError(_("Call the customer in the app at least %(needed)s times first (%(made)s so far).")
                          % {"needed": needed, "made": made}, code="no_call_attempts")
    ends = door_wait_ends_at(order)
    if ends is None or now < ends:
        raise DomainError(_("Start the door wait and let it run out before reporting the customer unreachable."),
                          code="wait_not_over")


# --- Fail, retry, return ---------------------------------------------------------------------------------
@transaction.atomic
def order_fail(*, order: Order, rider: Rider, reason: str) -> Order:
    """The rider could not deliver. `order` is theirs, locked by the caller. Their access ends now; then the
    store's policy: back to the store at once ("return"), or failed for `retry_window_s` ("retry")."""
    if reason not in FAIL_REASONS:
        raise Invalid(_("Give one of the listed reasons."), code="bad_reason")
    transition_check(order.status, Action.FAIL)
    now = timezone.now()
    if reason == "unreachable":
        _unreachable_evidence(order=order, rider=rider, now=now)
    transition(order, Action.FAIL)
    order.failed_at, order.fail_reason = now, reason
    store = order.store
    retry = store.fail_policy == "retry"
    order.retry_until = now + timedelta(seconds=store.retry_window_s) if retry else None
    order.save(update_fields=["status", "failed_at", "fail_reason", "retry_until"])
    rider_access_revoke(order=order, user=rider.user, reason="failed", now=now)
    audit_record(actor=rider.user, action="order.failed", order=order,
                 data={"reason": reason, "rider": rider.pk, "policy": store.fail_policy})
    order_event(order, extra={"reason": reason})
    message_enqueue(order=order, kind=MessageKind.FAILED)
    if retry:
        window = store.retry_window_s
        transaction.on_commit(lambda: schedule_return(order.pk, window), robust=True)
    else:
        order_return_start(order=order, now=now)
    return order


def order_return_start(*, order: Order, now: datetime, by=None) -> Order:
    """failed -> returning, in the caller's transaction (the order locked): the rider brings the bag back."""
    transition(order, Action.RETURN_START)
    order.returning_at, order.retry_until = now, None
    order.save(update_fields=["status", "returning_at", "retry_until"])
    if order.rider is not None:  # nothing left after the failure; a later grant (break-glass) ends here too
        rider_access_revoke(order=order, user=order.rider.user, reason="returning", now=now)
    audit_record(actor=by, action="order.returning", order=order, data={"reason": order.fail_reason})
    order_event(order, extra={"reason": order.fail_reason})
    returns_changed(order)
    return order


def returns_changed(order: Order) -> None:
    """Tell the rider bringing the bag back to re-read their returns (`GET /api/rider/returns/`). The frame names
    nothing, not even the order: their access to the order itself has ended, and its events no longer reach them."""
    if order.rider_id is not None:
        event_publish(groups=[group_rider(order.rider_id)], type="returns.changed", payload={})


def order_retry(*, order_id: int, by) -> Order:
    """Dispatch sends a failed order out again with the rider who holds the bag: a fresh grant from the area tier.
    Past the window the order goes back to the store instead (committed), and the retry is refused."""
    order, refusal = _order_retry_tx(order_id=order_id, by=by)
    if refusal is not None:
        raise refusal
    return order


@transaction.atomic
def _order_retry_tx(*, order_id: int, by) -> tuple[Order, DomainError | None]:
    order = Order.objects.select_for_update(of=("self",)).select_related("rider__user", "store").get(pk=order_id)
    transition_check(order.status, Action.RETRY)
    now = timezone.now()
    if order.retry_until is None or order.retry_until <= now or order.rider is None:
        order_return_start(order=order, now=now)
        return order, DomainError(_("The retry window has closed: the bag is going back to the store."),
                                  code="retry_window_over")
    transition(order, Action.RETRY)
    order.retry_until = None
    order.door_wait_started_at = None  # a new attempt waits afresh
    order.save(update_fields=["status", "retry_until", "door_wait_started_at"])
    grant_create(order=order, user=order.rider.user, scope=GrantScope.ADDRESS, tier=Tier.AREA,
                 purpose=GrantPurpose.DELIVERY)
    audit_record(actor=by, action="order.retried", order=order, data={"rider": order.rider_id})
    # `order.assigned`: the rider's socket re-reads its access to the order at once (rider.consumers).
    order_event(order, type="order.assigned", extra={"retry": True})
    return order, None


@transaction.atomic
def returns_due(*, order_id: int | None = None) -> int:
    """Failed orders whose retry window has run out go back to the store. Idempotent: the countdown task and the
    lifecycle sweep may both get here."""
    now = timezone.now()
    due = Order.objects.select_for_update(of=("self",)).select_related("rider__user").filter(
        status=OrderStatus.FAILED, retry_until__lte=now)
    if order_id is not None:
        due = due.filter(pk=order_id)
    count = 0
    for order in due:
        order_return_start(order=order, now=now)
        count += 1
    return count


def schedule_return(order_id: int, window_s: int) -> None:
    """On time when the window is short enough for a countdown; the lifecycle sweep is the backstop."""
    if window_s > MAX_COUNTDOWN_S:
        return
    try:
        current_app.send_task("dispatch.tasks.return_failed_order", args=[order_id], countdown=window_s + 1)
    except Exception as exc:  # the broker being down must not fail the report; the sweep will move it
        log.warning("could not schedule the return of order %s (%s: %s); the sweep will", order_id,
                    type(exc).__name__, exc)
