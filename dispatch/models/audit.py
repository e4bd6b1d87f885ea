from django.conf import settings
from django.db import models


class AuditHead(models.Model):
    """Singleton row locked while appending, so the hash chain stays linear."""

    last_hash = models.CharField(max_length=64, default="0" * 64)


class AuditEvent(models.Model):
    """Append-only, hash-chained. `data` never holds plaintext PII."""

    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True)
    actor_label = models.CharField(max_length=150, blank=True, default="")
    action = models.CharField(max_length=48, db_index=True)
    order = models.ForeignKey("dispatch.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="audit")
    data = models.JSONField(default=dict)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["id"]
        # (action, at): the alert sweep counts one action's events within a window (services/detectors.py).
        indexes = [models.Index(fields=["order", "action"]), models.Index(fields=["action", "at"])]
