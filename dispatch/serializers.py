"""Input serializers: strict types and ranges, so bad input is a 400 and never a 500."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field, inline_serializer
from rest_framework import serializers


class AddressIn(serializers.Serializer):
    area = serializers.CharField(max_length=120)
    street = serializers.CharField(max_length=200)
    building = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    unit = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    door_code = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    notes = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class CustomerIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    phone = serializers.RegexField(r"^\+?[0-9 ()\-.]{6,24}$", max_length=32,
                                   error_messages={"invalid": "Enter a phone number, digits with an optional +."})
    address = AddressIn()
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)


class ItemIn(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    qty = serializers.IntegerField(min_value=1, max_value=999, default=1)
    sensitive = serializers.BooleanField(default=False)


class ConsentIn(serializers.Serializer):
    number_protection = serializers.BooleanField(default=True)
    marketing = serializers.BooleanField(default=False)


class OrderIn(serializers.Serializer):
    store = serializers.IntegerField(required=False, min_value=1)
    external_ref = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    customer = CustomerIn()
    items = ItemIn(many=True, allow_empty=False, max_length=100)
    consent = ConsentIn(required=False, default=dict)


class OrderCreatedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    pickup_code = serializers.CharField()
    tracking_url = serializers.CharField()
    customer = serializers.DictField()


# A placeholder response schema (an object with an id) still used by a few endpoints.
AnyDict = inline_serializer("AnyObject", fields={"id": serializers.IntegerField()})


class AssignIn(serializers.Serializer):
    rider = serializers.IntegerField(min_value=1)


class BreakGlassIn(serializers.Serializer):
    reason = serializers.CharField(min_length=10, max_length=300)


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
    lat = serializers.FloatField(min_value=-90, max_value=90)
    lng = serializers.FloatField(min_value=-180, max_value=180)
    accuracy = serializers.FloatField(min_value=0, max_value=100_000)
    timestamp = TimestampField()
    seq = serializers.IntegerField(min_value=0)
    here = serializers.BooleanField(required=False, default=False)
