"""What the edges (rider, pickup, dispatch.board, dispatch.tracking, dispatch.intake) may use of the live path,
and nothing else of it (an import-linter contract): the socket base class, the ping with its durable wait, what a
rider's socket tells the engine about its life, and the channel layer's drop counts (the overload endpoint)."""

from __future__ import annotations

from .layers import overflow_counts, overflow_totals
from .ping import PingResult, ping, ping_sync
from .sockets import EventConsumer
from .state import context_forget as rider_socket_closed
from .state import context_invalidate as rider_orders_changed
from .state import track_states_forget

__all__ = ["EventConsumer", "PingResult", "overflow_counts", "overflow_totals", "ping", "ping_sync", "rider_order_revoked",
           "rider_orders_changed", "rider_socket_closed"]


def rider_order_revoked(*, order_id: int, rider_id: int) -> None:
    """The rider lost this order (`order.revoked`): the engine's state for it goes now."""
    track_states_forget(order_id=order_id, rider_ids=[rider_id])
