"""The merchant portal's order view: the masked order, the store's pin, the rider's cell while the bag is on the
road, and the timeline. Renders `selectors.portal.PortalOrder`."""

from __future__ import annotations

from rest_framework import serializers

from .fields import IsoDateTimeField
from .orders import MaskedOrderOut


class _StorePinOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class RiderAreaOut(serializers.Serializer):
    lat = serializers.FloatField(help_text="The centre of the rider's grid cell (about 1.1 × 0.7 km), never a fix.")
    lng = serializers.FloatField()
    at = IsoDateTimeField(help_text="The minute of the rider's last position.")


class TimelineStepOut(serializers.Serializer):
    status = serializers.CharField(help_text="created, assigned, ready, picked_up, delivered, failed, "
                                                         "returning, returned or cancelled.")
    at = IsoDateTimeField()


class PortalOrderOut(serializers.Serializer):
    order = MaskedOrderOut()
    store = _StorePinOut(source="order.store")
    rider_area = RiderAreaOut(allow_null=True, help_text=(
        "Only while the rider carries the bag (picked_up) and has been seen in the last 5 minutes: the rider's "
        "grid cell. Null before pick-up, after the order leaves the road, and when the position is stale."))
    timeline = TimelineStepOut(many=True, help_text="The steps the order has taken, oldest first.")
