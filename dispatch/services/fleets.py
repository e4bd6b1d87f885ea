"""Fleets: a rider rides for the platform or for one merchant's own fleet. A merchant's riders get only that
merchant's orders; a dispatcher with a `fleet_scope` sees and acts on only that fleet's riders and orders.

A fleet is named by a string, as on the API: "platform" or "merchant:<id>". Which orders a fleet sees
(docs/fleets.md): the orders its riders hold, and while no rider holds an order, every order a rider of the
fleet may take (the platform: every unassigned order; a merchant's fleet: that merchant's unassigned orders).
A dispatcher scoped to a fleet joins that fleet's socket group only; a dispatcher with no scope joins the
all-fleets group. Every frame about a fleet's rider or order goes to both (`dispatch_groups`)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, Value
from django.db.models.functions import Coalesce

from ..models import Dispatcher, Order, Rider
from .events import GROUP_DISPATCH

PLATFORM = "platform"
MERCHANT_PREFIX = "merchant:"


def merchant_fleet(merchant_id: int) -> str:
    return f"{MERCHANT_PREFIX}{merchant_id}"


def fleet_of(rider: Rider) -> str:
    """The rider's fleet, as the API names it."""
    return merchant_fleet(rider.fleet_id) if rider.fleet_id else PLATFORM


def fleet_merchant(fleet: str) -> int | None:
    """The merchant whose own fleet this is; None for the platform or a name that is not a fleet's."""
    if not fleet.startswith(MERCHANT_PREFIX):
        return None
    digits = fleet.removeprefix(MERCHANT_PREFIX)
    return int(digits) if digits.isascii() and digits.isdigit() and len(digits) < 19 else None


def fleet_valid(fleet: str) -> bool:
    return fleet == PLATFORM or fleet_merchant(fleet) is not None


def rider_may_take(rider: Rider, order: Order) -> bool:
    """A platform rider may take any order; a merchant's own rider only that merchant's orders."""
    return rider.fleet_id is None or rider.fleet_id == order.merchant_id


def dispatcher_scope(user) -> str:
    """The dispatcher's fleet scope: "" for every fleet, else one fleet's name. A scope that names no fleet
    is kept as it is, so that it matches nothing (`riders_q`, `orders_q`): a typo never widens a view."""
    try:
        return user.dispatcher.fleet_scope
    except (AttributeError, Dispatcher.DoesNotExist):
        return ""


def order_fleets(order: Order) -> list[str]:
    """The fleets that see this order: its rider's, or while no rider holds it, every fleet that may take it.
    An order held by a rider who may not take it (one moved to another fleet since) is no fleet's: only
    dispatchers of every fleet see it."""
    rider = order.rider if order.rider_id else None
    if rider is not None:
        return [fleet_of(rider)] if rider_may_take(rider, order) else []
    return [PLATFORM] + ([merchant_fleet(order.merchant_id)] if order.merchant_id else [])


def fleet_sees_order(scope: str, order: Order) -> bool:
    return not scope or scope in order_fleets(order)


def fleet_sees_rider(scope: str, rider: Rider) -> bool:
    return not scope or scope == fleet_of(rider)


def riders_q(scope: str) -> Q:
    """The riders a dispatcher with this scope sees, as a filter on `Rider`."""
    if not scope:
        return Q()
    if scope == PLATFORM:
        return Q(fleet__isnull=True)
    merchant = fleet_merchant(scope)
    return Q(fleet_id=merchant) if merchant is not None else Q(pk__in=[])


def orders_q(scope: str) -> Q:
    """The orders a dispatcher with this scope sees, as a filter on `Order` (the same rule as `order_fleets`)."""
    if not scope:
        return Q()
    if scope == PLATFORM:
        return Q(rider__isnull=True) | Q(rider__fleet__isnull=True)
    merchant = fleet_merchant(scope)
    if merchant is None:
        return Q(pk__in=[])
    return Q(merchant_id=merchant) & (Q(rider__isnull=True) | Q(rider__fleet_id=merchant))


# A rider's fleet as one integer, for `takers_q`: the merchant's id, 0 for the platform. Annotate `Rider` with it
# as `fleet_key`.
FLEET_KEY = Coalesce("fleet_id", Value(0))


def takers_q(order: Order, scope: str = "") -> Q:
    """The riders who may take `order` (`rider_may_take`) and whom a dispatcher with this scope sees (`riders_q`),
    as a filter on `Rider` annotated with `fleet_key=FLEET_KEY`. The one SQL form of those two rules (who-to-send
    uses it). On the annotation, not on `fleet_id` itself: that lookup leads SQLite to read the fleet's index
    (every platform rider) instead of the position cells'."""
    keys = {0, order.merchant_id or 0}  # the platform's riders, and the order's merchant's own
    if scope == PLATFORM:
        keys &= {0}
    elif scope:
        merchant = fleet_merchant(scope)
        keys &= {merchant} if merchant is not None else set()
    return Q(fleet_key__in=sorted(keys)) if keys else Q(pk__in=[])


def group_fleet(fleet: str) -> str:
    """The socket group of one fleet's dispatchers (a group name allows letters, digits, `-`, `_`, `.`)."""
    return f"{GROUP_DISPATCH}.{fleet.replace(':', '.')}"


def dispatch_groups(fleet: str) -> list[str]:
    """The dispatch socket groups that hear about something of this fleet: the all-fleets group and the
    fleet's own. Something of no fleet ("") reaches the all-fleets group only."""
    return [GROUP_DISPATCH, group_fleet(fleet)] if fleet_valid(fleet) else [GROUP_DISPATCH]


def fleets_groups(fleets: Iterable[str]) -> list[str]:
    """`dispatch_groups` of several fleets, each group once (the all-fleets group always, and first)."""
    groups = [GROUP_DISPATCH]
    for fleet in fleets:
        for group in dispatch_groups(fleet):
            if group not in groups:
                groups.append(group)
    return groups


def order_dispatch_groups(order: Order, *, was: Iterable[str] = ()) -> list[str]:
    """The dispatch groups that hear about this order: the fleets that see it now, and `was` (the fleets that
    saw it before the change: they hear once more that it left them)."""
    return fleets_groups([*was, *order_fleets(order)])


def consumer_groups(scope: str) -> list[str]:
    """The groups a dispatcher's socket joins: the all-fleets group without a scope, else its fleet's own
    (none for a scope that names no fleet: that socket is refused)."""
    if not scope:
        return [GROUP_DISPATCH]
    return [group_fleet(scope)] if fleet_valid(scope) else []
