"""Web Push through pywebpush against a local stand-in push service: VAPID-signed, encrypted for the browser
(RFC 8291), and a subscription the service calls gone is ended."""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from dispatch.models import CustomerMessage, Order, PushSubscription
from dispatch.services import notify
from dispatch.services.notify import message_enqueue, message_send, push_subscribe
from tests.factories import order_payload


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class PushService:
    def __init__(self):
        self.requests, self.status = [], 201
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                service.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                self.send_response(service.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def push(settings, monkeypatch):
    service = PushService()
    server_key = ec.generate_private_key(ec.SECP256R1())
    settings.NOTIFY_PROVIDER = "twilio"  # not the sandbox: pushes really go out (SMS here is not configured)
    settings.TWILIO_ACCOUNT_SID = ""
    settings.WEBPUSH_VAPID_PRIVATE_KEY = b64(server_key.private_numbers().private_value.to_bytes(32, "big"))
    settings.WEBPUSH_VAPID_SUBJECT = "mailto:ops@example.test"
    monkeypatch.setattr(notify, "_enqueue_on_commit", lambda ids: None)
    yield service
    service.close()


@pytest.mark.django_db
def test_a_push_is_vapid_signed_and_only_the_browser_can_read_it(merchant, push):
    r = merchant.post("/api/orders/", order_payload(), format="json")
    order = Order.objects.get(pk=r.json()["id"])
    browser = ec.generate_private_key(ec.SECP256R1())
    auth = os.urandom(16)
    sub = {"endpoint": f"{push.url}/push/abc", "keys": {
        "p256dh": b64(browser.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)),
        "auth": b64(auth)}}
    assert push_subscribe(order=order, subscription=sub) is not None
    message_enqueue(order=order, kind="delivered")
    sms = CustomerMessage.objects.get(order=order, kind="delivered", channel="sms")
    assert message_send(message_id=sms.pk) == "failed"  # no Twilio configured here: the SMS fails on its own
    message = CustomerMessage.objects.get(order=order, kind="delivered", channel="push")
    assert message_send(message_id=message.pk) == "sent"
    [req] = push.requests
    headers = {k.lower(): v for k, v in req["headers"].items()}
    assert req["path"] == "/push/abc"
    assert headers["content-encoding"] == "aes128gcm" and headers["authorization"].startswith("vapid t=")
    assert b"delivered" not in req["body"]  # the push service sees ciphertext only
    plain = json.loads(http_ece.decrypt(req["body"], private_key=browser, auth_secret=auth, version="aes128gcm"))
    assert "was delivered" in plain["body"] and plain["tag"] == f"order-{order.pk}"

    push.status = 410  # the browser unsubscribed: the service says gone
    message_enqueue(order=order, kind="failed")
    gone = CustomerMessage.objects.get(order=order, kind="failed", channel="push")
    assert message_send(message_id=gone.pk) == "failed"
    assert PushSubscription.objects.get(order=order).ended_at is not None
