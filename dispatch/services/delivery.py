"""Rider positions, the reveal engine's wiring, and delivery."""

from __future__ import annotations

import logging
import time
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from celery import current_app
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import geofence, tokens
from ..errors import DomainError, Invalid
from ..models import GrantPurpose, GrantScope, LocationFix, Order, OrderStatus, Rider, Tier
from .attempts import failed_attempt_counts, failed_attempt_note
from .audit import audit_record
from .calls import call_sessions_window_set
from .events import GROUP_DISPATCH, context_version_key, ephemeral_publish, event_publish, group_track
from .fixes import buffer as fix_buffer
from .orders import access_deadline_set, order_event
from .positions import aggregator as position_aggregator
from .privacy import address_tier, destination_point, grant_create, live_grants

log = logging.getLogger(__name__)
ACTIVE = (OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP)
POSITION_EVERY_S = 1.0
ETA_SPEED_MPS = 6.0


def radii_for(order: Order) -> geofence.Radii:
    store = order.store
    return geofence.Radii(
        street=float(store.reveal_street_m or settings.REVEAL_STREET_M),
        door=float(store.reveal_door_m or settings.REVEAL_DOOR_M),
    )


def _state_key(order_id: int, rider_id: int) -> str:
    return f"geo:{order_id}:{rider_id}"


def _load_state(ctx: ActiveOrder, rider: Rider) -> geofence.TrackState:
    raw = cache.get(_state_key(ctx.order_id, rider.pk))
    if raw:
        raw = {**raw, "streak": tuple(raw["streak"]), "dwell_start": tuple(raw["dwell_start"])}
        return geofence.TrackState(**raw)
    # Lost or new state: start from the tier the grants say, which is the durable truth.
    return geofence.TrackState(tier=ctx.tier)


def _save_state(order_id: int, rider: Rider, state: geofence.TrackState) -> None:
    cache.set(_state_key(order_id, rider.pk), asdict(state), timeout=6 * 3600)


def active_orders(rider: Rider) -> list[Order]:
    live = live_grants().filter(principal=rider.user, scope=GrantScope.ADDRESS).values("order_id")
    return list(Order.objects.filter(rider=rider, status__in=ACTIVE, pk__in=live).select_related("store"))


@dataclass(frozen=True)
class ActiveOrder:
    order_id: int
    picked_up: bool
    dest: tuple[float, float]
    radii: geofence.Radii
    tier: int


CONTEXT_TTL_S = 600.0  # a backstop only (a version lost with the cache): events are what invalidate
_contexts: dict[int, tuple[float, object, list[ActiveOrder]]] = {}


def rider_context(rider: Rider) -> list[ActiveOrder]:
    """The rider's active orders with their destinations, held in this process's memory only (never in
    a shared cache: the destination is PII). It lives as long as the orders' state: reloaded when an
    order event for the rider bumps its version (grants reached are re-checked in the database, see
    `_tier_reached`), with CONTEXT_TTL_S as a long backstop."""
    version = cache.get(context_version_key(rider.pk))
    hit = _contexts.get(rider.pk)
    now = time.monotonic()
    if hit and hit[1] == version and now - hit[0] < CONTEXT_TTL_S:
        return hit[2]
    orders = active_orders(rider)
    tiers = dict(
        live_grants().filter(principal=rider.user, scope=GrantScope.ADDRESS, order__in=orders)
        .values_list("order_id").annotate(top=Max("tier"))
    )
    # A destination never changes: one audited vault open per order while it stays in this rider's context.
    known = {a.order_id: a.dest for a in hit[2]} if hit else {}
    ctx = [
        ActiveOrder(o.pk, o.status == OrderStatus.PICKED_UP, known.get(o.pk) or destination_point(order=o),
                    radii_for(o), tiers.get(o.pk, Tier.AREA))
        for o in orders
    ]
    _contexts[rider.pk] = (now, version, ctx)
    return ctx


@dataclass(frozen=True)
class PingResult:
    accepted: bool
    reason: str
    tiers: dict[int, str]  # order id -> tier reached by this ping
    # Resolves once the ping's location history is committed: an ack waits for it (services/fixes.py).
    durable: Future | None = field(default=None, compare=False)


def _validate(lat: float, lng: float, accuracy: float, ts: float) -> None:
    if not (-90 <= lat <= 90 and -180 <= lng <= 180):
        raise Invalid(_("Coordinates are out of range."), code="bad_coordinates")
    if accuracy < 0:
        raise Invalid(_("Accuracy cannot be negative."), code="bad_accuracy")
    if ts < 946_684_800 or ts > time.time() + 86_400:  # before 2000, or a day ahead
        raise Invalid(_("The timestamp is not plausible."), code="bad_timestamp")


