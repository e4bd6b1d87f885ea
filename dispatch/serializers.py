"""Input serializers: strict types and ranges, so bad input is a 400 and never a 500.

Every input field is one of the strict classes below: a JSON boolean is never a number, a number is never
text, and text holds no control or invisible formatting character (`dispatch/text.py`)."""

from __future__ import annotations

import math

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .text import text_problem

TEXT_ERRORS = {
    "not_text": "Send text (a JSON string).",
    "control": "Remove the control character {char}.",
    "invisible": "Remove the invisible formatting character {char} (such as a right-to-left override): "
                 "it can make the text print differently from how it reads.",
}


class _StrictText:
    """Only a string, and one with no control or invisible formatting character (`multiline` allows tab and
    line breaks)."""

    multiline = False

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")  # type: ignore[attr-defined]
        problem = text_problem(data, multiline=self.multiline)
        if problem:
            self.fail(problem[0], char=problem[1])  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(_StrictText, serializers.CharField):
    default_error_messages = TEXT_ERRORS

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(**kwargs)


class StrictRegexField(_StrictText, serializers.RegexField):
    default_error_messages = TEXT_ERRORS


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, never a boolean, a fraction or a string (`strings=True` for query parameters: digits only)."""

    default_error_messages = {"invalid": "Send a whole number."}

    def __init__(self, *, strings: bool = False, **kwargs):
        self.strings = strings
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and self.strings and data.strip().lstrip("-").isdecimal() and data.isascii():
            return super().to_internal_value(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A finite JSON number, never a boolean or a string."""

    default_error_messages = {"invalid": "Send a number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, never 1, "yes" or "on"."""

    default_error_messages = {"invalid": "Send true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class AddressIn(serializers.Serializer):
    area = StrictCharField(max_length=120)
    street = StrictCharField(max_length=200)
    building = StrictCharField(max_length=120, required=False, allow_blank=True, default="")
    unit = StrictCharField(max_length=60, required=False, allow_blank=True, default="")
    door_code = StrictCharField(max_length=30, required=False, allow_blank=True, default="")
    notes = StrictCharField(max_length=300, required=False, allow_blank=True, default="", multiline=True)


class CustomerIn(serializers.Serializer):
    name = StrictCharField(max_length=120)
    phone = StrictRegexField(r"^\+?[0-9 ()\-.]{6,24}$", max_length=32,
                             error_messages={"invalid": "Enter a phone number, digits with an optional +."})
    address = AddressIn()
    lat = StrictFloatField(min_value=-90, max_value=90)
    lng = StrictFloatField(min_value=-180, max_value=180)


class ItemIn(serializers.Serializer):
    name = StrictCharField(max_length=200)
    qty = StrictIntegerField(min_value=1, max_value=999, default=1)
    sensitive = StrictBooleanField(default=False)


class ConsentIn(serializers.Serializer):
    number_protection = StrictBooleanField(default=True)
    marketing = StrictBooleanField(default=False)


class OrderIn(serializers.Serializer):
    store = StrictIntegerField(required=False, min_value=1)
    external_ref = StrictCharField(max_length=64, required=False, allow_blank=True, default="")
    customer = CustomerIn()
    items = ItemIn(many=True, allow_empty=False, max_length=100)
    consent = ConsentIn(required=False, default=dict)


# --- Output: the shapes the selectors' views return (documentation; the views build plain dicts) ------------
class ErrorOut(serializers.Serializer):
    """Every 4xx answer (`dispatch/errors.py`)."""

    code = serializers.CharField(help_text="Stable and machine-readable, e.g. `invalid`, `malformed`, `not_found`.")
    detail = serializers.CharField(help_text="For people.")
    errors = serializers.JSONField(required=False, help_text="On 400 `invalid`: the messages per field.")


class NamedOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class CustomerOut(serializers.Serializer):
    display_name = serializers.CharField(help_text='Masked, e.g. "Z**".')
    phone_masked = serializers.CharField(help_text='e.g. "****5678".')


class RiderCustomerOut(CustomerOut):
    phone = serializers.CharField(required=False, help_text="Only when the customer turned number protection off "
                                                            "and the rider holds the order (audited).")


class ItemLineOut(serializers.Serializer):
    name = serializers.CharField()
    qty = serializers.IntegerField()


class ItemsOut(serializers.Serializer):
    count = serializers.IntegerField()
    lines = ItemLineOut(many=True, help_text="Non-sensitive lines only; sensitive items are a category count.")
    sensitive_count = serializers.IntegerField()
    sensitive_summary = serializers.CharField()


class PointOut(serializers.Serializer):
    lat = serializers.FloatField(allow_null=True, help_text="Null once the order's data was shredded.")
    lng = serializers.FloatField(allow_null=True)


class ConsentOut(serializers.Serializer):
    number_protection = serializers.BooleanField(help_text="Off: the assigned rider may see and dial the real number.")
    marketing = serializers.BooleanField()


class MaskedOrderOut(serializers.Serializer):
    """What merchants and dispatchers see: never any address beyond the area."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    external_ref = serializers.CharField()
    pickup_code = serializers.CharField()
    store = NamedOut()
    customer = CustomerOut()
    items = ItemsOut()
    area = serializers.CharField()
    approx = PointOut(help_text="The destination rounded to about 1 km.")
    rider = NamedOut(allow_null=True)
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)
    picked_up_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    consent = ConsentOut()


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
    "started_at": serializers.DateTimeField(),
    "duration_s": serializers.IntegerField(allow_null=True),
    "outcome": serializers.CharField(allow_null=True),
    "ended_by": serializers.CharField(allow_null=True),
})


class StoreOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    address = serializers.CharField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()
    timezone = serializers.CharField()


class DoorPartsOut(serializers.Serializer):
    street = serializers.CharField(allow_blank=True)
    building = serializers.CharField(allow_blank=True)
    unit = serializers.CharField(allow_blank=True)
    door_code = serializers.CharField(allow_blank=True)
    notes = serializers.CharField(allow_blank=True)


class DestinationOut(serializers.Serializer):
    tier = serializers.ChoiceField(choices=["area", "street", "door"])
    text = serializers.CharField(help_text="Only what the tier allows.")
    distance_m = serializers.IntegerField(allow_null=True, help_text="Coarse at `area`, and measured to a point near "
                                                                     "but never at the door.")
    distance_approx = serializers.BooleanField(required=False, help_text="True at `area`: `distance_m` is a coarse "
                                                                         "step to the order's area point, not the door.")
    distance_text = serializers.CharField(required=False, help_text='At `area`: e.g. "about 3 km", "under 1 km".')
    lat = serializers.FloatField(required=False, help_text="From `street` on.")
    lng = serializers.FloatField(required=False, help_text="From `street` on.")
    parts = DoorPartsOut(required=False, help_text="At `door` only: the address as labelled fields.")


class RiderOrderOut(serializers.Serializer):
    """What the assigned rider sees: the address only at the tier they hold."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    pickup_code = serializers.CharField()
    store = StoreOut()
    customer = RiderCustomerOut()
    items = ItemsOut()
    destination = DestinationOut()
    reach = serializers.DictField(child=serializers.BooleanField(), help_text="Whom the rider may call or message "
                                                                             "in the app now, by role.")


class BoardRiderOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    on_duty = serializers.BooleanField()
    lat = serializers.FloatField(allow_null=True)
    lng = serializers.FloatField(allow_null=True)
    at = serializers.DateTimeField(allow_null=True, help_text="When the position was reported.")


class _TrackRiderOut(serializers.Serializer):
    name = serializers.CharField()


class _AddressSeenOut(serializers.Serializer):
    tier = serializers.CharField()
    at = serializers.DateTimeField()
    by = serializers.CharField()


class TrackingOut(serializers.Serializer):
    """What the customer's tracking link shows: a masked rider, the PIN, and who saw the address and when."""

    status = serializers.CharField()
    pickup_code = serializers.CharField()
    store = serializers.CharField()
    rider = _TrackRiderOut(allow_null=True)
    delivery_pin = serializers.CharField(allow_null=True)
    call_number = serializers.CharField(allow_null=True, help_text="The masked proxy number, while a session lives.")
    address_seen = _AddressSeenOut(many=True)
    access_revoked_at = serializers.ListField(child=serializers.DateTimeField(), help_text=(
        "When the rider's access to the address ended: each revocation, and an end already past that the "
        "worker has not yet recorded (refused at every read from that moment)."))
    access_ends_at = serializers.DateTimeField(allow_null=True, help_text=(
        "After delivery, when the rider's remaining access ends; null once it has, or before delivery."))
    expires_at = serializers.DateTimeField()
    consent = ConsentOut()
    order_id = serializers.IntegerField(help_text="Names the order in call and chat messages on the link's socket.")
    reach = serializers.DictField(child=serializers.BooleanField(), help_text="Whom the customer may call or message "
                                                                             "in the app now, by role.")


class OrderCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    pickup_code = serializers.CharField()
    tracking_url = serializers.CharField()
    customer = CustomerOut()


class TokenOut(serializers.Serializer):
    token = serializers.CharField()


class AssignIn(serializers.Serializer):
    rider = StrictIntegerField(min_value=1)


class BreakGlassIn(serializers.Serializer):
    reason = StrictCharField(min_length=10, max_length=300)


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]})
class TimestampField(serializers.Field):
    """Epoch seconds, epoch milliseconds (as browsers report), or ISO 8601 with an offset."""

    default_error_messages = {
        "invalid": "Send epoch seconds or milliseconds, or an ISO 8601 time with an offset.",
        "naive": "The time needs an offset.",
    }

    def to_internal_value(self, data) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float):
            value = float(data)
        elif isinstance(data, str):
            from datetime import datetime

            try:
                parsed = datetime.fromisoformat(data)
            except ValueError:
                self.fail("invalid")
            if parsed.tzinfo is None:
                self.fail("naive")
            value = parsed.timestamp()
        else:
            self.fail("invalid")
        if value != value or value in (float("inf"), float("-inf")):
            self.fail("invalid")
        return value / 1000.0 if value > 1e11 else value

    def to_representation(self, value):
        return value


