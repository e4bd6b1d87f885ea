"""Shapes every part of the API shares: the error body, a named reference, the API token."""

from __future__ import annotations

from rest_framework import serializers


class ErrorOut(serializers.Serializer):
    """Every 4xx answer (`dispatch/errors.py`)."""

    code = serializers.CharField(help_text="Stable and machine-readable, e.g. `invalid`, `malformed`, `not_found`.")
    detail = serializers.CharField(help_text="For people.")
    errors = serializers.JSONField(required=False, help_text="On 400 `invalid`: the messages per field.")


class NamedOut(serializers.Serializer):
    """A store (or any row with an id and a name)."""

    id = serializers.IntegerField()
    name = serializers.CharField()


class RiderNamedOut(NamedOut):
    """A rider, by the name they chose to show."""

    name = serializers.CharField(source="display_name")


class TokenOut(serializers.Serializer):
    token = serializers.CharField(source="key")
