"""The one way a party loses an order: reassignment, cancel and expiry all come through here."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from ..models import Grant, Order, OrderStatus, Rider
from .audit import audit_record
from .calls import call_sessions_end
from .events import event_publish, group_rider
from .rtc import calls_end_lost_access


@transaction.atomic
def rider_access_revoke(*, order: Order, user, reason: str, now: datetime) -> int:
    """Revoke `user`'s grants on `order`, end their call sessions (proxy and in-app) on it, write one `access.revoked` and tell
    their devices to purge (`order.revoked` to the rider's group), all in the caller's transaction.

    With reason "expired" only the grants already past their `expires_at` are revoked (a break-glass grant
    given later keeps its own end); otherwise every grant the user still holds. The one session that outlives
    the grants is a delivered order's after-sales call: it keeps the end set at delivery (delivered +
    CALL_WINDOW_S, never past the session's absolute end), which the sweep and every call check. Idempotent:
    nothing left to revoke writes nothing. Returns the number of grants revoked."""
    grants = Grant.objects.filter(order=order, principal=user, revoked_at__isnull=True)
    if reason == "expired":
        grants = grants.filter(expires_at__lte=now)
    revoked = grants.update(revoked_at=now)
    rider = Rider.objects.filter(user=user).first()
    after_sales = reason == "expired" and order.status == OrderStatus.DELIVERED
    ended = 0
    if rider is not None and not after_sales:
        ended = call_sessions_end(order=order, rider=rider, reason=reason, now=now)
    if not (revoked or ended):
        return 0
    audit_record(action="access.revoked", order=order,
                 data={"user": user.pk, "rider": rider.pk if rider else None, "reason": reason})
    if rider is not None:
        event_publish(groups=[group_rider(rider.pk)], type="order.revoked",
                      payload={"order": order.pk, "reason": reason})  # a code: the app words its purge notice
    calls_end_lost_access(order=order)  # an in-app call the party was in ends with their access
    return revoked
