"""What the holder of a tracking link (the customer) sees: the PIN, who saw the address when, whom to reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from .. import tokens
from ..models import AuditEvent, Grant, GrantScope, Order, OrderStatus, Tier
from .exits import DoorWait, OrderExit, door_wait, order_exit

NO_PIN = (OrderStatus.DELIVERED, OrderStatus.RETURNING, OrderStatus.RETURNED, OrderStatus.CANCELLED)


@dataclass(frozen=True)
class AddressSeen:
    tier: str
    at: datetime
    by: str  # "your rider", "your first rider", "your current rider"...: never a name or an id
    rider: int = 1  # which of the order's riders, in the order they were given it (1 is the first)
    current: bool = True  # the rider who holds the order now


@dataclass(frozen=True)
class AccessEnded:
    at: datetime
    by: str
    rider: int | None  # None: a rider the order's grants do not show (none is expected)
    current: bool


@dataclass(frozen=True)
class Tracking:
    """The link holder's view. The PIN is derived from the token: it exists nowhere else."""

    order: Order
    delivery_pin: str | None
    call_number: str | None
    address_seen: list[AddressSeen]
    access_revoked_at: list[datetime]
    access_ended: list[AccessEnded]
    access_ends_at: datetime | None
    reach: dict[str, bool]
    door_wait: DoorWait | None = None
    exit: OrderExit | None = None
    pod_photo: bool = False  # a delivery photo the link may show (GET /api/track/<token>/pod/photo/)
    feedback: Any = None  # models.CustomerFeedback once sent; None before
    feedback_open: bool = False  # delivered and none sent yet


def tracking(order: Order, *, token: str) -> Tracking:
    from ..services.calls import live_sessions

    grants = list(Grant.objects.filter(order=order, scope=GrantScope.ADDRESS).order_by("pk")
                  .values_list("principal_id", "tier", "created_at"))
    current = order.rider.user_id if order.rider_id else None
    labels = rider_labels(list(dict.fromkeys(user for user, _tier, _at in grants)), current=current)
    reveals = [AddressSeen(Tier(tier).label, at, labels[user][2], labels[user][0], labels[user][1])
               for user, tier, at in grants if tier is not None and tier > Tier.AREA]
    ended = [(at, data.get("user")) for at, data in
             AuditEvent.objects.filter(order=order, action="access.revoked").order_by("pk").values_list("at", "data")]
    lapsed, access_ends_at = _rider_access_deadline(order)
    if lapsed is not None:  # past its end, not yet swept: refused at every read already, so listed as ended
        ended.append((lapsed, current))
    unknown = (None, False, _("your rider"))
    access_ended = [AccessEnded(at, labels.get(user, unknown)[2], labels.get(user, unknown)[0],
                                labels.get(user, unknown)[1]) for at, user in ended]
    session = live_sessions().filter(order=order, rider_id=order.rider_id).first() if order.rider_id else None
    return Tracking(
        order=order,
        delivery_pin=tokens.delivery_pin(token) if order.status not in NO_PIN else None,
        call_number=session.proxy_number if session else None,
        address_seen=reveals,
        access_revoked_at=[e.at for e in access_ended],
        access_ended=access_ended,
        access_ends_at=access_ends_at,
        reach=_reach(order, role="customer", token=token),
        door_wait=door_wait(order),
        exit=order_exit(order),
        **_after_delivery(order),
    )


def _after_delivery(order: Order) -> dict[str, Any]:
    """The delivery photo and the feedback, once delivered (no query before)."""
    if order.status != OrderStatus.DELIVERED:
        return {}
    from .pod import feedback_sent, order_proof

    view = order_proof(order)
    sent = feedback_sent(order)
    return {"pod_photo": bool(view and view.photo), "feedback": sent, "feedback_open": sent is None}


_ORDINALS = {1: gettext_noop("your first rider"), 2: gettext_noop("your second rider"),
             3: gettext_noop("your third rider"), 4: gettext_noop("your fourth rider"),
             5: gettext_noop("your fifth rider")}


def rider_labels(riders: list[int], *, current: int | None) -> dict[int, tuple[int, bool, str]]:
    """For the customer: each of the order's riders (accounts, in the order they were given it) as (place,
    holds it now, label). One rider is "your rider"; with several, the one who holds the order now is "your
    current rider" and the others "your first rider", "your second rider"... by their place. Labels in the
    request's language; never a name or an id."""
    labels = {}
    for place, user in enumerate(riders, start=1):
        if len(riders) == 1:
            label = _("your rider")
        elif user == current:
            label = _("your current rider")
        elif place in _ORDINALS:
            label = _(_ORDINALS[place])
        else:
            label = _("your rider no. %(n)s") % {"n": place}
        labels[user] = (place, user == current, label)
    return labels


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
    from ..services.rtc import Caller, reachable

    return reachable(party=Caller(role, user=user, token=token), order=order)
