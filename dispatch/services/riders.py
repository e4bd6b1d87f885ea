from __future__ import annotations

from django.db import transaction

from ..models import Rider
from .audit import audit_record
from .events import event_publish, group_rider
from .offers import rider_offers_release


@transaction.atomic
def rider_duty_set(*, rider: Rider, on_duty: bool) -> Rider:
    """Off duty, no position is recorded, and the last known position is forgotten.

    Every open socket of the rider is told (`rider.duty` on the rider's group, through the channel layer, so
    every process's sockets): each adopts the flag for its next ping and the phone stops sharing its position.
    Publishing to the rider's group also bumps their context version, and a context reload re-reads the flag
    (`live/contexts.py`): a process that missed the message still refuses within the version check's period."""
    rider.on_duty = on_duty
    fields = ["on_duty"]
    if not on_duty:
        rider.last_lat = rider.last_lng = rider.cell = None
        fields += ["last_lat", "last_lng", "cell"]
    rider.save(update_fields=fields)
    audit_record(actor=rider.user, action="rider.duty", data={"on_duty": on_duty})
    if not on_duty:
        rider_offers_release(rider=rider)  # an offer to someone off duty goes back, or on to the next rider
    event_publish(groups=[group_rider(rider.pk)], type="rider.duty", payload={"on_duty": on_duty})
    return rider
