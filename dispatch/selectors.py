"""Reads. Every `access_*` fetches and authorises in one step: missing and not-yours are both 404.
Every list is filtered by the caller's scope."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Min, Prefetch, QuerySet
from django.utils import timezone

from . import geofence, tokens
from .errors import NotFound
from .models import AuditEvent, ChatMessage, Grant, GrantScope, Order, OrderItem, OrderStatus, Rider, Store, Tier
from .permissions import is_dispatcher, merchant_of, rider_of, staff_of
from .services.counter import Eta, rider_eta
from .services.pickup_numbers import business_date
from .services.privacy import address_reveal, chat_open, customer_phone_for_rider, live_grants

OPEN_STATUSES = (OrderStatus.CREATED, OrderStatus.ASSIGNED, OrderStatus.READY, OrderStatus.PICKED_UP)


def _orders() -> QuerySet[Order]:
    return Order.objects.select_related("store", "rider").prefetch_related(
        Prefetch("items", queryset=OrderItem.objects.order_by("position"))
    )


# --- Scoped lists ------------------------------------------------------------------------
def rider_orders(*, user) -> QuerySet[Order]:
    """Orders the rider holds a live grant on: once access is revoked, the order is gone."""
    rider = rider_of(user)
    if rider is None:
        return Order.objects.none()
    live = live_grants().filter(principal=user, scope=GrantScope.ADDRESS)
    return (
        _orders()
        .select_related("sealed")
        .prefetch_related(Prefetch("grants", queryset=live.filter(), to_attr="live_address_grants"))
        .filter(rider=rider, pk__in=live.values("order_id"))
        .order_by("-pk")
    )


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


def store_orders(*, user, day=None) -> QuerySet[Order]:
    staff = staff_of(user)
    if staff is None:
        return Order.objects.none()
    day = day or business_date(store=staff.store, at=timezone.now())
    return _orders().filter(store_id=staff.store_id, business_date=day).order_by("pickup_seq")


def merchant_orders(*, user) -> QuerySet[Order]:
    merchant = merchant_of(user)
    if merchant is None:
        return Order.objects.none()
    return _orders().filter(merchant=merchant)


def board_orders(*, user) -> QuerySet[Order]:
    if not is_dispatcher(user):
        return Order.objects.none()
    return _orders().filter(status__in=OPEN_STATUSES).order_by("-pk")


def stores_for(*, user) -> QuerySet[Store]:
    if is_dispatcher(user):
        return Store.objects.order_by("pk")
    staff = staff_of(user)
    if staff:
        return Store.objects.filter(pk=staff.store_id)
    merchant = merchant_of(user)
    if merchant:
        return merchant.stores.order_by("pk")
    rider = rider_of(user)
    if rider:
        return Store.objects.filter(pk__in=rider_orders(user=user).values("store_id")).order_by("pk")
    return Store.objects.none()


def riders_on_duty(*, user) -> QuerySet[Rider]:
    if not is_dispatcher(user):
        return Rider.objects.none()
    return Rider.objects.filter(on_duty=True).order_by("pk")


# --- Access to one order -----------------------------------------------------------------
def _get(qs: QuerySet[Order], order_id, *, lock: bool = False) -> Order:
    if lock:
        qs = qs.select_for_update(of=("self",))
    try:
        return qs.get(pk=int(order_id))
    except (Order.DoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc


def access_order(*, user, order_id, lock: bool = False) -> Order:
    """Whatever the caller's role, the order if it is in their scope, else 404.

    With `lock=True` the row is locked (SELECT ... FOR UPDATE) for the caller's transaction, so a write
    reads the order once: the caller opens the transaction and hands the locked order to the service."""
    if rider_of(user):
        return _get(rider_orders(user=user), order_id, lock=lock)
    staff = staff_of(user)
    if staff:
        return _get(_orders().filter(store_id=staff.store_id), order_id, lock=lock)
    if merchant_of(user):
        return _get(merchant_orders(user=user), order_id, lock=lock)
    if is_dispatcher(user):
        return _get(_orders(), order_id, lock=lock)
    raise NotFound()


def access_party_order(*, party, order_id) -> Order:
    """The order if `party` (a `services.rtc.Caller` on a socket) may reach it right now: the rider holding it
    (a live grant), its store's staff, or the holder of its unexpired tracking link. NotFound otherwise."""
    if party.role == "customer":
        order = order_by_tracking_token(token=party.token)
        if str(order.pk) != str(order_id):
            raise NotFound()
        return order
    if party.role == "dispatch":  # an emergency join: only with a live break-glass grant on this order
        if not is_dispatcher(party.user):
            raise NotFound()
        order = _get(_orders(), order_id)
        if not live_grants().filter(order=order, principal=party.user, scope=GrantScope.CONTACT).exists():
            raise NotFound()
        return order
    if party.role in ("rider", "store") and (rider_of(party.user) if party.role == "rider" else staff_of(party.user)):
        order = access_order(user=party.user, order_id=order_id)
        if party.role == "rider" and (order.rider is None or order.rider.user_id != party.user.pk):
            raise NotFound()
        return order
    raise NotFound()


def access_call(*, party, call_id):
    """A live in-app call `party` is on (or is rung by), its order re-authorised, and the side: (call, order,
    "caller" | "callee"). NotFound for a missing call, an outsider, or a party who lost access."""
    from .services.rtc import live_calls, party_id_hash

    try:
        call = live_calls().select_related("order").get(pk=int(call_id))
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
    if party.role not in (call.caller_role, call.callee_role):
        raise NotFound()
    order = access_party_order(party=party, order_id=call.order_id)
    me = party_id_hash(party=party, order=order)
    if party.role == call.caller_role and me == call.caller_hash:
        return call, order, "caller"
    if party.role == call.callee_role and (not call.callee_hash or me == call.callee_hash):
        return call, order, "callee"
    raise NotFound()


