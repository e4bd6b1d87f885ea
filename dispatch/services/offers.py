"""Offers and a store's auto-dispatch.

An offer puts one order to one rider, who accepts or declines before it expires (OFFER_TIMEOUT_S). Until they
accept, the rider sees the job's outline only (`offer_job`: store, coarse area and trip, their distance to the
store, item count, the store's pay): no name, phone, street or door, and no address grant. Accepting assigns the
order through `orders.order_assign`, which creates that grant. At most one offer per order is open (a database
constraint); a new offer, a direct assignment or a cancel withdraws it.

Auto-dispatch (a store's `auto_dispatch`): a new order is offered to the best-ranked rider who may take it, and
after a decline or a timeout to the next one; after AUTO_DISPATCH_MAX_RIDERS riders (or when nobody is left) it is
escalated to the board as an `unassigned` alert. The ranking is the caller's (`dispatch.tasks.auto_dispatch_run`
asks `selectors.suggestions.suggest_riders`): services sit below selectors. Every step is audited, and every
step is idempotent, so a task that runs twice (a Redis redelivery) or a sweep that races a countdown changes
nothing the second time. Timeouts are short countdowns (well under the broker's visibility timeout) with the
lifecycle sweep over `expires_at` as the backstop.

Socket frames to the rider's group (`group_rider`): `offer.new` (the job, as `offer_job`) and `offer.closed`
(`{offer, status}`). They carry no `order` key: the rider socket gates order events on the rider's grant, which
an offer does not give (docs/offers.md)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import geofence
from ..errors import DomainError, Invalid, NotFound
from ..masking import masked_items
from ..models import Alert, AuditEvent, Offer, OfferStatus, Order, OrderStatus, Rider
from .alerts import alert_raise, unassigned_key
from .audit import audit_record
from .events import event_publish, group_rider, on_commit_robust
from .fleets import dispatcher_scope, fleet_sees_rider, rider_may_take
from .safety import blocked_rider_ids
from .states import Action, transition, transition_check

log = logging.getLogger(__name__)


def offer_timeout_s() -> int:
    return int(settings.OFFER_TIMEOUT_S)


def auto_dispatch_max_riders() -> int:
    return int(settings.AUTO_DISPATCH_MAX_RIDERS)


def _wrong_fleet() -> str:  # worded as order_assign words it
    return _("That rider rides in a merchant's own fleet and takes only that merchant's orders.")


# --- What the rider sees of an offer ------------------------------------------------------------------------------
def _trip(order: Order) -> tuple[int | None, str | None]:
    """Store to the order's area, coarse (`geofence.coarse_distance`) and measured to the ~1 km rounded point the
    dispatch map already shows: never the door."""
    if order.approx_lat is None or order.approx_lng is None:
        return None, None
    metres = geofence.distance_m(order.store.lat, order.store.lng, order.approx_lat, order.approx_lng)
    value, text = geofence.coarse_distance(metres)
    return value, text


def _pickup_distance(rider: Rider, order: Order) -> int | None:
    if rider.last_lat is None or rider.last_lng is None:
        return None
    return int(geofence.distance_m(rider.last_lat, rider.last_lng, order.store.lat, order.store.lng))


def offer_job(offer: Offer, *, now: datetime | None = None) -> dict[str, Any]:
    """The offer as its rider sees it, on the API and in the `offer.new` frame: the job, never the customer."""
    now = now or timezone.now()
    order, store = offer.order, offer.order.store
    trip_m, trip_text = _trip(order)
    pay = None
    if store.offer_pay is not None:
        pay = {"amount": f"{store.offer_pay:.2f}", "currency": settings.OFFER_CURRENCY}
    return {
        "offer": offer.pk,
        "status": offer.status,
        "store": {"name": store.name, "address": store.address, "lat": store.lat, "lng": store.lng},
        "area": order.area,
        "pickup_distance_m": offer.pickup_distance_m,
        "trip_distance_m": trip_m,
        "trip_distance_text": trip_text,
        "items": masked_items(order.items.all()).count,
        "pay": pay,
        "created_at": offer.created_at.isoformat(),
        "expires_at": offer.expires_at.isoformat(),
        "expires_in_s": max(0, int((offer.expires_at - now).total_seconds())),
        # Only once the job is theirs: the order the rider's list now holds.
        "order": offer.order_id if offer.status == OfferStatus.ACCEPTED else None,
    }


# --- Events and scheduling ----------------------------------------------------------------------------------------
def _tell_closed(offer: Offer) -> None:
    event_publish(groups=[group_rider(offer.rider_id)], type="offer.closed",
                  payload={"offer": offer.pk, "status": offer.status})


def _order_changed(order: Order) -> None:
    from .orders import order_event  # orders calls back into this module (withdrawing on assign and cancel)

    order_event(order)


def _send(task: str, args: list, countdown: float = 0) -> None:
    try:
        current_app.send_task(task, args=args, countdown=countdown)
    except Exception as exc:  # the broker being down must not fail the write; the sweep catches expiries
        log.warning("could not send %s (%s: %s)", task, type(exc).__name__, exc)


def schedule_timeout(offer_id: int, timeout_s: float) -> None:
    """The offer's expiry, on time. Short on purpose: a countdown past the broker's visibility timeout runs again."""
    _send("dispatch.tasks.offer_timeout", [offer_id], countdown=timeout_s + 1)


def schedule_auto_dispatch(order_id: int) -> None:
    _send("dispatch.tasks.auto_dispatch", [order_id])


# --- Making, answering and closing offers -------------------------------------------------------------------------
def _rider_for(*, rider_id: int, order: Order, by=None) -> Rider:
    rider = Rider.objects.select_related("user").filter(pk=rider_id).first()
    scope = dispatcher_scope(by) if by is not None else ""
    if rider is None or not fleet_sees_rider(scope, rider):  # another fleet's rider is not there for this dispatcher
        raise Invalid(_("No such rider."), code="unknown_rider")
    if not rider.on_duty:
        raise DomainError(_("That rider is off duty."), code="rider_off_duty")
    if not rider_may_take(rider, order):
        raise DomainError(_wrong_fleet(), code="wrong_fleet")
    if rider.pk in blocked_rider_ids(order):  # they blocked this customer (services/safety.py)
        raise DomainError(_("That rider blocked this customer: offer the order to someone else."), code="rider_blocked")
    return rider


def _close(offer: Offer, status: str, now: datetime) -> None:
    offer.status, offer.closed_at = status, now
    offer.save(update_fields=["status", "closed_at"])


@transaction.atomic
def offers_withdraw(*, order: Order, reason: str, by=None, now: datetime | None = None) -> int:
    """Close the order's open offer (a direct assignment, a new offer, a cancel) and tell its rider. The order's
    status is the caller's to move. Returns how many were closed (0 or 1)."""
    now = now or timezone.now()
    closed = 0
    for offer in Offer.objects.select_for_update().filter(order=order, status=OfferStatus.OPEN):
        _close(offer, OfferStatus.WITHDRAWN, now)
        audit_record(actor=by, action="offer.withdrawn", order=order,
                     data={"offer": offer.pk, "rider": offer.rider_id, "reason": reason})
        _tell_closed(offer)
        closed += 1
    return closed


