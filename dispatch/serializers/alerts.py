"""Dispatch's alerts: the row as the board shows it (the same shape as the `alert` frame's, services.alerts.
alert_out), and the acknowledgement's note."""

from __future__ import annotations

from rest_framework import serializers

from .fields import IsoDateTimeField, StrictCharField, StrictIntegerField


class AlertOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField(help_text="stale_device, late, rate, spoof, sos, unassigned or login_attack.")
    fleet = serializers.CharField(help_text='"platform" or "merchant:<id>".')
    order = serializers.IntegerField(source="order_id", allow_null=True)
    rider = serializers.IntegerField(source="rider_id", allow_null=True)
    store = serializers.IntegerField(source="store_id", allow_null=True)
    lat = serializers.FloatField(allow_null=True, help_text="Where to show it: an SOS's exact position (the rider's).")
    lng = serializers.FloatField(allow_null=True)
    detail = serializers.DictField(help_text="Codes and counts only (reason, minutes late, what, count, window).")
    count = serializers.IntegerField(help_text="How many times it was raised while open.")
    created_at = IsoDateTimeField()
    last_at = IsoDateTimeField()
    acked_at = IsoDateTimeField(allow_null=True)
    ack_note = serializers.CharField()


class AlertListQuery(serializers.Serializer):
    open = StrictIntegerField(strings=True, required=False, min_value=0, max_value=1, default=0,
                              help_text="1: only the alerts not yet acknowledged.")


class AlertAckIn(serializers.Serializer):
    note = StrictCharField(max_length=500, required=False, allow_blank=True, default="", multiline=True,
                           help_text="What was done about it. Required: a blank note is refused (note_required).")
