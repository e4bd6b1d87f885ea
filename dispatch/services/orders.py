from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import masking, tokens
from ..errors import DomainError, Invalid
from ..models import Grant, GrantPurpose, GrantScope, Merchant, Order, OrderItem, OrderStatus, Rider, Store, Tier
from .access import rider_access_revoke
from .alerts import alert_resolve, unassigned_key
from .area import area_offset_draw
from .audit import audit_record
from .detectors import order_promise
from .events import event_publish, group_rider, group_store, group_track, on_commit_robust, send_now
from .fleets import dispatcher_scope, fleet_sees_rider, order_dispatch_groups, order_fleets, rider_may_take
from .notify import messages_on_order_created
from .pickup_numbers import pickup_number_allocate
from .privacy import grant_create, vault_seal
from .reasons import CANCEL_PARTIES, CANCEL_REASONS
from .states import Action, transition, transition_check
from .webhooks import webhooks_emit


def order_event(order: Order, *, type: str = "order.updated", extra: dict | None = None,
                was_fleets: list[str] | None = None) -> None:
    """Tell every party of the order, in their own groups, that it changed. No PII in the payload. Dispatch
    hears it in the groups of the fleets that see the order (services/fleets.py), and of `was_fleets`, those
    that saw it before the change (a reassignment to another fleet: their board drops it)."""
    payload = {"order": order.pk, "status": order.status, "pickup_code": order.pickup_code, **(extra or {})}
    groups = [group_store(order.store_id), *order_dispatch_groups(order, was=was_fleets or ()),
              group_track(order.pk)]
    if order.rider_id:
        groups.append(group_rider(order.rider_id))
    event_publish(groups=groups, type=type, payload=payload)
    hook = "order.created" if type == "order.created" else getattr(order, "webhook_type", None)
    if hook:  # the merchant's webhooks, from the saved order (reason codes included)
        order.webhook_type = None
        webhooks_emit(order=order, type=hook)


@transaction.atomic
def order_create(
    *, merchant: Merchant | None, store: Store, external_ref: str, customer: dict[str, Any],
    items: list[dict[str, Any]], consent: dict[str, bool], promised_at: datetime | None = None,
    pickup_ready_at: datetime | None = None, dropoff_deadline: datetime | None = None,
) -> Order:
    """`promised_at`: when the customer was told to expect it; by default the store's or the site's promise,
    counted from `pickup_ready_at` when that is later. A `dropoff_deadline` is the promise."""
    now = timezone.now()
    day, seq, code = pickup_number_allocate(store=store, at=now)
    address = customer["address"]
    token = tokens.new_tracking_token()
    token_digest = tokens.token_digest(token)
    bearing, offset = area_offset_draw()
    order = Order.objects.create(
        store=store,
        merchant=merchant,
        external_ref=external_ref,
        business_date=day,
        pickup_seq=seq,
        pickup_code=code,
        display_name=masking.mask_name(customer["name"]),
        phone_masked=masking.mask_phone(customer["phone"]),
        area=address["area"],
        approx_lat=masking.approx_coordinate(customer["lat"]),
        approx_lng=masking.approx_coordinate(customer["lng"]),
        area_bearing=bearing,
        area_offset_m=offset,
        consent_number_protection=consent.get("number_protection", True),
        consent_marketing=consent.get("marketing", False),
        delivery_pin_digest=tokens.pin_digest(token_digest=token_digest, pin=tokens.delivery_pin(token)),
        tracking_token_digest=token_digest,
        tracking_expires_at=now + timedelta(seconds=settings.TRACKING_LINK_TTL_S),
        retention_due_at=now + timedelta(days=settings.RETENTION_DAYS),
        promised_at=order_promise(store=store, created_at=max(now, pickup_ready_at or now),
                                  promised_at=dropoff_deadline or promised_at),
        pickup_ready_at=pickup_ready_at,
        dropoff_deadline=dropoff_deadline,
    )
    sensitive_names = []
    for i, item in enumerate(items):
        sensitive = bool(item.get("sensitive"))
        if sensitive:
            sensitive_names.append(item["name"])
        OrderItem.objects.create(
            order=order,
            position=i,
            name="" if sensitive else item["name"],
            qty=item.get("qty", 1),
            sensitive=sensitive,
            category="pharmacy" if sensitive else "",
        )
    vault_seal(
        order=order,
        payload={
            "name": customer["name"],
            "phone": customer["phone"],
            "address": {k: address.get(k, "") for k in ("area", "street", "building", "unit", "door_code", "notes")},
            "lat": customer["lat"],
            "lng": customer["lng"],
            "sensitive_items": sensitive_names,
        },
    )
    audit_record(actor=merchant.user if merchant else None, action="order.created", order=order,
                 data={"items": len(items), "sensitive": len(sensitive_names)})
    order_event(order, type="order.created")
    messages_on_order_created(order=order, token=token, phone=customer["phone"], language=customer.get("language"),
                              pin=tokens.delivery_pin(token))
    from .offers import auto_dispatch_kick  # offers builds on this module

    auto_dispatch_kick(order)
    order.tracking_token = token  # the only copy: the caller hands the link out once
    return order


