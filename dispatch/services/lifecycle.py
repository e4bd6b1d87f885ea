"""Revocation and retention. Idempotent: safe to run from a countdown task, a sweep, or both."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from ..models import Event, Grant, LocationFix, Order, Rider, SealedRecord
from .access import rider_access_revoke
from .calls import call_sessions_end_due, call_sids_prune
from .events import event_publish, events_resend_pending, group_track
from .exits import returns_due
from .lines import line_messages_retire
from .offers import offers_expire_due
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
    users = {u.pk: u for u in get_user_model().objects.filter(pk__in={u for _, u in pairs})}
    count = 0
    for order_id_, user_id in sorted(pairs):
        order = Order.objects.get(pk=order_id_)
        count += rider_access_revoke(order=order, user=users[user_id], reason="expired", now=now)
    for order_id_ in sorted({o for o, _ in pairs}):  # the customer's page lists when access ended
        order = Order.objects.only("status", "pickup_code").get(pk=order_id_)
        event_publish(groups=[group_track(order.pk)], type="order.updated",
                      payload={"order": order.pk, "status": order.status, "pickup_code": order.pickup_code})
    return count


def lifecycle_sweep() -> dict[str, int]:
    revoked = access_revoke_due()
    returns = returns_due()  # failed orders whose retry window ran out go back to the store
    offers = offers_expire_due()  # offers whose countdown never ran
    calls = call_sessions_end_due()
    resent = events_resend_pending()  # after the revocations: their events go out in this pass too
    in_app = calls_end_lost_access()
    return {"revoked": revoked, "calls_ended": calls, "in_app_calls_ended": in_app, "events_resent": resent,
            "returns_started": returns, "offers_expired": offers}


def retention_sweep() -> dict[str, int]:
    now = timezone.now()
    shredded = 0
    for order in Order.objects.filter(retention_due_at__lte=now, sealed__shredded_at__isnull=True):
        order_shred(order=order)
        shredded += 1
    history_cutoff = now - timedelta(days=settings.LOCATION_HISTORY_DAYS)
    fixes, _ = LocationFix.objects.filter(received_at__lt=history_cutoff).delete()
    # A rider's last position (a free rider's sparse one included) is kept no longer than the history.
    positions = Rider.objects.filter(last_seen_at__lt=history_cutoff).update(
        last_lat=None, last_lng=None, cell=None, last_seen_at=None)
    events, _ = Event.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    call_sids = call_sids_prune(now=now)
    interactions = interactions_retire(before=now - timedelta(days=settings.RETENTION_DAYS))
    line_messages = line_messages_retire(before=now - timedelta(days=settings.RETENTION_DAYS))
    return {"shredded": shredded, "fixes_deleted": fixes, "positions_cleared": positions, "events_deleted": events,
            "call_sids_deleted": call_sids, "line_messages_deleted": line_messages,
            "interactions_aggregated": sum(interactions.values()),
            "sealed_left": SealedRecord.objects.filter(shredded_at__isnull=True).count()}
