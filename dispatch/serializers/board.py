"""The dispatcher's board: riders on duty, the channel layer's drops, break-glass, the interaction log."""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _lazy
from rest_framework import serializers

from ..models import Order
from ..services.fleets import fleet_of
from .fields import IsoDateTimeField, StrictCharField, StrictIntegerField
from .orders import MaskedOrderOut

BOARD_STATUSES = ("created", "offered", "assigned", "ready", "picked_up", "failed", "returning")
_FLEET = re.compile(r"^(platform|merchant:[1-9]\d{0,9})$")


class _StatusListField(StrictCharField):
    """One open status or several, comma-separated (`created,assigned`)."""

    def to_internal_value(self, data):
        parts = [p.strip() for p in super().to_internal_value(data).split(",") if p.strip()]
        wrong = [p for p in parts if p not in BOARD_STATUSES]
        if wrong or not parts:
            raise serializers.ValidationError(_lazy("Use open statuses: %(statuses)s.") % {"statuses": ", ".join(BOARD_STATUSES)})
        return tuple(dict.fromkeys(parts))


class _FleetField(StrictCharField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data).strip()
        if not _FLEET.match(value):
            raise serializers.ValidationError(_lazy('A fleet is "platform" or "merchant:<id>".'))
        return value


class BoardOrdersQuery(serializers.Serializer):
    """`GET /api/dispatch/orders/`'s filters, all optional; the list comes most urgent first either way."""

    status = _StatusListField(max_length=120, required=False,
                              help_text=f"Open statuses, comma-separated: {', '.join(BOARD_STATUSES)}.")
    store = StrictIntegerField(min_value=1, strings=True, required=False, help_text="A store's id.")
    fleet = _FleetField(max_length=24, required=False, help_text='"platform" or "merchant:<id>": the orders its riders '
                        "hold, and the unassigned ones they may take.")
    q = StrictCharField(max_length=12, required=False, allow_blank=True, trim_whitespace=True,
                        help_text="A pickup number: digits alone match it at every store (27: A27, B27), with the "
                                  "store's letter one code.")


class BoardOrderOut(MaskedOrderOut):
    """An open order on the board: the masked order, when it is due, whether it is late, its rider's fleet."""

    due_at = IsoDateTimeField(help_text="Once a rider holds it, the time promised to the customer (promised_at, as "
                                        "the late alert); while unassigned, placed + ORDER_ASSIGN_DUE_MIN (a "
                                        "scheduled order: from SCHEDULE_OFFER_LEAD_S before its pickup_ready_at), "
                                        "or the promise if sooner.")
    late = serializers.BooleanField(help_text="Past due_at now.")
    fleet = serializers.SerializerMethodField(help_text='The rider\'s fleet ("platform" or "merchant:<id>"); null '
                                                        "while unassigned.")

    def get_fleet(self, order: Order) -> str | None:
        return fleet_of(order.rider) if order.rider_id else None


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


class LineOut(serializers.Serializer):
    """A rider's line to dispatch, as the board lists it: whose, counts and times. No message text (that is read,
    audited, on the socket), no customer data."""

    rider = serializers.IntegerField(source="rider_id", help_text="The rider whose line it is (the line's id).")
    name = serializers.CharField(source="rider.display_name")
    fleet = serializers.SerializerMethodField(help_text='The rider\'s fleet: "platform" or "merchant:<id>".')
    on_duty = serializers.BooleanField(source="rider.on_duty")
    messages = serializers.IntegerField(help_text="Chat messages on the line (both ways), as logged.")
    calls = serializers.IntegerField(help_text="In-app calls on the line, as logged.")
    created_at = IsoDateTimeField()
    last_at = IsoDateTimeField(help_text="The last call or message; when the line was made if none.")

    def get_fleet(self, line) -> str:
        return fleet_of(line.rider)


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


class _DropsOut(serializers.Serializer):
    dropped = serializers.IntegerField()
    by_group = serializers.DictField(child=serializers.IntegerField())


class OverloadOut(_DropsOut):
    """`dropped` and `by_group`: this server process's count since it started; `all_servers`: every server's,
    summed through the shared cache (Redis when REDIS_URL is set), up to OVERFLOW_FLUSH_S behind."""

    all_servers = _DropsOut(help_text="Every server process's drops, summed (since the shared cache was emptied).")


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
