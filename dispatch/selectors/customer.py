"""What the holder of a tracking link (the customer) sees: the PIN, who saw the address when, whom to reach."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from .. import tokens
from ..models import AuditEvent, Grant, GrantScope, Order, OrderStatus, Tier
from .exits import DoorWait, OrderExit, door_wait, order_exit

NO_PIN = (OrderStatus.DELIVERED, OrderStatus.RETURNING, OrderStatus.RETURNED, OrderStatus.CANCELLED)


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
    door_wait: DoorWait | None = None
    exit: OrderExit | None = None


def tracking(order: Order, *, token: str) -> Tracking:
    from ..services.calls import live_sessions

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
        delivery_pin=tokens.delivery_pin(token) if order.status not in NO_PIN else None,
        call_number=session.proxy_number if session else None,
        address_seen=reveals,
        access_revoked_at=revoked,
        access_ends_at=access_ends_at,
        reach=_reach(order, role="customer", token=token),
        door_wait=door_wait(order),
        exit=order_exit(order),
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
    from ..services.rtc import Caller, reachable

    return reachable(party=Caller(role, user=user, token=token), order=order)
