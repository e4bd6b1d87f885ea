"""Messages to the customer (services/notify.py): the outbox of SMS and Web Push, and the customer's choices.

No row holds a phone number, a name, an address, a tracking link or a PIN in plain: a message body and a push
subscription are sealed under the order's data key (services/privacy.py), so shredding the order makes them
unreadable; a number is kept only as a keyed digest, to honour a STOP that arrives from it."""

from django.db import models

from .orders import Order


class MessageKind(models.TextChoices):
    RECEIVED = "received"  # the order is in: the tracking link (and the PIN where the store asks for one)
    NEARBY = "nearby"  # the rider is at the door tier, or courier imminent
    DELIVERED = "delivered"
    FAILED = "failed"  # with the next steps
    MARKETING = "marketing"  # never without the order's marketing consent


class MessageChannel(models.TextChoices):
    SMS = "sms"
    PUSH = "push"


class MessageState(models.TextChoices):
    QUEUED = "queued"
    SENT = "sent"  # handed to the provider
    DELIVERED = "delivered"  # the provider's callback says so
    FAILED = "failed"  # the provider refused it, or retries ran out
    SUPPRESSED = "suppressed"  # not sent: opted out, shredded, no consent, no provider (see `reason`)


class CustomerMessage(models.Model):
    """One message to an order's customer. The sandbox provider's outbox is this table (GET /dev/outbox/)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=12, choices=MessageKind.choices)
    channel = models.CharField(max_length=8, choices=MessageChannel.choices, default=MessageChannel.SMS)
    marketing = models.BooleanField(default=False)
    language = models.CharField(max_length=8)
    provider = models.CharField(max_length=8)
    # The body, sealed under the order's data key (label "message:<kind>:<channel>"): it may hold the tracking
    # link and the PIN, both bearer secrets. Shredding the order's key makes it unreadable.
    sealed_body = models.BinaryField(null=True)
    state = models.CharField(max_length=12, choices=MessageState.choices, default=MessageState.QUEUED)
    reason = models.CharField(max_length=32, blank=True, default="")  # why suppressed or failed: a code
    provider_ref = models.CharField(max_length=64, null=True, blank=True, unique=True)  # Twilio's MessageSid
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    state_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="message_state")]
        constraints = [models.UniqueConstraint(fields=["order", "kind", "channel"], name="message_once_per_kind")]


class MessagePrefs(models.Model):
    """An order's customer and their messages: the language, a keyed digest of the number (to match a STOP
    reply), the PIN sealed for the "nearby" message (the PIN derives from the link, which the server keeps
    no copy of), and an opt-out from the tracking page."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="message_prefs")
    language = models.CharField(max_length=8)
    phone_digest = models.CharField(max_length=64, db_index=True)
    sealed_pin = models.BinaryField(null=True)
    opted_out_at = models.DateTimeField(null=True, blank=True)


class MessageOptOut(models.Model):
    """A number that replied STOP: nothing more is sent to it, for any order, until it replies START."""

    phone_digest = models.CharField(max_length=64, unique=True)
    at = models.DateTimeField()


class PushSubscription(models.Model):
    """A tracking page's Web Push subscription (endpoint and keys sealed under the order's data key)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="push_subscriptions")
    sealed = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)  # the push service said gone (404/410), or opt-out
