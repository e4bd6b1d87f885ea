"""Shapes every part of the API shares: the error body, a named reference, the API token."""

from __future__ import annotations

from collections.abc import Mapping

from rest_framework import serializers

from ..models import Rider


class ErrorOut(serializers.Serializer):
    """Every 4xx answer (`dispatch/errors.py`)."""

    code = serializers.CharField(help_text="Stable and machine-readable, e.g. `invalid`, `malformed`, `not_found`.")
    detail = serializers.CharField(help_text="For people.")
    errors = serializers.JSONField(required=False, help_text="On 400 `invalid`: the messages per field.")


class HealthOut(serializers.Serializer):
    """GET /healthz, and GET /readyz when every check passes."""

    ok = serializers.BooleanField(help_text="Always true here.")


class NotReadyOut(serializers.Serializer):
    """GET /readyz when a check fails (503): the failing parts, never a reason or a secret."""

    ok = serializers.BooleanField(help_text="Always false here.")
    failing = serializers.ListField(child=serializers.ChoiceField(
        choices=["database", "redis", "broker", "migrations", "keys", "audit_anchor"]))


class _NameField(serializers.CharField):
    """A store's `name`; a rider's `display_name`, the name they chose to show; or a mapping's "name"."""

    def get_attribute(self, instance):
        if isinstance(instance, Mapping):
            return instance["name"]
        return instance.display_name if isinstance(instance, Rider) else instance.name


class NamedOut(serializers.Serializer):
    """A store or a rider, by id and the name it shows."""

    id = serializers.IntegerField()
    name = _NameField()


class TokenOut(serializers.Serializer):
    token = serializers.CharField(source="key")
