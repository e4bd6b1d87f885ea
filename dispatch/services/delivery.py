"""The domain side of a rider's positions (what a ping may be, what reaching a tier or tripping a spoof rule
writes) and delivery. The ping itself, with the engine's state in memory, is the live path's
(`dispatch/live/ping.py`), which calls these."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import geofence, tokens
from ..errors import DomainError, Invalid
from ..models import GrantPurpose, GrantScope, MessageKind, Order, OrderStatus, Rider, Tier
from .alerts import alert_raise
from .attempts import failed_attempt_counts, failed_attempt_note, failed_attempts_clear
from .audit import audit_record
from .calls import call_sessions_window_set
from .notify import message_enqueue
from .orders import access_deadline_set, order_event
from .pod import pod_input_refusal, pod_record, pod_requirements, pod_state_refusal
from .privacy import address_tier, grant_create, live_grants
from .states import Action, transition
from .webhooks import courier_imminent_emit

log = logging.getLogger(__name__)
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP)


def radii_for(order: Order) -> geofence.Radii:
    store = order.store
    return geofence.Radii(
        street=float(store.reveal_street_m or settings.REVEAL_STREET_M),
        door=float(store.reveal_door_m or settings.REVEAL_DOOR_M),
    )


def active_orders(rider: Rider) -> list[Order]:
    live = live_grants().filter(principal=rider.user, scope=GrantScope.ADDRESS).values("order_id")
    return list(Order.objects.filter(rider=rider, status__in=ACTIVE, pk__in=live).select_related("store"))


def location_validate(lat: float, lng: float, accuracy: float, ts: float) -> None:
    """Whether a position report is plausible (the socket's hot path calls this on every ping)."""
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise Invalid(_("Coordinates are out of range."), code="bad_coordinates")
    if accuracy < 0:
        raise Invalid(_("Accuracy cannot be negative."), code="bad_accuracy")
    if ts < 946_684_800 or ts > time.time() + 86_400:  # before 2000, or a day ahead
        raise Invalid(_("The timestamp is not plausible."), code="bad_timestamp")


def rider_on_duty_require(*, rider: Rider) -> None:
    if not rider.on_duty:
        raise DomainError(_("You are off duty: positions are not recorded."), code="off_duty")


@transaction.atomic
def location_tier_reached(
    *, order_id: int, rider: Rider, tier: int, accuracy: float, distance: float, radii: geofence.Radii
) -> bool:
    """Persist a reached tier as grants. Re-checked against the database: a rider whose access was
    revoked meanwhile (the context in memory may be seconds old) gets nothing."""
    order = Order.objects.select_for_update().get(pk=order_id)
    held = address_tier(order=order, user=rider.user)
    if held is None or order.rider_id != rider.pk or order.status != OrderStatus.PICKED_UP:
        return False
    for t in range(held + 1, tier + 1):
        grant_create(
            order=order, user=rider.user, scope=GrantScope.ADDRESS, tier=t, purpose=GrantPurpose.DELIVERY,
            # A band, never coordinates or the figure: the log is append-only and outlives the door.
            audit_data={"distance_band": geofence.distance_band(distance, radii),
                        "accuracy": round(accuracy), "rider": rider.pk},
        )
    order_event(order, extra={"tier": geofence.TIER_NAMES[tier]})
    if held < Tier.DOOR <= tier:  # the merchant hears "at the door" once per order, never where
        courier_imminent_emit(order=order)
        message_enqueue(order=order, kind=MessageKind.NEARBY)
    return held < tier


def location_spoof_alert(*, order_id: int, rider: Rider, flags: list[str]) -> None:
    """The one place a spoofing flag (teleport, speed, clock skew, frozen) is audited and raised to dispatch: a
    `spoof` alert row per rider and order, its count bumped (at most once a minute per set of flags)."""
    if cache.add(f"spoof-alert:{order_id}:{rider.pk}:{','.join(flags)}", 1, timeout=60):
        with transaction.atomic():
            order = Order.objects.select_related("store").get(pk=order_id)
            audit_record(action="location.spoof_flagged", order=order, data={"rider": rider.pk, "flags": flags})
            alert_raise(kind="spoof", key=f"spoof:rider:{rider.pk}:order:{order_id}", order=order, rider=rider,
                        detail={"flags": list(flags)})


PIN_TRIES = 5  # wrong PINs an order takes within PIN_WINDOW before it locks (counted in the database)
PIN_WINDOW = timedelta(hours=1)


@transaction.atomic
def order_pin_unlock(*, order: Order, by, reason: str) -> int:
    """Dispatch clears an order's PIN lock (the way out `pin_locked` names): the wrong PINs counted against it
    are forgotten, so the right PIN delivers. Audited with the dispatcher's reason; returns how many were cleared."""
    cleared = failed_attempts_clear(scope="pin", key=order.pk)
    audit_record(actor=by, action="delivery.pin_unlocked", order=order, data={"reason": reason, "cleared": cleared})
    return cleared


def order_deliver(*, rider: Rider, order_id: int, pin: str | None = None, id_checked: bool = False,
                  id_document: str = "") -> Order:
    """Deliver with what the store's proof-of-delivery policy asks (services/pod.py): the customer's PIN, a photo
    uploaded before, an ID check. A wrong PIN is audited, and the audit commits before the refusal."""
    order, refusal = _order_deliver_tx(rider=rider, order_id=order_id, pin=pin, id_checked=id_checked,
                                       id_document=id_document)
    if refusal is not None:
        raise refusal
    return order


@transaction.atomic
def _order_deliver_tx(*, rider: Rider, order_id: int, pin: str | None, id_checked: bool,
                      id_document: str) -> tuple[Order, DomainError | None]:
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order_id, rider=rider)
    lacking = pod_input_refusal(order=order, pin=pin, id_checked=id_checked, id_document=id_document)
    if lacking is not None:
        raise lacking
    if order.status == OrderStatus.DELIVERED:
        raise DomainError(_("This order is already delivered."), code="already_delivered")
    if order.status != OrderStatus.PICKED_UP:
        raise DomainError(_("Pick the order up at the store before delivering it."), code="not_picked_up")
    missing = pod_state_refusal(order=order)
    if missing is not None:
        raise missing
    need_pin = pod_requirements(order).pin
    if need_pin:
        key = ("pin", order.pk)
        if failed_attempt_counts(keys=[key], window=PIN_WINDOW)[key] >= PIN_TRIES:
            raise DomainError(_("Too many wrong PINs. Call the customer or dispatch."), code="pin_locked")
        if not tokens.pin_matches(token_digest=order.tracking_token_digest, stored_digest=order.delivery_pin_digest,
                                  pin=pin or ""):
            failed_attempt_note(scope="pin", key=order.pk, window=PIN_WINDOW)
            audit_record(actor=rider.user, action="delivery.wrong_pin", order=order)
            return order, Invalid(_("That PIN is not right. Ask the customer again."), code="wrong_pin")
    proof = pod_record(order=order, rider=rider, pin_checked=need_pin, id_document=id_document)
    now = timezone.now()
    transition(order, Action.DELIVER)
    order.delivered_at = now
    order.save(update_fields=["status", "delivered_at"])
    access_deadline_set(order=order, rider=rider)
    call_sessions_window_set(order=order, delivered_at=now)
    audit_record(actor=rider.user, action="order.delivered", order=order,
                 data={"pod": proof.policy, "id_document": proof.id_document or None,
                       "photo": proof.photo_sealed is not None})
    order_event(order)
    message_enqueue(order=order, kind=MessageKind.DELIVERED)
    transaction.on_commit(lambda: schedule_revocation(order.pk), robust=True)
    return order, None


MAX_COUNTDOWN_S = 900  # well under Redis's visibility timeout: longer waits are left to the sweep


def schedule_revocation(order_id: int) -> None:
    """On time when it can be; the beat sweep over grants' expires_at is the backstop."""
    delay = settings.ACCESS_REVOKE_AFTER_S
    if delay > MAX_COUNTDOWN_S:
        return
    try:
        current_app.send_task("dispatch.tasks.revoke_order_access", args=[order_id], countdown=delay + 1)
    except Exception as exc:  # the broker being down must not fail a delivery; the sweep will revoke
        log.warning("could not schedule revocation for order %s (%s: %s); the sweep will revoke", order_id,
                    type(exc).__name__, exc)