@dataclass(frozen=True)
class ChatLine:
    message: ChatMessage
    text: str | None  # as the privacy service opened it for the reader; None if it could not


def chat_history(*, party, order_id) -> list[ChatLine]:
    """This party's messages on the order, opened (audited) for them."""
    order = access_party_order(party=party, order_id=order_id)
    messages = [m for m in ChatMessage.objects.filter(order=order).order_by("pk")[:500]
                if party.role in (m.sender, m.recipient)]
    texts = chat_open(order=order, messages=messages, reader=party.role, actor=party.user)
    return [ChatLine(m, texts.get(m.pk)) for m in messages]


def chat_texts(*, party, order_id, ids: list[int]) -> dict[int, str]:
    """Texts of these messages for `party`, only while it may still reach the order; {} otherwise."""
    try:
        order = access_party_order(party=party, order_id=order_id)
    except NotFound:
        return {}
    messages = list(ChatMessage.objects.filter(order=order, pk__in=ids))
    return chat_open(order=order, messages=messages, reader=party.role, actor=party.user)


def order_by_tracking_token(*, token: str) -> Order:
    """The order whose link this is, found by the token's digest (the token is never stored); 404 once expired."""
    order = Order.objects.select_related("store", "rider").filter(tracking_token_digest=tokens.token_digest(token)).first()
    if order is None or order.tracking_expires_at <= timezone.now():
        raise NotFound()
    return order


# --- What a party may see, for the output serializers to render ------------------------------------
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


def rider_order(order: Order, *, user) -> RiderOrder:
    """What the assigned rider sees: the address only at the tier they hold (audited above area)."""
    reveal = address_reveal(order=order, user=user, live=getattr(order, "live_address_grants", None))
    if reveal is None:
        raise NotFound()
    rider = order.rider
    distance: dict[str, Any] = {}
    if rider and rider.last_lat is not None and rider.last_lng is not None:
        from .services.area import area_point
        from .services.privacy import destination_point

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
    )


def _rider_phone(order: Order, *, user) -> str | None:
    """The real number, for the rider to dial, only where the customer turned number protection off."""
    if order.consent_number_protection:
        return None
    return customer_phone_for_rider(order=order, user=user) or None


@dataclass(frozen=True)
class CounterOrder:
    """An order at the store's counter: the masked order, the rider's coarse ETA, its age and its label."""

    order: Order
    eta: Eta | None
    age_s: int
    label_url: str


def counter_order(order: Order) -> CounterOrder:
    return CounterOrder(order=order, eta=rider_eta(order=order),
                        age_s=int((timezone.now() - order.created_at).total_seconds()),
                        label_url=f"/pickup/orders/{order.pk}/label/")


@dataclass(frozen=True)
class AddressSeen:
    tier: str
    at: datetime
    by: str


@dataclass(frozen=True)
class Tracking:
    """The link holder's view. The PIN is derived from the token: it exists nowhere else."""

    order: Order
    delivery_pin: str | None
    call_number: str | None
    address_seen: list[AddressSeen]
    access_revoked_at: list[datetime]
    access_ends_at: datetime | None
    reach: dict[str, bool]


def tracking(order: Order, *, token: str) -> Tracking:
    from .services.calls import live_sessions

    reveals = [AddressSeen(Tier(g.tier).label, g.created_at, "your rider")
               for g in Grant.objects.filter(order=order, scope=GrantScope.ADDRESS, tier__gt=Tier.AREA).order_by("pk")]
    revoked = list(AuditEvent.objects.filter(order=order, action="access.revoked").order_by("pk")
                   .values_list("at", flat=True))
    lapsed, access_ends_at = _rider_access_deadline(order)
    if lapsed is not None:  # past its end, not yet swept: refused at every read already, so listed as ended
        revoked.append(lapsed)
    session = live_sessions().filter(order=order, rider_id=order.rider_id).first() if order.rider_id else None
    return Tracking(
        order=order,
        delivery_pin=tokens.delivery_pin(token) if order.status != OrderStatus.DELIVERED else None,
        call_number=session.proxy_number if session else None,
        address_seen=reveals,
        access_revoked_at=revoked,
        access_ends_at=access_ends_at,
        reach=_reach(order, role="customer", token=token),
    )


def _rider_access_deadline(order: Order) -> tuple[datetime | None, datetime | None]:
    """Of the current rider's grants on a delivered order that are not yet revoked: the end of those already
    past it (None if none), and the next end still to come (None if none). Delivery sets every one of them to
    end ACCESS_REVOKE_AFTER_S later; the worker's revocation then writes the audit row and tells the devices,
    but access ends at `expires_at` whenever the worker gets there, and the customer's page says so on time."""
    if order.status != OrderStatus.DELIVERED or order.rider is None:
        return None, None
    now = timezone.now()
    ends = list(Grant.objects.filter(order=order, principal_id=order.rider.user_id, revoked_at__isnull=True,
                                     expires_at__isnull=False).values_list("expires_at", flat=True))
    return max((t for t in ends if t <= now), default=None), min((t for t in ends if t > now), default=None)


def _reach(order: Order, *, role: str, user=None, token: str = "") -> dict[str, bool]:
    """Whom this party may call or message in the app right now (the buttons; each message is checked again)."""
    from .services.rtc import Caller, reachable

    return reachable(party=Caller(role, user=user, token=token), order=order)