@transaction.atomic
@transaction.atomic
def tracking_expiry_set(*, order: Order, expires_at: datetime, by=None) -> Order:
    """Move the tracking link's expiry (sooner to cut a link off, later to extend it). Audited. Once committed, the
    order's open tracking sockets are told at once (`tracking.expiry`): one whose link ended closes, the others
    re-arm their timer and tell the page, instead of learning it at their next periodic re-check."""
    Order.objects.filter(pk=order.pk).update(tracking_expires_at=expires_at)
    order.tracking_expires_at = expires_at
    audit_record(actor=by, action="tracking.expiry_set", order=order, data={"expires_at": expires_at.isoformat()})
    on_commit_robust(send_now, group_track(order.pk), {"type": "tracking.expiry", "expires_at": expires_at.timestamp()})
    return order


def order_marketing_withdraw(*, order: Order) -> Order:
    """The customer withdraws marketing consent (from the tracking link). Withdrawal only: a link cannot opt in."""
    order = Order.objects.select_for_update().get(pk=order.pk)
    if order.consent_marketing:
        order.consent_marketing = False
        order.save(update_fields=["consent_marketing"])
        audit_record(action="consent.withdrawn", order=order, data={"marketing": False})
    return order


def _locked(order: Order | None, order_id: int | None) -> Order:
    """The order to change: the caller's, already locked by `access_order(..., lock=True)` in the caller's
    transaction, or read and locked here by id."""
    if order is not None:
        return order
    if order_id is None:
        raise TypeError("give the order or its id")
    return Order.objects.select_for_update().get(pk=order_id)


@transaction.atomic
def order_assign(*, order_id: int | None = None, order: Order | None = None, rider_id: int, by) -> Order:
    order = _locked(order, order_id)
    transition_check(order.status, Action.ASSIGN)
    try:
        rider = Rider.objects.select_related("user").get(pk=rider_id)
    except Rider.DoesNotExist as exc:
        raise Invalid(_("No such rider."), code="unknown_rider") from exc
    if not fleet_sees_rider(dispatcher_scope(by), rider):  # another fleet's rider: as if there were none
        raise Invalid(_("No such rider."), code="unknown_rider")
    if not rider.on_duty:
        raise DomainError(_("That rider is off duty."), code="rider_off_duty")
    if not rider_may_take(rider, order):
        raise DomainError(_("That rider rides in a merchant's own fleet and takes only that merchant's orders."),
                          code="wrong_fleet")
    if order.rider_id == rider.pk:
        return order
    previous = order.rider
    was_fleets = order_fleets(order)
    now = timezone.now()
    from .offers import offers_withdraw

    offers_withdraw(order=order, reason="assigned", by=by, now=now)  # an open offer is overridden
    if previous is not None:
        rider_access_revoke(order=order, user=previous.user, reason="reassigned", now=now)
    # Somebody took it after all: before the rider is written, so the fleets that saw it unheld hear it closed.
    alert_resolve(key=unassigned_key(order.pk), reason="assigned", by=by)
    order.rider = rider
    order.assigned_at = now
    transition(order, Action.ASSIGN)
    order.save(update_fields=["rider", "assigned_at", "status"])
    grant_create(order=order, user=rider.user, scope=GrantScope.ADDRESS, tier=Tier.AREA, purpose=GrantPurpose.DELIVERY)
    audit_record(actor=by, action="order.assigned", order=order,
                 data={"rider": rider.pk, "previous": previous.pk if previous else None})
    order_event(order, type="order.assigned", was_fleets=was_fleets)
    return order


@transaction.atomic
def order_mark_ready(*, order_id: int | None = None, order: Order | None = None, by) -> Order:
    order = _locked(order, order_id)
    if order.status == OrderStatus.READY:
        return order
    transition(order, Action.READY)
    order.ready_at = timezone.now()
    order.save(update_fields=["status", "ready_at"])
    audit_record(actor=by, action="order.ready", order=order)
    order_event(order)
    return order


@transaction.atomic
def order_cancel(*, order_id: int | None = None, order: Order | None = None, by, reason: str = "other",
                 party: str = "dispatch") -> Order:
    """Cancel with a reason code (`reasons.CANCEL_REASONS`). A store may cancel only before the pick-up. The
    rider's access ends here (`rider_access_revoke`)."""
    if reason not in CANCEL_REASONS or party not in CANCEL_PARTIES:
        raise Invalid(_("Give one of the listed reasons."), code="bad_reason")
    order = _locked(order, order_id)
    if party == "store" and order.status == OrderStatus.PICKED_UP:
        raise DomainError(_("The bag has left the store: only dispatch or the merchant can cancel now."),
                          code="wrong_state")
    transition(order, Action.CANCEL)
    order.cancelled_at = timezone.now()
    from .offers import offers_withdraw

    offers_withdraw(order=order, reason="cancelled", by=by, now=order.cancelled_at)
    order.cancelled_by = party
    order.cancel_reason = reason
    order.retry_until = None
    order.save(update_fields=["status", "cancelled_at", "cancelled_by", "cancel_reason", "retry_until"])
    if order.rider is not None:
        rider_access_revoke(order=order, user=order.rider.user, reason="cancelled", now=order.cancelled_at)
    audit_record(actor=by, action="order.cancelled", order=order, data={"reason": reason, "by": party})
    alert_resolve(key=unassigned_key(order.pk), reason="cancelled", by=by)
    order_event(order, extra={"reason": reason, "by": party})
    return order


def access_deadline_set(*, order: Order, rider: Rider) -> None:
    """On delivery: the rider's grants end ACCESS_REVOKE_AFTER_S from now (checked at every read)."""
    due = timezone.now() + timedelta(seconds=settings.ACCESS_REVOKE_AFTER_S)
    Grant.objects.filter(order=order, principal=rider.user, revoked_at__isnull=True).update(expires_at=due)
