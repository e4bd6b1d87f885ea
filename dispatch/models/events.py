from django.db import models


class Event(models.Model):
    """Outbox of socket events. The id is the sequence number a reconnecting client resumes from.

    Payloads carry ids, states and tiers only, never plain PII: a client re-reads details
    through the grant-checked API.

    `sent_at` is the database's time of the send to the channel layer, null until it succeeds: the beat
    sweep resends what stays null (a send that failed, a process killed between commit and send), and a
    resume replays events sent after the client's last one even when their seq is lower. Without a
    shared channel layer (EVENTS_RELAY) the relay tails the table and `sent_at` is the creation time.
    """

    group = models.CharField(max_length=80, db_index=True)
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["id"], condition=models.Q(sent_at__isnull=True), name="event_unsent")]
