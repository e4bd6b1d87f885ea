from django.db import models

from .accounts import Merchant
from .orders import Order


class WebhookEndpointState(models.TextChoices):
    ACTIVE = "active", "active"
    FAILING = "failing", "failing"  # WEBHOOK_FAILING_AFTER deliveries in a row failed for good: still sent to
    DISABLED = "disabled", "disabled"  # deleted by the merchant: kept for its delivery log's foreign keys, never sent to


class WebhookEndpoint(models.Model):
    """A merchant's receiver. The signing secret is sealed (AES-GCM under a sub-key of TOKEN_DIGEST_KEY,
    services/webhooks.py): shown once at creation and rotation, never logged, never in a response after."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    events = models.JSONField(default=list)  # the subscribed types (services.webhooks.WEBHOOK_TYPES)
    secret_sealed = models.BinaryField()
    # Rotation: the previous secret still signs (a second v1=) until previous_expires_at.
    previous_secret_sealed = models.BinaryField(null=True, blank=True)
    previous_expires_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=8, choices=WebhookEndpointState.choices, default=WebhookEndpointState.ACTIVE)
    consecutive_failures = models.PositiveIntegerField(default=0)  # deliveries failed for good in a row
    failed_total = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "state"], name="hook_merchant_state")]


class WebhookDeliveryState(models.TextChoices):
    PENDING = "pending", "pending"
    DELIVERED = "delivered", "delivered"
    FAILED = "failed", "failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint, written in the transaction that changed the order (an outbox row). The body
    is fixed at creation (`payload`), so a retry or a redelivery sends the same event id and the same bytes'
    meaning; `next_attempt_at` is the due time the beat sweep picks up (no long countdowns)."""

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    event_id = models.CharField(max_length=40, unique=True)
    type = models.CharField(max_length=32)
    payload = models.JSONField()  # {id, type, created_at, data}: ids, codes and timestamps only
    state = models.CharField(max_length=10, choices=WebhookDeliveryState.choices, default=WebhookDeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    first_attempt_at = models.DateTimeField(null=True, blank=True)  # the 24 h retry window counts from here
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")  # a code or an exception class, no body
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="hook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="hook_delivery_log"),
        ]