@transaction.atomic
def offer_make(*, order: Order, rider_id: int, by=None, auto: bool = False, now: datetime | None = None,
               rank: int | None = None) -> Offer:
    """Offer `order` (locked by the caller) to the rider. 409 `wrong_state` unless the order is waiting for a
    rider; a new offer replaces an open one."""
    now = now or timezone.now()
    transition_check(order.status, Action.OFFER)
    if order.rider_id is not None:
        raise DomainError(_("This order already has a rider: reassign it instead."), code="wrong_state")
    rider = _rider_for(rider_id=rider_id, order=order, by=by)
    offers_withdraw(order=order, reason="new_offer", by=by, now=now)
    transition(order, Action.OFFER)
    order.save(update_fields=["status"])
    timeout = offer_timeout_s()
    offer = Offer.objects.create(order=order, rider=rider, auto=auto, by=by if getattr(by, "pk", None) else None,
                                 created_at=now, expires_at=now + timedelta(seconds=timeout),
                                 pickup_distance_m=_pickup_distance(rider, order))
    audit_record(actor=by, action="offer.made", order=order,
                 data={"offer": offer.pk, "rider": rider.pk, "auto": auto, "rank": rank, "timeout_s": timeout})
    event_publish(groups=[group_rider(rider.pk)], type="offer.new", payload=offer_job(offer, now=now))
    _order_changed(order)
    on_commit_robust(schedule_timeout, offer.pk, timeout)
    return offer


def _locked_pair(offer_id: int, rider: Rider | None) -> tuple[Offer, Order]:
    """The offer and its order, locked order first (as `order_assign` and `order_cancel` lock them). With a
    rider: another rider's offer is 404."""
    found = Offer.objects.filter(pk=offer_id)
    if rider is not None:
        found = found.filter(rider=rider)
    order_id = found.values_list("order_id", flat=True).first()
    if order_id is None:
        raise NotFound()
    # `of=("self",)`: PostgreSQL would otherwise lock the joined store row too, for every order of the store.
    order = Order.objects.select_for_update(of=("self",)).select_related("store").get(pk=order_id)
    offer = Offer.objects.select_for_update(of=("self",)).get(pk=offer_id)
    offer.order = order
    return offer, order


