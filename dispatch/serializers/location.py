"""The rider's position report: `LocationIn`, its fast twin for the socket (`location_in_fast`), and the ack."""

from __future__ import annotations

import math

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .fields import StrictBooleanField, StrictFloatField, StrictIntegerField


@extend_schema_field({"oneOf": [{"type": "number"}, {"type": "string", "format": "date-time"}]})
class TimestampField(serializers.Field):
    """Epoch seconds, epoch milliseconds (as browsers report), or ISO 8601 with an offset."""

    default_error_messages = {
        "invalid": "Send epoch seconds or milliseconds, or an ISO 8601 time with an offset.",
        "naive": "The time needs an offset.",
    }

    def to_internal_value(self, data) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | float):
            value = float(data)
        elif isinstance(data, str):
            from datetime import datetime

            try:
                parsed = datetime.fromisoformat(data)
            except ValueError:
                self.fail("invalid")
            if parsed.tzinfo is None:
                self.fail("naive")
            value = parsed.timestamp()
        else:
            self.fail("invalid")
        if value != value or value in (float("inf"), float("-inf")):
            self.fail("invalid")
        return value / 1000.0 if value > 1e11 else value

    def to_representation(self, value):
        return value


class LocationIn(serializers.Serializer):
    lat = StrictFloatField(min_value=-90, max_value=90)
    lng = StrictFloatField(min_value=-180, max_value=180)
    accuracy = StrictFloatField(min_value=0, max_value=100_000)
    timestamp = TimestampField()
    seq = StrictIntegerField(min_value=0)
    here = StrictBooleanField(required=False, default=False)


_LOCATION_FLOATS = (("lat", -90, 90), ("lng", -180, 180), ("accuracy", 0, 100_000))
_SEQ_MAX = 2**63 - 1


def location_in_fast(message: dict) -> dict | None:
    """`LocationIn`'s validated data for the common ping (plain JSON numbers in range, `here` a boolean or
    absent), in a few microseconds; None for anything else, which then goes through `LocationIn` itself (for
    its verdict and its error messages). So it accepts nothing the serializer refuses and returns what the
    serializer would (tests/test_location_in_fast.py compares both on generated messages)."""
    out: dict = {}
    for name, low, high in _LOCATION_FLOATS:
        value = message.get(name)
        kind = type(value)
        if kind is float:
            if not low <= value <= high:  # NaN and infinities fail this too
                return None
        elif kind is int:
            if not low <= value <= high:
                return None
            value = float(value)
        else:
            return None
        out[name] = value
    ts = message.get("timestamp")
    kind = type(ts)
    if kind is int:
        if not -_SEQ_MAX <= ts <= _SEQ_MAX:
            return None
        ts = float(ts)
    elif kind is not float or not math.isfinite(ts):
        return None
    out["timestamp"] = ts / 1000.0 if ts > 1e11 else ts
    seq = message.get("seq")
    if type(seq) is not int or not 0 <= seq <= _SEQ_MAX:
        return None
    out["seq"] = seq
    here = message.get("here", False)
    if type(here) is not bool:
        return None
    out["here"] = here
    return out


class LocationAckOut(serializers.Serializer):
    """The answer to a position report, on the socket and over HTTP."""

    seq = serializers.IntegerField()
    accepted = serializers.BooleanField()
    reason = serializers.CharField()
    tiers = serializers.DictField()
