"""The rider's reads: when their access to an order began and ends, and what they see of an order they hold."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Min
from django.utils import timezone

from .. import geofence
from ..errors import NotFound
from ..models import Grant, GrantScope, Order, OrderStatus
from ..permissions import rider_of
from ..services.exits import call_attempts
from ..services.privacy import address_reveal, customer_phone_for_rider, live_grants
from .exits import DoorWait, door_wait


def rider_access_starts(*, user, order_ids=None) -> dict[int, Any]:
    """For each order the rider holds a live address grant on (as `rider_orders`): when that access began."""
    rider = rider_of(user)
    if rider is None:
        return {}
    live = live_grants().filter(principal=user, scope=GrantScope.ADDRESS, order__rider=rider)
    if order_ids is not None:
        live = live.filter(order_id__in=order_ids)
    return dict(live.values("order_id").annotate(start=Min("created_at")).values_list("order_id", "start"))


def rider_access_ends(*, user, order_id: int) -> tuple[bool, float | None]:
    """Whether the rider holds live address access to the order now, and when that access ends by itself
    (epoch seconds; None while no grant has a deadline). A socket keeps the deadline in memory and compares
    it on every frame."""
    rider = rider_of(user)
    if rider is None:
        return False, None
    ends = list(live_grants().filter(principal=user, scope=GrantScope.ADDRESS, order__rider=rider, order_id=order_id)
                .values_list("expires_at", flat=True))
    if not ends:
        return False, None
    return True, None if any(e is None for e in ends) else max(ends).timestamp()


def rider_access_windows(*, user, order_ids) -> dict[int, list[tuple[Any, Any]]]:
    """For each of these orders, the periods `(start, end)` in which `user` held address access (`end` None
    while it lasts): a replay to the rider's device keeps to these."""
    now = timezone.now()
    windows: dict[int, list[tuple[Any, Any]]] = {}
    grants = Grant.objects.filter(principal=user, scope=GrantScope.ADDRESS, order_id__in=order_ids)
    for order_id, start, revoked_at, expires_at in grants.values_list("order_id", "created_at", "revoked_at",
                                                                         "expires_at"):
        end = revoked_at
        if expires_at is not None and expires_at <= now:
            end = expires_at if end is None else min(end, expires_at)
        windows.setdefault(order_id, []).append((start, end))
    return windows

@dataclass(frozen=True)
class Destination:
    """The rider's destination at the tier they hold: a field of a higher tier is None (and left out)."""

    tier: str
    text: str
    distance_m: int | None = None
    distance_approx: bool | None = None
    distance_text: str | None = None
    lat: float | None = None
    lng: float | None = None
    parts: dict[str, str] | None = None


@dataclass(frozen=True)
class RiderCustomer:
    display_name: str
    phone_masked: str
    phone: str | None = None  # only where the customer turned number protection off (audited)


@dataclass(frozen=True)
class RiderOrder:
    order: Order
    customer: RiderCustomer
    destination: Destination
    reach: dict[str, bool]
    stop: int | None = None  # the order's place in the rider's delivery sequence (selectors.batches)
    attempt: DeliveryAttempt | None = None
    error: str = ""  # "unreadable": the vault could not open this order (`rider_order_unreadable`)
    pod: dict[str, Any] | None = None  # what the store's proof-of-delivery policy asks (services/pod.py)


@dataclass(frozen=True)
class DeliveryAttempt:
    """At the door, the evidence an "unreachable" report needs, for the rider to see: the door wait (running or run
    out, with the store's length) and the in-app calls made to the customer since pick-up, against those needed."""

    door_wait: DoorWait | None
    door_wait_s: int
    call_attempts: int
    calls_needed: int


def delivery_attempt(order: Order) -> DeliveryAttempt | None:
    if order.status != OrderStatus.PICKED_UP or order.rider is None:
        return None
    return DeliveryAttempt(door_wait=door_wait(order), door_wait_s=order.store.door_wait_s,
                           call_attempts=call_attempts(order=order, rider=order.rider),
                           calls_needed=order.store.fail_min_calls)


def rider_order(order: Order, *, user, stop: int | None = None) -> RiderOrder:
    """What the assigned rider sees: the address only at the tier they hold (audited above area)."""
    reveal = address_reveal(order=order, user=user, live=getattr(order, "live_address_grants", None))
    if reveal is None:
        raise NotFound()
    rider = order.rider
    distance: dict[str, Any] = {}
    if rider and rider.last_lat is not None and rider.last_lng is not None:
        from ..services.area import area_point
        from ..services.privacy import destination_point

        dest = destination_point(order=order)
        if reveal.lat is None:
            # AREA: `distance_m` is a coarse step to the order's area point, never to the door
            # (services.area); `distance_text` says it in words and `distance_approx` marks it.
            metres, text = geofence.coarse_distance(
                geofence.fast_distance(rider.last_lat, rider.last_lng, *area_point(order=order, dest=dest)))
            distance = {"distance_m": metres, "distance_approx": True, "distance_text": text}
        else:  # STREET and DOOR: the distance to the door, to the metre
            distance = {"distance_m": round(geofence.fast_distance(rider.last_lat, rider.last_lng, *dest))}
    destination = Destination(tier=reveal.tier, text=reveal.text, lat=reveal.lat,
                              lng=reveal.lng if reveal.lat is not None else None, parts=reveal.parts, **distance)
    return RiderOrder(
        order=order,
        customer=RiderCustomer(order.display_name, order.phone_masked, _rider_phone(order, user=user)),
        destination=destination,
        # The rider holds the order here (a live grant, or NotFound above): they may reach both other parties.
        reach={"customer": order.status != OrderStatus.CANCELLED, "store": order.status != OrderStatus.CANCELLED},
        stop=stop,
        attempt=delivery_attempt(order),
        pod=_pod(order),
    )


def rider_order_unreadable(order: Order, *, stop: int | None = None) -> RiderOrder:
    """The masked row of an order the vault cannot open (a corrupt or tampered sealed record): what the order's
    own columns say (status, pickup number, store, masked name and number), no address, `error: unreadable`.
    Dispatch can still see and reassign it; the rest of the rider's list is unaffected."""
    return RiderOrder(order=order, customer=RiderCustomer(order.display_name, order.phone_masked, None),
                      destination=Destination(tier="area", text=""), reach={"customer": False, "store": True},
                      stop=stop, attempt=None, error="unreadable")


def _pod(order: Order) -> dict[str, Any]:
    from ..services.pod import pod_requirements

    need = pod_requirements(order)
    return {"policy": need.policy, "pin": need.pin, "photo": need.photo, "id_check": need.id_check,
            "photo_taken": bool(getattr(order, "pod_photo_taken", False))}


def _rider_phone(order: Order, *, user) -> str | None:
    """The real number, for the rider to dial, only where the customer turned number protection off."""
    if order.consent_number_protection:
        return None
    return customer_phone_for_rider(order=order, user=user) or None
