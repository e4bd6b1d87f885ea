"""The strict input fields, so bad input is a 400 and never a 500, and the output fields every response shares.

Every input field is one of the strict classes below: a JSON boolean is never a number, a number is never
text, and text holds no control or invisible formatting character (`dispatch/text.py`)."""

from __future__ import annotations

import math
from datetime import datetime

from rest_framework import serializers

from ..text import text_problem

TEXT_ERRORS = {
    "not_text": "Send text (a JSON string).",
    "control": "Remove the control character {char}.",
    "invisible": "Remove the invisible formatting character {char} (such as a right-to-left override): "
                 "it can make the text print differently from how it reads.",
}


class _StrictText:
    """Only a string, and one with no control or invisible formatting character (`multiline` allows tab and
    line breaks)."""

    multiline = False

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_text")  # type: ignore[attr-defined]
        problem = text_problem(data, multiline=self.multiline)
        if problem:
            self.fail(problem[0], char=problem[1])  # type: ignore[attr-defined]
        return super().to_internal_value(data)  # type: ignore[misc]


class StrictCharField(_StrictText, serializers.CharField):
    default_error_messages = TEXT_ERRORS

    def __init__(self, *, multiline: bool = False, **kwargs):
        self.multiline = multiline
        super().__init__(**kwargs)


class StrictRegexField(_StrictText, serializers.RegexField):
    default_error_messages = TEXT_ERRORS


class StrictIntegerField(serializers.IntegerField):
    """A JSON integer, never a boolean, a fraction or a string (`strings=True` for query parameters: digits only)."""

    default_error_messages = {"invalid": "Send a whole number."}

    def __init__(self, *, strings: bool = False, **kwargs):
        self.strings = strings
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, str) and self.strings and data.strip().lstrip("-").isdecimal() and data.isascii():
            return super().to_internal_value(data)
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictFloatField(serializers.FloatField):
    """A finite JSON number, never a boolean or a string."""

    default_error_messages = {"invalid": "Send a number."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int | float) or not math.isfinite(data):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """A JSON true or false, never 1, "yes" or "on"."""

    default_error_messages = {"invalid": "Send true or false."}

    def to_internal_value(self, data):
        if not isinstance(data, bool):
            self.fail("invalid")
        return data




# --- Output ----------------------------------------------------------------------------------
class IsoDateTimeField(serializers.DateTimeField):
    """A time as `datetime.isoformat()` writes it, in the zone it was stored in (UTC, `+00:00`): the API's
    times have always had this form, and the pages parse it as it is."""

    def to_representation(self, value):
        if isinstance(value, datetime):
            return value.isoformat()
        return value


class OmitNoneSerializer(serializers.Serializer):
    """A shape with optional fields (`required=False`) that are left out, not null, when there is nothing to
    show: name them in `omit_none`."""

    omit_none: tuple[str, ...] = ()

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.omit_none:
            if data.get(name) is None:
                data.pop(name, None)
        return data
