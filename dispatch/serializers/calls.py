"""Calls and chat: a masked session, the sandbox carrier's verdict on a dialled number, a chat line."""

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


# Built with type() because one field is named "from", a Python keyword.
ChatMessageOut = type("ChatMessageOut", (serializers.Serializer,), {
    "__doc__": "One chat message of the reader's own conversation (`selectors.ChatLine`), on the socket.",
    "id": serializers.IntegerField(source="message.pk"),
    "order": serializers.IntegerField(source="message.order_id"),
    "from": serializers.CharField(source="message.sender"),
    "to": serializers.CharField(source="message.recipient"),
    "text": serializers.CharField(allow_null=True),
    "at": IsoDateTimeField(source="message.created_at"),
})
