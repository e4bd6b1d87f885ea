"""The exits from a delivery: cancel, fail, the door wait, the return at the counter; and what the customer's
link says of them."""

from __future__ import annotations

from rest_framework import serializers

from ..services.reasons import CANCEL_REASONS, FAIL_REASONS
from .fields import TEXT_ERRORS, IsoDateTimeField, StrictCharField, StrictRegexField


class StrictChoiceField(serializers.ChoiceField):
    """One of the listed codes, as a JSON string (never a number or a list)."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid_choice", input=type(data).__name__)
        return super().to_internal_value(data)


NOTE_HELP = ("Free text for the people handling the order. Not stored and never audited (it may name a person): "
             "only that a note was given is recorded.")


class CancelIn(serializers.Serializer):
    reason = StrictChoiceField(choices=list(CANCEL_REASONS), help_text="A reason code.")
    note = StrictCharField(max_length=300, required=False, allow_blank=True, multiline=True, help_text=NOTE_HELP)


class FailIn(serializers.Serializer):
    reason = StrictChoiceField(choices=list(FAIL_REASONS), help_text=(
        "`unreachable` needs the store's number of in-app calls to the customer since pick-up and a door wait run "
        "out (409 `no_call_attempts`, `wait_not_over`)."))
    note = StrictCharField(max_length=300, required=False, allow_blank=True, multiline=True, help_text=NOTE_HELP)


class ReturnIn(serializers.Serializer):
    rider_code = StrictRegexField(r"^\s*\d{6}\s*$", error_messages={"invalid": "The rider's code is 6 digits.",
                                                                     **TEXT_ERRORS})


class OrderStatusOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()


class DoorWaitOut(serializers.Serializer):
    started_at = IsoDateTimeField()
    ends_at = IsoDateTimeField()


class DeliveryAttemptOut(serializers.Serializer):
    """What the rider at the door has done towards an "unreachable" report (`selectors.DeliveryAttempt`)."""

    door_wait = DoorWaitOut(allow_null=True, help_text="The door wait once started (it may have run out).")
    door_wait_s = serializers.IntegerField(help_text="The store's door wait, in seconds.")
    call_attempts = serializers.IntegerField(help_text="In-app or masked calls to the customer since pick-up.")
    calls_needed = serializers.IntegerField(help_text="The store's minimum before \"unreachable\" is accepted.")


class DoorWaitStartedOut(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    door_wait = DoorWaitOut()


class OrderExitOut(serializers.Serializer):
    """Why the order left the road, for the customer: a category and words, never a person or a note."""

    status = serializers.CharField()
    category = serializers.ChoiceField(choices=["cancelled_by_store", "cancelled_by_service", "delivery_failed",
                                                "returning", "returned"])
    reason = serializers.CharField(help_text="The reason code (a cancel reason or a failed delivery's), or empty.")
    headline = serializers.CharField()
    detail = serializers.CharField()


class _ReturnStoreOut(serializers.Serializer):
    name = serializers.CharField()
    address = serializers.CharField()
    lat = serializers.FloatField()
    lng = serializers.FloatField()


class RiderReturnOut(serializers.Serializer):
    """A bag the rider is bringing back: the store only, no customer and no destination at all."""

    id = serializers.IntegerField()
    status = serializers.CharField()
    pickup_code = serializers.CharField()
    store = _ReturnStoreOut()