def _expire(offer: Offer, order: Order, now: datetime) -> None:
    _close(offer, OfferStatus.EXPIRED, now)
    transition(order, Action.EXPIRE_OFFER)
    order.save(update_fields=["status"])
    audit_record(action="offer.expired", order=order, data={"offer": offer.pk, "rider": offer.rider_id,
                                                             "auto": offer.auto})
    _tell_closed(offer)
    _order_changed(order)
    if offer.auto:
        on_commit_robust(schedule_auto_dispatch, order.pk)


def _refuse_closed(offer: Offer) -> DomainError:
    if offer.status == OfferStatus.EXPIRED:
        return DomainError(_("This offer has expired."), code="offer_expired")
    return DomainError(_("This offer is no longer open."), code="offer_closed")


def offer_accept(*, offer_id: int, rider: Rider, now: datetime | None = None) -> Offer:
    """The rider takes the job: the order is assigned to them (`order_assign`). 404 for another rider's offer;
    409 `offer_expired` past its deadline (the expiry is recorded, and auto-dispatch moves on), `offer_closed`
    once answered or withdrawn."""
    from .orders import order_assign

    now = now or timezone.now()
    with transaction.atomic():
        offer, order = _locked_pair(offer_id, rider)
        if offer.status == OfferStatus.OPEN and now < offer.expires_at:
            transition_check(order.status, Action.ACCEPT)
            if not rider_may_take(rider, order):
                raise DomainError(_wrong_fleet(), code="wrong_fleet")
            _close(offer, OfferStatus.ACCEPTED, now)
            audit_record(actor=rider.user, action="offer.accepted", order=order,
                         data={"offer": offer.pk, "rider": rider.pk, "auto": offer.auto})
            order_assign(order=order, rider_id=rider.pk, by=rider.user)
            _tell_closed(offer)
            return offer
        if offer.status == OfferStatus.OPEN:
            _expire(offer, order, now)
    raise _refuse_closed(offer)  # after the block: the expiry above is committed


def offer_decline(*, offer_id: int, rider: Rider, now: datetime | None = None) -> Offer:
    """The rider turns the job down: the order waits for a rider again, and auto-dispatch asks the next one."""
    now = now or timezone.now()
    with transaction.atomic():
        offer, order = _locked_pair(offer_id, rider)
        if offer.status == OfferStatus.OPEN and now < offer.expires_at:
            _close(offer, OfferStatus.DECLINED, now)
            transition(order, Action.DECLINE)
            order.save(update_fields=["status"])
            audit_record(actor=rider.user, action="offer.declined", order=order,
                         data={"offer": offer.pk, "rider": rider.pk, "auto": offer.auto})
            _tell_closed(offer)
            _order_changed(order)
            if offer.auto:
                on_commit_robust(schedule_auto_dispatch, order.pk)
            return offer
        if offer.status == OfferStatus.OPEN:
            _expire(offer, order, now)
    raise _refuse_closed(offer)


@transaction.atomic
def rider_offers_release(*, rider: Rider, now: datetime | None = None) -> int:
    """The rider went off duty: their open offers are withdrawn (the order waits again, as after a decline), and
    auto-dispatch asks the next rider. Returns how many were released."""
    now = now or timezone.now()
    released = 0
    for offer_id in Offer.objects.filter(rider=rider, status=OfferStatus.OPEN).values_list("pk", flat=True):
        offer, order = _locked_pair(offer_id, None)
        if offer.status != OfferStatus.OPEN:
            continue
        _close(offer, OfferStatus.WITHDRAWN, now)
        transition(order, Action.DECLINE)
        order.save(update_fields=["status"])
        audit_record(action="offer.withdrawn", order=order,
                     data={"offer": offer.pk, "rider": rider.pk, "reason": "off_duty", "auto": offer.auto})
        _tell_closed(offer)
        _order_changed(order)
        if offer.auto:
            on_commit_robust(schedule_auto_dispatch, order.pk)
        released += 1
    return released


@transaction.atomic
def offer_expire(*, offer_id: int, now: datetime | None = None) -> Offer | None:
    """Expire the offer if it is open and due (the countdown task). None when there is nothing to do: already
    answered, withdrawn or expired, or not due yet."""
    now = now or timezone.now()
    try:
        offer, order = _locked_pair(offer_id, None)
    except NotFound:
        return None
    if offer.status != OfferStatus.OPEN or now < offer.expires_at:
        return None
    _expire(offer, order, now)
    return offer


