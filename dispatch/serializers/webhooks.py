"""Webhook endpoints and their deliveries. The secret appears only in `WebhookSecretOut` (create, rotate)."""

from __future__ import annotations

from rest_framework import serializers

from ..services.webhooks import WEBHOOK_TYPES
from .exits import StrictChoiceField
from .fields import IsoDateTimeField, StrictCharField

SHOWN_ONCE_HELP = ("The signing secret (`whsec_...`): shown this once. Verify `X-Delivery-Signature` with it "
                   "(docs/webhooks.md).")


class WebhookIn(serializers.Serializer):
    url = StrictCharField(max_length=500, help_text="http(s) URL of a public address (private ones: 400 unsafe_url).")
    events = serializers.ListField(child=StrictChoiceField(choices=WEBHOOK_TYPES), min_length=1,
                                   max_length=len(WEBHOOK_TYPES), help_text="The event types to receive.")


class WebhookOut(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField()
    events = serializers.ListField(child=serializers.CharField())
    state = serializers.CharField(
        help_text="active; failing after several deliveries in a row failed for good; disabled once deleted.")
    consecutive_failures = serializers.IntegerField()
    previous_secret_expires_at = IsoDateTimeField(source="previous_expires_at", allow_null=True,
                                                  help_text="Until when the secret before the last rotation signs too.")
    last_success_at = IsoDateTimeField(allow_null=True)
    last_failure_at = IsoDateTimeField(allow_null=True)
    created_at = IsoDateTimeField()


class WebhookSecretOut(WebhookOut):
    secret = serializers.CharField(help_text=SHOWN_ONCE_HELP)


class WebhookRotateIn(serializers.Serializer):
    overlap_s = serializers.IntegerField(required=False, min_value=0, max_value=7 * 86400,
                                         help_text="How long the old secret still signs (default 24 h).")


class WebhookDeliveryOut(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField(help_text="The payload's `id`: the same on every attempt and redelivery.")
    type = serializers.CharField()
    order = serializers.IntegerField(source="order_id", allow_null=True)
    state = serializers.CharField(help_text="pending, delivered or failed.")
    attempts = serializers.IntegerField()
    next_attempt_at = IsoDateTimeField(allow_null=True)
    last_attempt_at = IsoDateTimeField(allow_null=True)
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = serializers.CharField(help_text="A code (http_500, unsafe_url, ConnectError, ...): never a body.")
    delivered_at = IsoDateTimeField(allow_null=True)
    created_at = IsoDateTimeField()
