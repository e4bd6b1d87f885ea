"""Where a customer message leaves the site: the sandbox (nothing leaves; the outbox table is the record),
Twilio's Messaging API, and Web Push. Adapters only: services/notify.py decides what is sent, and when.

Nothing here logs a number, a body, a link or a provider's error text (Twilio's can quote the number): an
error is reduced to its HTTP status and the provider's numeric code."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from django.conf import settings


class ProviderError(Exception):
    """A send that did not happen. `retry`: worth trying again (a timeout, a 5xx, a 429); `gone`: a push
    subscription the push service no longer knows. `code` is safe to store and log (no text from the provider)."""

    def __init__(self, code: str, *, retry: bool, gone: bool = False):
        super().__init__(code)
        self.code, self.retry, self.gone = code, retry, gone


@dataclass(frozen=True)
class Sent:
    ref: str  # the provider's id for the message (Twilio's MessageSid), or the sandbox's own


def twilio_client():
    from twilio.rest import Client

    return Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=_http_client())


def _http_client():
    """Twilio's own HTTP client, pointed at TWILIO_API_BASE_URL when set (a local stand-in in tests)."""
    from twilio.http.http_client import TwilioHttpClient

    base = settings.TWILIO_API_BASE_URL.rstrip("/")

    class Client(TwilioHttpClient):
        def request(self, method, url, *args, **kwargs):
            if base:
                url = base + url[url.index("/", len("https://")):]
            return super().request(method, url, *args, **kwargs)

    return Client(timeout=10)


def sms_send(*, provider: str, to: str, body: str, status_callback: str) -> Sent:
    if provider == "sandbox":
        return Sent("SB" + secrets.token_hex(16))
    if provider != "twilio":
        raise ProviderError("no_provider", retry=False)
    if not settings.TWILIO_ACCOUNT_SID or not (settings.TWILIO_SMS_FROM or settings.TWILIO_MESSAGING_SERVICE_SID):
        raise ProviderError("not_configured", retry=False)
    from twilio.base.exceptions import TwilioException, TwilioRestException

    sender = ({"messaging_service_sid": settings.TWILIO_MESSAGING_SERVICE_SID}
              if settings.TWILIO_MESSAGING_SERVICE_SID else {"from_": settings.TWILIO_SMS_FROM})
    try:
        message = twilio_client().messages.create(to=to, body=body, status_callback=status_callback, **sender)
    except TwilioRestException as exc:
        status = int(exc.status or 0)
        raise ProviderError(f"twilio_{status}_{exc.code or 0}", retry=status >= 500 or status in (0, 429)) from None
    except (TwilioException, OSError) as exc:  # connection refused, timeout (requests' errors are OSErrors)
        raise ProviderError(f"twilio_{type(exc).__name__}"[:32], retry=True) from None
    return Sent(str(message.sid))


def push_send(*, provider: str, subscription: dict, payload: dict) -> Sent:
    """One Web Push. The payload is encrypted for the browser (RFC 8291) by pywebpush; the push service sees
    only ciphertext. The sandbox records it in the outbox and sends nothing."""
    if provider == "sandbox":
        return Sent("SB" + secrets.token_hex(16))
    if not settings.WEBPUSH_VAPID_PRIVATE_KEY:
        raise ProviderError("not_configured", retry=False)
    from pywebpush import WebPushException, webpush

    try:
        webpush(subscription_info=subscription, data=json.dumps(payload),
                vapid_private_key=settings.WEBPUSH_VAPID_PRIVATE_KEY,
                vapid_claims={"sub": settings.WEBPUSH_VAPID_SUBJECT}, timeout=10, ttl=3600)
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", 0) or 0
        raise ProviderError(f"push_{status}", retry=status >= 500 or status in (0, 429),
                            gone=status in (404, 410)) from None
    except OSError as exc:
        raise ProviderError(f"push_{type(exc).__name__}"[:32], retry=True) from None
    return Sent("WP" + secrets.token_hex(16))
