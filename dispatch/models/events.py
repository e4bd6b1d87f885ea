from django.db import models


class Event(models.Model):
    """Outbox of socket events. The id is the sequence number a reconnecting client resumes from.

    Payloads carry ids, states and tiers only, never plain PII: a client re-reads details
    through the grant-checked API.
    """

    group = models.CharField(max_length=80, db_index=True)
    type = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