def location_ping(
    *, rider: Rider, lat: float, lng: float, accuracy: float, timestamp: float, seq: int, here: bool = False
) -> PingResult:
    """One position report: the reveal engine for each active order, then the record, then the map.

    The hot path reads the cache and process memory; it writes to the database only when a tier is
    reached (grants and audit), and hands the location history to the batch writer."""
    _validate(lat, lng, accuracy, timestamp)
    if not rider.on_duty:
        raise DomainError(_("You are off duty: positions are not recorded."), code="off_duty")
    now = time.time()
    at = datetime.fromtimestamp(timestamp, tz=UTC)
    received = timezone.now()
    reached: dict[int, str] = {}
    decisions = []
    fixes = []
    config = geofence.Config(max_speed_mps=settings.MAX_SPEED_MPS)
    fix = geofence.Fix(lat, lng, accuracy, timestamp, seq)
    contexts = rider_context(rider)
    for ctx in contexts:
        decision = geofence.evaluate(_load_state(ctx, rider), fix, ctx.dest, ctx.radii, now=now,
                                     picked_up=ctx.picked_up, config=config, here_tap=here)
        decisions.append(decision)
        if decision.accepted or decision.spoof:
            _save_state(ctx.order_id, rider, decision.state)
        fixes.append(LocationFix(rider=rider, order_id=ctx.order_id, lat=lat, lng=lng, accuracy=accuracy, at=at,
                                 received_at=received, seq=seq, accepted=decision.accepted,
                                 reason=decision.reason[:32]))
        if decision.spoof:
            _spoof_alert(order_id=ctx.order_id, rider=rider, flags=decision.flags)
        if decision.new_tier and _tier_reached(order_id=ctx.order_id, rider=rider, tier=decision.new_tier,
                                               accuracy=accuracy, distance=decision.distance_m or 0.0,
                                               radii=ctx.radii):
            reached[ctx.order_id] = geofence.TIER_NAMES[decision.new_tier]
        if decision.accepted and ctx.picked_up and decision.distance_m is not None \
                and cache.add(f"eta-sent:{ctx.order_id}", 1, timeout=POSITION_EVERY_S):
            ephemeral_publish(group=group_track(ctx.order_id), type="rider.approaching",
                              payload={"distance_m": round(decision.distance_m),
                                       "eta_s": round(decision.distance_m / ETA_SPEED_MPS)})
    if not contexts:  # on duty without an order: a position for the dispatch map only
        fixes.append(LocationFix(rider=rider, lat=lat, lng=lng, accuracy=accuracy, at=at, received_at=received,
                                 seq=seq, accepted=True))
    durable = fix_buffer.add(fixes)
    accepted = not decisions or any(d.accepted for d in decisions)
    if accepted:
        _position_update(rider, lat, lng, at)
    pool = [d for d in decisions if d.accepted == accepted]
    return PingResult(accepted, next((d.reason for d in pool if d.reason), ""), reached, durable)


POSITION_SAVE_EVERY_S = 5.0
_saved_at: dict[int, float] = {}


def _position_update(rider: Rider, lat: float, lng: float, at: datetime) -> None:
    # The last known position (for the board's first paint and ETAs) is saved at most every 5 s per rider
    # and process (a rider's socket lives on one process): a clock check, not a cache round trip.
    now = time.monotonic()
    if now - _saved_at.get(rider.pk, -POSITION_SAVE_EVERY_S) >= POSITION_SAVE_EVERY_S:
        _saved_at[rider.pk] = now
        Rider.objects.filter(pk=rider.pk).update(last_lat=lat, last_lng=lng, last_seen_at=at)
    if settings.POSITION_BATCH:
        position_aggregator.add(rider_id=rider.pk, lat=lat, lng=lng, at=at)
        return
    # Coalesced: at most one position a second per rider reaches the dispatch map.
    if cache.add(f"pos-sent:{rider.pk}", 1, timeout=POSITION_EVERY_S):
        ephemeral_publish(group=GROUP_DISPATCH, type="rider.position",
                          payload={"rider": rider.pk, "lat": lat, "lng": lng, "at": at.isoformat()})


@transaction.atomic
def _tier_reached(
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
    return held < tier


def _spoof_alert(*, order_id: int, rider: Rider, flags: list[str]) -> None:
    if cache.add(f"spoof-alert:{order_id}:{rider.pk}:{','.join(flags)}", 1, timeout=60):
        with transaction.atomic():
            audit_record(action="location.spoof_flagged", order=Order.objects.get(pk=order_id),
                         data={"rider": rider.pk, "flags": flags})
            event_publish(groups=[GROUP_DISPATCH], type="alert",
                          payload={"kind": "spoofing", "rider": rider.pk, "order": order_id, "flags": flags})


PIN_TRIES = 5  # wrong PINs an order takes within PIN_WINDOW before it locks (counted in the database)
PIN_WINDOW = timedelta(hours=1)


def order_deliver(*, rider: Rider, order_id: int, pin: str) -> Order:
    """Deliver with the customer's PIN. A wrong PIN is audited, and the audit commits before the refusal."""
    order, refusal = _order_deliver_tx(rider=rider, order_id=order_id, pin=pin)
    if refusal is not None:
        raise refusal
    return order


@transaction.atomic
def _order_deliver_tx(*, rider: Rider, order_id: int, pin: str) -> tuple[Order, DomainError | None]:
    order = Order.objects.select_for_update().get(pk=order_id, rider=rider)
    if order.status == OrderStatus.DELIVERED:
        raise DomainError(_("This order is already delivered."), code="already_delivered")
    if order.status != OrderStatus.PICKED_UP:
        raise DomainError(_("Pick the order up at the store before delivering it."), code="not_picked_up")
    key = ("pin", order.pk)
    if failed_attempt_counts(keys=[key], window=PIN_WINDOW)[key] >= PIN_TRIES:
        raise DomainError(_("Too many wrong PINs. Call the customer or dispatch."), code="pin_locked")
    if not tokens.pin_matches(token_digest=order.tracking_token_digest, stored_digest=order.delivery_pin_digest, pin=pin):
        failed_attempt_note(scope="pin", key=order.pk, window=PIN_WINDOW)
        audit_record(actor=rider.user, action="delivery.wrong_pin", order=order)
        return order, Invalid(_("That PIN is not right. Ask the customer again."), code="wrong_pin")
    now = timezone.now()
    order.status = OrderStatus.DELIVERED
    order.delivered_at = now
    order.save(update_fields=["status", "delivered_at"])
    access_deadline_set(order=order, rider=rider)
    call_sessions_window_set(order=order, delivered_at=now)
    audit_record(actor=rider.user, action="order.delivered", order=order)
    order_event(order)
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
