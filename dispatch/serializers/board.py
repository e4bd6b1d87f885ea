"""The dispatcher's board: riders on duty, the channel layer's drops, break-glass, the interaction log."""

from __future__ import annotations

from rest_framework import serializers

from ..services.fleets import fleet_of
from .fields import IsoDateTimeField, StrictIntegerField


class BoardRiderOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField(source="display_name")
    on_duty = serializers.BooleanField()
    lat = serializers.FloatField(source="last_lat", allow_null=True)
    lng = serializers.FloatField(source="last_lng", allow_null=True)
    at = IsoDateTimeField(source="last_seen_at", allow_null=True, help_text="When the position was reported.")
    fleet = serializers.SerializerMethodField(help_text='"platform", or "merchant:<id>" for a merchant\'s own fleet.')

    def get_fleet(self, rider) -> str:
        return fleet_of(rider)


class SuggestionsIn(serializers.Serializer):
    limit = StrictIntegerField(strings=True, required=False, default=10, min_value=1, max_value=50,
                               help_text="How many riders, best first (1-50, default 10).")


class SuggestionOut(serializers.Serializer):
    """One rider suggested for an order (dispatch/selectors/suggestions.py says how they are ranked)."""

    rider = serializers.IntegerField()
    name = serializers.CharField()
    fleet = serializers.CharField(help_text='"platform" or "merchant:<id>".')
    distance_m = serializers.IntegerField(allow_null=True, help_text="Straight to the store; null: no recent position.")
    load = serializers.IntegerField(help_text="Orders the rider carries now.")
    eta_s = serializers.IntegerField(allow_null=True, help_text="The ride to the store plus 5 minutes per order carried.")


class OverloadOut(serializers.Serializer):
    dropped = serializers.IntegerField()
    by_group = serializers.DictField(child=serializers.IntegerField())


class BreakGlassOut(serializers.Serializer):
    """Renders `(contact, expires_at)` as `services.privacy.order_break_glass` returned them (audited there)."""

    name = serializers.CharField(source="contact.name")
    phone = serializers.CharField(source="contact.phone")
    expires_at = IsoDateTimeField()


class _PartyOut(serializers.Serializer):
    role = serializers.CharField()
    id = serializers.CharField(allow_null=True, help_text="A keyed hash of the party's id, never the id or a number.")


# One call (in-app or by phone) or chat message, for safety review: never content or numbers. Built with type()
# because one field is named "from", a Python keyword.
InteractionOut = type("InteractionOut", (serializers.Serializer,), {
    "__doc__": "One call or chat message, for safety review: roles, hashed ids, times, outcome; never content.",
    "id": serializers.IntegerField(),
    "kind": serializers.CharField(),
    "from": _PartyOut(),
    "to": _PartyOut(),
    "state": serializers.CharField(),
    "started_at": IsoDateTimeField(),
    "duration_s": serializers.IntegerField(allow_null=True),
    "outcome": serializers.CharField(allow_null=True),
    "ended_by": serializers.CharField(allow_null=True),
})
