"""Reads. Every `access_*` fetches and authorises in one step: missing and not-yours are both 404.
Every list is filtered by the caller's scope."""

from .access import (
    OPEN_STATUSES,
    access_call,
    access_order,
    access_party_order,
    board_orders,
    dispatch_orders,
    dispatch_riders,
    merchant_orders,
    order_by_tracking_token,
    rider_orders,
    riders_on_duty,
    store_orders,
    stores_for,
)
from .alerts import ALERTS_MAX, access_alert, dispatch_alerts
from .chat import ChatLine, chat_history, chat_texts
from .counter import CounterOrder, counter_order
from .customer import AddressSeen, Tracking, tracking
from .exits import DoorWait, OrderExit, access_rider_return, door_wait, order_exit, rider_returns
from .intake import merchant_order_list
from .lines import LINES_MAX, access_line_rider, dispatch_lines, line_history, line_texts
from .rider import (
    Destination,
    RiderCustomer,
    RiderOrder,
    rider_access_ends,
    rider_access_starts,
    rider_access_windows,
    rider_order,
)

__all__ = [
    "LINES_MAX",
    "dispatch_lines",
    "ALERTS_MAX",
    "OPEN_STATUSES",
    "AddressSeen",
    "ChatLine",
    "CounterOrder",
    "Destination",
    "DoorWait",
    "OrderExit",
    "RiderCustomer",
    "RiderOrder",
    "Tracking",
    "access_alert",
    "access_call",
    "access_line_rider",
    "access_order",
    "merchant_order_list",
    "access_rider_return",
    "access_party_order",
    "board_orders",
    "chat_history",
    "chat_texts",
    "counter_order",
    "dispatch_orders",
    "dispatch_riders",
    "dispatch_alerts",
    "door_wait",
    "line_history",
    "line_texts",
    "merchant_orders",
    "order_by_tracking_token",
    "order_exit",
    "rider_access_ends",
    "rider_access_starts",
    "rider_access_windows",
    "rider_order",
    "rider_orders",
    "rider_returns",
    "riders_on_duty",
    "store_orders",
    "stores_for",
    "tracking",
]
