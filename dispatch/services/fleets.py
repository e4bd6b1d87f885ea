"""Fleets: a rider rides for the platform or for one merchant's own fleet. A merchant's riders get only that
merchant's orders; a dispatcher with a `fleet_scope` sees and acts on only that fleet's riders and orders.

A fleet is named by a string, as on the API: "platform" or "merchant:<id>"."""

from __future__ import annotations

from ..models import Dispatcher, Order, Rider
from .events import GROUP_DISPATCH

PLATFORM = "platform"


def fleet_of(rider: Rider) -> str:
    """The rider's fleet, as the API names it."""
    return f"merchant:{rider.fleet_id}" if rider.fleet_id else PLATFORM


def rider_may_take(rider: Rider, order: Order) -> bool:
    """A platform rider may take any order; a merchant's own rider only that merchant's orders."""
    return rider.fleet_id is None or rider.fleet_id == order.merchant_id


def dispatcher_scope(user) -> str:
    """The dispatcher's fleet scope: "" for every fleet, else one fleet's name."""
    try:
        return user.dispatcher.fleet_scope
    except (AttributeError, Dispatcher.DoesNotExist):
        return ""


def dispatch_groups(fleet: str) -> list[str]:
    """The dispatch socket groups that hear about something of this fleet."""
    return [GROUP_DISPATCH]
