from django.db import models


class Event(models.Model):
    """Outbox of socket events. The id is the sequence number a reconnecting client resumes from.

    Payloads carry ids, states and tiers only, never plain PII: a client re-reads details
    through the grant-checked API.

    `pending_send` is True from the write until the after-commit send to the channel layer succeeds; the
    beat sweep resends what stays pending (a send that failed, a process killed between commit and send).
    Without a shared channel layer (EVENTS_RELAY) the relay tails the table and the flag stays False.
    """

    group = models.CharField(max_length=80, db_index=True)
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    pending_send = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["id"], condition=models.Q(pending_send=True), name="event_pending_send")]
