"""Calls by phone: a masked session, and the sandbox carrier's verdict on a dialled number."""

from __future__ import annotations

from rest_framework import serializers

from .fields import IsoDateTimeField


class CallSessionOut(serializers.Serializer):
    """Renders `(session, sandbox)`."""

    proxy_number = serializers.CharField(source="session.proxy_number")
    expires_at = IsoDateTimeField(source="session.expires_at")
    sandbox = serializers.BooleanField(help_text="The demo's sandbox carrier can place the call (call/dial/).")


class CallRouteOut(serializers.Serializer):
    """A `services.calls.Route`: who was reached, never a number but the proxy's."""

    connected = serializers.SerializerMethodField()
    callee = serializers.CharField()
    caller_id = serializers.CharField()
    message = serializers.CharField()

    def get_connected(self, route) -> bool:
        return route.connect_to is not None


class TrackCallOut(serializers.Serializer):
    """The customer's call button: the proxy number, and in the sandbox whom the call reached."""

    proxy_number = serializers.CharField()
    connected = serializers.BooleanField()
    callee = serializers.CharField()
