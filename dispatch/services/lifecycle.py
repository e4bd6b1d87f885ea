"""Revocation and retention. Idempotent: safe to run from a countdown task, a sweep, or both."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ..models import Event, Grant, LocationFix, Order, SealedRecord
from .audit import audit_record
from .calls import call_sessions_end_due
from .events import event_publish, group_rider, group_track
from .privacy import order_shred
from .rtc import calls_end_lost_access, interactions_retire


@transaction.atomic
def access_revoke_due(*, order_id: int | None = None) -> int:
    """Mark expired grants revoked and tell the holders' devices to purge."""
    now = timezone.now()
    due = Grant.objects.select_for_update(of=("self",)).filter(revoked_at__isnull=True, expires_at__lte=now)
    if order_id is not None:
        due = due.filter(order_id=order_id)
    pairs = set(due.values_list("order_id", "principal_id"))
    if not pairs:
        return 0
    count = due.update(revoked_at=now)
    for order_id_, user_id in sorted(pairs):
        order = Order.objects.select_related("rider").get(pk=order_id_)
        rider = order.rider if order.rider is not None and order.rider.user_id == user_id else None
        audit_record(action="access.revoked", order=order, data={"user": user_id, "reason": "expired"})
        if rider:
            event_publish(groups=[group_rider(rider.pk)], type="order.revoked", payload={"order": order.pk})
            calls_end_lost_access(order=order)
    for order_id_ in sorted({o for o, _ in pairs}):  # the customer's page lists when access ended
        order = Order.objects.only("status", "pickup_code").get(pk=order_id_)
        event_publish(groups=[group_track(order.pk)], type="order.updated",
                      payload={"order": order.pk, "status": order.status, "pickup_code": order.pickup_code})
    return count


def lifecycle_sweep() -> dict[str, int]:
    revoked = access_revoke_due()
    calls = call_sessions_end_due()
    in_app = calls_end_lost_access()
    return {"revoked": revoked, "calls_ended": calls, "in_app_calls_ended": in_app}


def retention_sweep() -> dict[str, int]:
    now = timezone.now()
    shredded = 0
    for order in Order.objects.filter(retention_due_at__lte=now, sealed__shredded_at__isnull=True):
        order_shred(order=order)
        shredded += 1
    fixes, _ = LocationFix.objects.filter(
        received_at__lt=now - timedelta(days=settings.LOCATION_HISTORY_DAYS)
    ).delete()
    events, _ = Event.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    interactions = interactions_retire(before=now - timedelta(days=settings.RETENTION_DAYS))
    return {"shredded": shredded, "fixes_deleted": fixes, "events_deleted": events,
            "interactions_aggregated": sum(interactions.values()),
            "sealed_left": SealedRecord.objects.filter(shredded_at__isnull=True).count()}