def offers_expire_due(*, now: datetime | None = None) -> int:
    """The sweep's backstop for countdowns that never ran: every open offer past its deadline."""
    now = now or timezone.now()
    ids = list(Offer.objects.filter(status=OfferStatus.OPEN, expires_at__lte=now).values_list("pk", flat=True)[:500])
    return sum(1 for pk in ids if offer_expire(offer_id=pk, now=now) is not None)


# --- Auto-dispatch ------------------------------------------------------------------------------------------------
WAITING = (OrderStatus.CREATED, OrderStatus.READY)


def _escalate(order: Order, *, tried: int, reason: str) -> Alert | None:
    if Alert.objects.filter(key=unassigned_key(order.pk), acked_at__isnull=True).exists():
        return None  # already on the board: a rerun raises nothing new
    audit_record(action="dispatch.auto.escalated", order=order, data={"tried": tried, "reason": reason})
    return alert_raise(kind="unassigned", key=unassigned_key(order.pk), order=order,
                       detail={"tried": tried, "reason": reason})


@transaction.atomic
def auto_dispatch_next(*, order_id: int, ranked: Sequence[int], now: datetime | None = None) -> Offer | Alert | None:
    """One step of the store's auto-dispatch for a waiting order: offer it to the first rider of `ranked` (best
    first) not yet asked and not holding another open offer, or escalate to the board after
    AUTO_DISPATCH_MAX_RIDERS riders or when nobody is left. None when there is nothing to do (auto-dispatch off,
    the order taken, cancelled or already on offer, or already escalated)."""
    now = now or timezone.now()
    order = Order.objects.select_for_update(of=("self",)).select_related("store").filter(pk=order_id).first()
    if order is None or not order.store.auto_dispatch:
        return None
    if order.rider_id is not None or order.status not in WAITING:
        return None
    if Offer.objects.filter(order=order, status=OfferStatus.OPEN).exists():
        return None
    tried = set(Offer.objects.filter(order=order, auto=True).values_list("rider_id", flat=True))
    if len(tried) >= auto_dispatch_max_riders():
        return _escalate(order, tried=len(tried), reason="nobody_accepted")
    busy = set(Offer.objects.filter(status=OfferStatus.OPEN).values_list("rider_id", flat=True))
    for rank, rider_id in enumerate(ranked, start=1):
        if rider_id in tried or rider_id in busy:
            continue
        try:
            with transaction.atomic():
                return offer_make(order=order, rider_id=rider_id, auto=True, now=now, rank=rank)
        except DomainError as exc:  # off duty or moved fleet since the ranking: the next one
            audit_record(action="dispatch.auto.skipped", order=order, data={"rider": rider_id, "code": exc.code})
            order.refresh_from_db(fields=["status"])
    return _escalate(order, tried=len(tried), reason="no_rider")


def auto_dispatch_kick(order: Order, *, now: datetime | None = None) -> None:
    """A new order of an auto-dispatch store: its first offer goes out after commit (`dispatch.tasks.auto_dispatch`).
    A scheduled order ready more than SCHEDULE_OFFER_LEAD_S from now waits: the intake sweep kicks it then
    (`scheduled_dispatch_due`)."""
    now = now or timezone.now()
    if order.pickup_ready_at and order.pickup_ready_at > now + timedelta(seconds=settings.SCHEDULE_OFFER_LEAD_S):
        return
    if order.store.auto_dispatch:
        audit_record(action="dispatch.auto.started", order=order, data={"store": order.store_id})
        on_commit_robust(schedule_auto_dispatch, order.pk)


def scheduled_dispatch_due(*, now: datetime | None = None) -> int:
    """Kick auto-dispatch for the scheduled orders whose ready time came within SCHEDULE_OFFER_LEAD_S and that were
    held back at creation (no "dispatch.auto.started" yet). Returns how many it kicked."""
    now = now or timezone.now()
    started = AuditEvent.objects.filter(action="dispatch.auto.started", order_id=OuterRef("pk"))
    due = (Order.objects.filter(status=OrderStatus.CREATED, store__auto_dispatch=True, pickup_ready_at__isnull=False,
                                pickup_ready_at__lte=now + timedelta(seconds=settings.SCHEDULE_OFFER_LEAD_S))
           .exclude(Exists(started)).select_related("store").order_by("pk")[:500])
    kicked = 0
    for order in due:
        with transaction.atomic():
            auto_dispatch_kick(order, now=now)
        kicked += 1
    return kicked
