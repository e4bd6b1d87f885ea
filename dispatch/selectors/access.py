"""Fetch and authorise in one step: every `access_*` returns the object if it is in the caller's scope, else
404 (missing and not-yours alike). The scoped lists are the querysets each role may read."""

from __future__ import annotations

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Exists, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from .. import tokens
from ..errors import NotFound
from ..models import DeliveryProof, GrantScope, Order, OrderItem, OrderStatus, Rider, Store
from ..permissions import is_dispatcher, merchant_of, rider_of, staff_of
from ..services.fleets import dispatcher_scope, fleet_merchant, orders_q, riders_q
from ..services.pickup_numbers import business_date
from ..services.privacy import live_grants

OPEN_STATUSES = (OrderStatus.CREATED, OrderStatus.OFFERED, OrderStatus.ASSIGNED, OrderStatus.READY,
                 OrderStatus.PICKED_UP, OrderStatus.FAILED, OrderStatus.RETURNING)


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
        .annotate(pod_photo_taken=Exists(DeliveryProof.objects.filter(order=OuterRef("pk"), photo_sealed__isnull=False)))
        .filter(rider=rider, pk__in=live.values("order_id"))
        .order_by("-pk")
    )

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


def dispatch_orders(*, user) -> QuerySet[Order]:
    """Every order this dispatcher may see and act on: all of them, or its fleet's (services/fleets.py)."""
    if not is_dispatcher(user):
        return Order.objects.none()
    return _orders().filter(orders_q(dispatcher_scope(user)))


def board_orders(*, user) -> QuerySet[Order]:
    return dispatch_orders(user=user).filter(status__in=OPEN_STATUSES).order_by("-pk")


def stores_for(*, user) -> QuerySet[Store]:
    if is_dispatcher(user):
        scope = dispatcher_scope(user)
        merchant = fleet_merchant(scope)
        if merchant is not None:  # a merchant's own fleet works for that merchant's stores
            return Store.objects.filter(merchants__pk=merchant).order_by("pk")
        return Store.objects.order_by("pk") if scope in ("", "platform") else Store.objects.none()
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


def dispatch_riders(*, user) -> QuerySet[Rider]:
    """Every rider this dispatcher may see and send: all of them, or its fleet's."""
    if not is_dispatcher(user):
        return Rider.objects.none()
    return Rider.objects.filter(riders_q(dispatcher_scope(user)))


def riders_on_duty(*, user) -> QuerySet[Rider]:
    return dispatch_riders(user=user).filter(on_duty=True).order_by("pk")


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
        return _get(dispatch_orders(user=user), order_id, lock=lock)
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
        order = _get(dispatch_orders(user=party.user), order_id)  # its fleet's only
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
    from ..services.line_access import line_party_hash
    from ..services.rtc import live_calls, party_id_hash

    try:
        call = live_calls().select_related("order", "line__rider").get(pk=int(call_id))
    except (ObjectDoesNotExist, ValueError, TypeError) as exc:
        raise NotFound() from exc
    if party.role not in (call.caller_role, call.callee_role):
        raise NotFound()
    if call.line is not None:  # a rider's line to dispatch: no order (selectors/lines.py)
        from .lines import access_line_rider

        order = None
        rider = access_line_rider(party=party, rider_id=call.line.rider_id)
        me = line_party_hash(role=party.role, rider=rider, user=party.user)
    else:
        order = access_party_order(party=party, order_id=call.order_id)
        me = party_id_hash(party=party, order=order)
    if party.role == call.caller_role and me == call.caller_hash:
        return call, order, "caller"
    if party.role == call.callee_role and (not call.callee_hash or me == call.callee_hash):
        return call, order, "callee"
    raise NotFound()

def order_by_tracking_token(*, token: str) -> Order:
    """The order whose link this is, found by the token's digest (the token is never stored); 404 once expired."""
    order = Order.objects.select_related("store", "rider").filter(tracking_token_digest=tokens.token_digest(token)).first()
    if order is None or order.tracking_expires_at <= timezone.now():
        raise NotFound()
    return order
