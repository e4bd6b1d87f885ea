"""The tracking page's message choices: stop messages, and the Web Push subscription."""

from __future__ import annotations

from rest_framework import serializers

from .fields import StrictBooleanField, StrictCharField


class TrackMessagesIn(serializers.Serializer):
    stop = StrictBooleanField(help_text="true: send no more messages about this order (SMS and push). "
                                        "There is no way back from the link.")


class TrackMessagesOut(serializers.Serializer):
    opted_out = serializers.BooleanField()
    push_subscribed = serializers.BooleanField()
    push_key = serializers.CharField(help_text="The VAPID public key to subscribe with; empty without Web Push.")


class PushKeysIn(serializers.Serializer):
    p256dh = StrictCharField(max_length=200)
    auth = StrictCharField(max_length=100)


class PushSubscriptionIn(serializers.Serializer):
    """A browser's PushSubscription.toJSON(), minus its expirationTime."""

    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysIn()

    def validate_endpoint(self, value: str) -> str:
        if not value.startswith("https://"):
            raise serializers.ValidationError("A push endpoint is an https URL.")
        return value
