from django.conf import settings
from django.db import models

from .accounts import Rider, Store
from .orders import Order


class AlertKind(models.TextChoices):
    STALE_DEVICE = "stale_device", "stale device"
    LATE = "late", "late"
    RATE = "rate", "unusual rate"
    SPOOF = "spoof", "spoofing"
    SOS = "sos", "SOS"
    UNASSIGNED = "unassigned", "nobody accepted"
    LOGIN_ATTACK = "login_attack", "login attack"


class Alert(models.Model):
    """Something dispatch must look at: persisted, so it survives reloads, and closed by an acknowledgement
    with a note. `detail` holds codes and counts only, never free text from a customer or a name."""

    kind = models.CharField(max_length=16, choices=AlertKind.choices)
    fleet = models.CharField(max_length=24, default="platform", db_index=True)  # as services.fleets.fleet_of
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
    rider = models.ForeignKey(Rider, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
    store = models.ForeignKey(Store, on_delete=models.SET_NULL, null=True, blank=True, related_name="alerts")
    # Where to show it on the map: an SOS's exact position (the rider's own, not a customer's), else none.
    lat = models.FloatField(null=True, blank=True)
    lng = models.FloatField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    # One open alert per key (e.g. "stale_device:rider:7:order:12"): raising it again updates `last_at`.
    key = models.CharField(max_length=96, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    last_at = models.DateTimeField(auto_now=True)
    count = models.PositiveIntegerField(default=1)
    acked_at = models.DateTimeField(null=True, blank=True, db_index=True)
    acked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                 related_name="+")
    ack_note = models.CharField(max_length=500, blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=models.Q(acked_at__isnull=True), name="uniq_open_alert"),
        ]
