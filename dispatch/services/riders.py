from __future__ import annotations

from django.db import transaction

from ..models import Rider
from .audit import audit_record


@transaction.atomic
def rider_duty_set(*, rider: Rider, on_duty: bool) -> Rider:
    """Off duty, no position is recorded, and the last known position is forgotten."""
    rider.on_duty = on_duty
    fields = ["on_duty"]
    if not on_duty:
        rider.last_lat = rider.last_lng = rider.cell = None
        fields += ["last_lat", "last_lng", "cell"]
    rider.save(update_fields=fields)
    audit_record(actor=rider.user, action="rider.duty", data={"on_duty": on_duty})
    return rider
