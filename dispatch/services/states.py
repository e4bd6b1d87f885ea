"""The one state machine of an order: every status change goes through `transition`.

`TRANSITIONS` is the whole table: a (status, action) pair that is not in it is refused with `wrong_state`
(409). Who may take an action (a store may cancel only before pick-up, only the assigned rider delivers) and
what else it needs (a PIN, a code, call attempts) are the services' own checks, made before or after this one;
the table only says which status an action leads to.

Statuses: created -> (offered ->) assigned -> ready -> picked_up -> delivered, with the exits cancelled (before
delivery), failed (a delivery attempt that did not reach the customer), then back out on the road (retry) or
returning -> returned (the bag back at the counter). An order can be marked ready before a rider is assigned:
`assign` keeps it ready, and so do an offer and its answer (the open offer itself is an `Offer` row).
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from ..errors import DomainError
from ..models import Order, OrderStatus

S = OrderStatus


class Action:
    OFFER = "offer"
    ACCEPT = "accept"
    DECLINE = "decline"
    EXPIRE_OFFER = "expire_offer"
    ASSIGN = "assign"  # also a reassignment: the status stays
    READY = "ready"
    PICK_UP = "pick_up"
    UNDO_PICK_UP = "undo_pick_up"  # the counter takes back a bag handed over by mistake
    DELIVER = "deliver"
    CANCEL = "cancel"
    FAIL = "fail"
    RETRY = "retry"
    RETURN_START = "return_start"
    RETURN_RECEIVE = "return_receive"


ACTIONS: tuple[str, ...] = (
    Action.OFFER, Action.ACCEPT, Action.DECLINE, Action.EXPIRE_OFFER, Action.ASSIGN, Action.READY, Action.PICK_UP,
    Action.UNDO_PICK_UP, Action.DELIVER, Action.CANCEL, Action.FAIL, Action.RETRY, Action.RETURN_START,
    Action.RETURN_RECEIVE,
)

_BEFORE_PICK_UP = (S.CREATED, S.OFFERED, S.ASSIGNED, S.READY)

TRANSITIONS: dict[tuple[str, str], str] = {
    (S.CREATED, Action.OFFER): S.OFFERED,
    (S.OFFERED, Action.OFFER): S.OFFERED,  # a new offer replaces the open one (services/offers.py)
    (S.OFFERED, Action.ACCEPT): S.ASSIGNED,
    (S.OFFERED, Action.DECLINE): S.CREATED,  # auto-dispatch then offers it to the next rider
    (S.OFFERED, Action.EXPIRE_OFFER): S.CREATED,
    # A bag marked ready before anyone took it stays ready through its offers: `ready` is what the counter needs.
    (S.OFFERED, Action.READY): S.READY,
    (S.READY, Action.OFFER): S.READY,
    (S.READY, Action.ACCEPT): S.READY,
    (S.READY, Action.DECLINE): S.READY,
    (S.READY, Action.EXPIRE_OFFER): S.READY,
    (S.CREATED, Action.ASSIGN): S.ASSIGNED,
    (S.OFFERED, Action.ASSIGN): S.ASSIGNED,  # a dispatcher's direct assignment overrides an open offer
    (S.ASSIGNED, Action.ASSIGN): S.ASSIGNED,
    (S.READY, Action.ASSIGN): S.READY,
    (S.CREATED, Action.READY): S.READY,
    (S.ASSIGNED, Action.READY): S.READY,
    (S.READY, Action.PICK_UP): S.PICKED_UP,
    (S.PICKED_UP, Action.UNDO_PICK_UP): S.READY,
    (S.PICKED_UP, Action.DELIVER): S.DELIVERED,
    **{(s, Action.CANCEL): S.CANCELLED for s in (*_BEFORE_PICK_UP, S.PICKED_UP)},
    (S.PICKED_UP, Action.FAIL): S.FAILED,
    (S.FAILED, Action.RETRY): S.PICKED_UP,
    (S.FAILED, Action.RETURN_START): S.RETURNING,
    (S.RETURNING, Action.RETURN_RECEIVE): S.RETURNED,
}

# Where the rider holds the address (a live grant, the page, the socket's tiers). Every other status is an
# exit or not yet theirs: leaving this set ends their access through `rider_access_revoke`.
RIDER_ACTIVE = (S.ASSIGNED, S.READY, S.PICKED_UP)
TERMINAL = (S.DELIVERED, S.RETURNED, S.CANCELLED)

ACTION_TEXT = {
    Action.OFFER: pgettext_lazy("order action", "offered to a rider"),
    Action.ACCEPT: pgettext_lazy("order action", "accepted"),
    Action.DECLINE: pgettext_lazy("order action", "declined"),
    Action.EXPIRE_OFFER: pgettext_lazy("order action", "left to expire as an offer"),
    Action.ASSIGN: pgettext_lazy("order action", "assigned"),
    Action.READY: pgettext_lazy("order action", "marked ready"),
    Action.PICK_UP: pgettext_lazy("order action", "picked up"),
    Action.UNDO_PICK_UP: pgettext_lazy("order action", "taken back at the counter"),
    Action.DELIVER: pgettext_lazy("order action", "delivered"),
    Action.CANCEL: pgettext_lazy("order action", "cancelled"),
    Action.FAIL: pgettext_lazy("order action", "marked as failed"),
    Action.RETRY: pgettext_lazy("order action", "sent out again"),
    Action.RETURN_START: pgettext_lazy("order action", "sent back to the store"),
    Action.RETURN_RECEIVE: pgettext_lazy("order action", "received back at the store"),
}


def next_status(status: str, action: str) -> str | None:
    """The status `action` leads to from `status`, or None where the table has no such move."""
    return TRANSITIONS.get((str(status), action))


def status_text(status: str) -> str:
    try:
        return str(S(status).label)
    except ValueError:
        return str(status)


def transition_check(status: str, action: str) -> str:
    """The next status, or DomainError `wrong_state` (409) naming the status and the action."""
    if action not in ACTION_TEXT:
        raise ValueError(f"unknown action {action!r}")
    nxt = next_status(status, action)
    if nxt is None:
        raise DomainError(
            _("An order that is %(status)s cannot be %(action)s.")
            % {"status": status_text(status), "action": ACTION_TEXT[action]},
            code="wrong_state",
        )
    return nxt


# The merchant's webhook event a move emits (services/webhooks.py); the moves missing here emit none.
WEBHOOK_TYPES = {
    Action.ASSIGN: "order.assigned",
    Action.READY: "order.ready",
    Action.UNDO_PICK_UP: "order.ready",  # the counter took the bag back: ready again
    Action.PICK_UP: "order.picked_up",
    Action.RETRY: "order.picked_up",  # a failed order out on the road again
    Action.DELIVER: "order.delivered",
    Action.FAIL: "order.failed",
    Action.RETURN_RECEIVE: "order.returned",
    Action.CANCEL: "order.cancelled",
}


def transition(order: Order, action: str) -> str:
    """Move `order` (locked by the caller) by `action`: sets `order.status` and returns the previous status.
    The caller saves the order (with its own timestamps and reason codes) in the same transaction, then calls
    `orders.order_event`, which writes the move's webhook deliveries (`webhook_type`, set here) from the saved
    order."""
    previous = order.status
    order.status = transition_check(previous, action)
    if action in WEBHOOK_TYPES:
        order.webhook_type = WEBHOOK_TYPES[action]
    return previous
