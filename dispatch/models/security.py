from django.db import models
from django.utils import timezone


class FailedAttempt(models.Model):
    """One failed try that a security limit counts (a wrong delivery PIN, a failed pickup lookup or
    handoff), kept in the database so that no restart or cache flush resets a limit. Holds ids only:
    `scope` names the counter, `key` the order, account or store it is counted against."""

    scope = models.CharField(max_length=16)
    key = models.BigIntegerField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["scope", "key", "at"], name="failed_attempt_lookup")]
