"""Input serializers for the merchant's order, the dispatcher's assignment and break-glass."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import serializers

from .fields import StrictBooleanField, StrictCharField, StrictFloatField, StrictIntegerField, StrictRegexField


class WindowField(serializers.DateTimeField):
    """A scheduled time, ISO 8601 with an offset, within the next 7 days. A time already past is the service's
    `window_in_past` refusal, not a field error."""

    def to_internal_value(self, value):
        at = super().to_internal_value(value)
        if at > timezone.now() + timedelta(days=7):
            raise serializers.ValidationError("Give a time within the next 7 days.")
        return at


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
    language = serializers.ChoiceField(
        choices=["en", "zh-hans"], required=False,
        help_text="The language of the customer's messages; default: the store's.")


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
    promised_at = serializers.DateTimeField(
        required=False, help_text="When the customer was told to expect it (ISO 8601, within the next 2 days). "
                                  "Default: the store's promise, else ORDER_PROMISE_S after the order is made.")

    quote = StrictIntegerField(required=False, min_value=1, help_text="A quote from POST /api/quotes/: its store, "
                               "door and window must match the order's; it can be used once, before it expires.")
    pickup_ready_at = WindowField(required=False, help_text="When the bag will be ready at the counter (ISO 8601).")
    dropoff_deadline = WindowField(required=False, help_text="When it must be at the door: it becomes the promise "
                                                             "(promised_at).")

    def validate_promised_at(self, value):
        now = timezone.now()
        if not now - timedelta(minutes=5) <= value <= now + timedelta(days=2):
            raise serializers.ValidationError("Give a time within the next 2 days.")
        return value


class AssignIn(serializers.Serializer):
    rider = StrictIntegerField(min_value=1)


class BreakGlassIn(serializers.Serializer):
    reason = StrictCharField(min_length=10, max_length=300)


class PinUnlockIn(serializers.Serializer):
    reason = StrictCharField(min_length=3, max_length=300, help_text="Why dispatch clears the lock (audited).")


class PinUnlockOut(serializers.Serializer):
    id = serializers.IntegerField()
    cleared = serializers.IntegerField(help_text="The wrong PINs that were counted against the order.")
