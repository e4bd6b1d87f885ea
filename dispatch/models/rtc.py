from django.db import models

from .orders import Order


class Party(models.TextChoices):
    RIDER = "rider"
    CUSTOMER = "customer"
    STORE = "store"
    DISPATCH = "dispatch"
    SYSTEM = "system"


class InteractionKind(models.TextChoices):
    CALL = "call"  # in-app voice over WebRTC
    PHONE = "phone"  # the proxy-number fallback
    CHAT = "chat"


class Interaction(models.Model):
    """The safety-review log of one call or chat message: roles, hashed ids, times, outcome. Never content or numbers.

    A live in-app call is also its own signalling state: `state` and the two sockets' channel names."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="interactions", null=True, blank=True)
    # Or, with no order: a rider's line to dispatch (models/safety.py), which carries no customer data.
    line = models.ForeignKey("RiderLine", on_delete=models.CASCADE, related_name="interactions", null=True, blank=True)
    kind = models.CharField(max_length=8, choices=InteractionKind.choices)
    caller_role = models.CharField(max_length=10, choices=Party.choices)
    caller_hash = models.CharField(max_length=16)
    callee_role = models.CharField(max_length=10, choices=Party.choices)
    callee_hash = models.CharField(max_length=16, blank=True, default="")
    state = models.CharField(max_length=10, default="ringing")  # ringing, connected, ended
    outcome = models.CharField(max_length=12, blank=True, default="")  # completed, declined, missed, busy, ...
    ended_by = models.CharField(max_length=10, blank=True, default="")
    started_at = models.DateTimeField(auto_now_add=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    caller_channel = models.CharField(max_length=120, blank=True, default="")
    callee_channel = models.CharField(max_length=120, blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["order", "state"])]


class ChatMessage(models.Model):
    """One chat message, sealed under the order's data key: shredding the order makes it unreadable (or under a
    rider line's key)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="chat_messages", null=True, blank=True)
    # Or a rider's line to dispatch: sealed under the line's key instead.
    line = models.ForeignKey("RiderLine", on_delete=models.CASCADE, related_name="chat_messages", null=True, blank=True)
    sender = models.CharField(max_length=10, choices=Party.choices)
    recipient = models.CharField(max_length=10, choices=Party.choices)
    sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)
