"""The rider's answers besides the order itself: the handoff code, duty, the counter check."""

from __future__ import annotations

from rest_framework import serializers

from ..services.detectors import GEO_STATES
from .exits import StrictChoiceField
from .fields import IsoDateTimeField


class HandoffCodeOut(serializers.Serializer):
    code = serializers.CharField()
    expires_at = IsoDateTimeField()
    qr_svg = serializers.CharField()


class DutyOut(serializers.Serializer):
    on_duty = serializers.BooleanField()


class PickupCheckOut(serializers.Serializer):
    """`services.counter.pickup_code_check`: the order's fields only when the bag is the rider's (absent,
    not null, otherwise)."""

    mine = serializers.BooleanField()
    order = serializers.IntegerField(required=False)
    pickup_code = serializers.CharField(required=False)
    status = serializers.CharField(required=False)


class GeoStateIn(serializers.Serializer):
    """What the rider's app says of its location sharing: the reason a stale device alert gives dispatch."""

    state = StrictChoiceField(choices=list(GEO_STATES), help_text=(
        "sharing, waiting (no GPS fix yet), denied (location permission refused), unavailable (location off), "
        "unsupported, idle (nothing to share) or offline."))


class GeoStateOut(serializers.Serializer):
    state = serializers.CharField()