class LocationIn(serializers.Serializer):
    lat = StrictFloatField(min_value=-90, max_value=90)
    lng = StrictFloatField(min_value=-180, max_value=180)
    accuracy = StrictFloatField(min_value=0, max_value=100_000)
    timestamp = TimestampField()
    seq = StrictIntegerField(min_value=0)
    here = StrictBooleanField(required=False, default=False)


_LOCATION_FLOATS = (("lat", -90, 90), ("lng", -180, 180), ("accuracy", 0, 100_000))
_SEQ_MAX = 2**63 - 1


def location_in_fast(message: dict) -> dict | None:
    """`LocationIn`'s validated data for the common ping (plain JSON numbers in range, `here` a boolean or
    absent), in a few microseconds; None for anything else, which then goes through `LocationIn` itself (for
    its verdict and its error messages). So it accepts nothing the serializer refuses and returns what the
    serializer would (tests/test_location_in_fast.py compares both on generated messages)."""
    out: dict = {}
    for name, low, high in _LOCATION_FLOATS:
        value = message.get(name)
        kind = type(value)
        if kind is float:
            if not low <= value <= high:  # NaN and infinities fail this too
                return None
        elif kind is int:
            if not low <= value <= high:
                return None
            value = float(value)
        else:
            return None
        out[name] = value
    ts = message.get("timestamp")
    kind = type(ts)
    if kind is int:
        if not -_SEQ_MAX <= ts <= _SEQ_MAX:
            return None
        ts = float(ts)
    elif kind is not float or not math.isfinite(ts):
        return None
    out["timestamp"] = ts / 1000.0 if ts > 1e11 else ts
    seq = message.get("seq")
    if type(seq) is not int or not 0 <= seq <= _SEQ_MAX:
        return None
    out["seq"] = seq
    here = message.get("here", False)
    if type(here) is not bool:
        return None
    out["here"] = here
    return out
