"""The Twilio adapter against Twilio's request format (a local stand-in for api.twilio.com), the signed status
callback and the STOP webhook, and the send task's retries."""

from __future__ import annotations

import base64
import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from twilio.request_validator import RequestValidator

from dispatch.models import CustomerMessage, MessagePrefs, Order
from dispatch.services import notify
from dispatch.services.notify import MessageRetry, message_enqueue, message_send
from dispatch.tasks import message_send_task
from tests.factories import CUSTOMER_PHONE, order_payload

SID = "AC" + "1" * 32
AUTH = "twilio-test-token"  # noqa: S105 - a test secret
E164 = "+447700905678"


class FakeTwilio:
    """api.twilio.com's Messages resource, as much as the library needs: each answer comes from `answers`
    (status, JSON), the last one repeating."""

    def __init__(self):
        self.requests: list[dict] = []
        self.answers: list[tuple[int, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                fake.requests.append({"path": self.path, "form": form, "auth": self.headers.get("Authorization", "")})
                status, body = fake.answers.pop(0) if len(fake.answers) > 1 else (fake.answers or [(201, {})])[0]
                if status == 201:
                    body = {"sid": f"SM{len(fake.requests):032d}", "status": "queued", "account_sid": SID, **body}
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def twilio(settings, monkeypatch):
    fake = FakeTwilio()
    settings.NOTIFY_PROVIDER = "twilio"
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = SID, AUTH
    settings.TWILIO_SMS_FROM, settings.TWILIO_MESSAGING_SERVICE_SID = "+15550009999", ""
    settings.TWILIO_API_BASE_URL = fake.url
    settings.TWILIO_SMS_STATUS_URL = settings.TWILIO_SMS_INBOUND_URL = ""
    monkeypatch.setattr(notify, "_enqueue_on_commit", lambda ids: None)  # the tests send by hand
    yield fake
    fake.close()


def new_order(merchant) -> Order:
    r = merchant.post("/api/orders/", order_payload(), format="json")
    assert r.status_code == 201, r.content
    return Order.objects.get(pk=r.json()["id"])


@pytest.mark.django_db
def test_a_message_is_a_post_to_twilios_messages_resource_with_the_form_fields(merchant, twilio):
    order = new_order(merchant)
    message = CustomerMessage.objects.get(order=order)
    assert message.provider == "twilio"
    assert message_send(message_id=message.pk) == "sent"
    [req] = twilio.requests
    assert req["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    assert req["auth"] == "Basic " + base64.b64encode(f"{SID}:{AUTH}".encode()).decode()
    form = req["form"]
    assert form["To"] == E164 and form["From"] == "+15550009999"
    assert form["StatusCallback"] == "http://127.0.0.1:8000/telephony/twilio/sms-status/"
    assert "Follow it here: http://127.0.0.1:8000/t/" in form["Body"] and form["Body"].endswith("/privacy/")
    message.refresh_from_db()
    assert message.provider_ref == "SM" + "1".zfill(32) and message.attempts == 1
    assert message.sealed_body is None  # sent: the link and PIN it held are not kept
    message_enqueue(order=order, kind="delivered")
    assert MessagePrefs.objects.get(order=order).sealed_pin is None  # no later message needs the PIN


@pytest.mark.django_db
def test_a_messaging_service_sends_instead_of_a_number(merchant, twilio, settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "2" * 32
    message = CustomerMessage.objects.get(order=new_order(merchant))
    message_send(message_id=message.pk)
    form = twilio.requests[0]["form"]
    assert form["MessagingServiceSid"] == settings.TWILIO_MESSAGING_SERVICE_SID and "From" not in form


@pytest.mark.django_db
def test_a_refusal_fails_at_once_and_logs_no_number_even_when_twilio_quotes_it(merchant, twilio, caplog):
    caplog.set_level(logging.DEBUG)
    twilio.answers = [(400, {"code": 21211, "status": 400, "message": f"The 'To' number {E164} is not valid."})]
    message = CustomerMessage.objects.get(order=new_order(merchant))
    assert message_send(message_id=message.pk) == "failed"
    message.refresh_from_db()
    assert message.reason == "twilio_400_21211"
    assert E164 not in caplog.text and "7700905678" not in caplog.text and "7700 905678" not in caplog.text


@pytest.mark.django_db
def test_the_task_retries_a_passing_failure_then_sends(merchant, twilio, settings):
    twilio.answers = [(503, {"code": 20503, "status": 503}), (500, {"status": 500}), (201, {})]
    message = CustomerMessage.objects.get(order=new_order(merchant))
    with pytest.raises(MessageRetry):
        message_send(message_id=message.pk)
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("queued", 1)
    message_send_task.apply(args=[message.pk])  # eager: Celery runs the retries in place
    message.refresh_from_db()
    assert (message.state, message.attempts) == ("sent", 3) and len(twilio.requests) == 3


@pytest.mark.django_db
def test_retries_run_out_into_failed(merchant, twilio, settings):
    settings.NOTIFY_MAX_ATTEMPTS = 2
    twilio.answers = [(500, {"status": 500})]
    message = CustomerMessage.objects.get(order=new_order(merchant))
    with pytest.raises(MessageRetry):
        message_send(message_id=message.pk)
    assert message_send(message_id=message.pk) == "failed"
    assert message_send(message_id=message.pk) == "failed"  # a late task sends nothing more
    assert len(twilio.requests) == 2


def signed(url: str, params: dict) -> str:
    return RequestValidator(AUTH).compute_signature(url, params)


@pytest.mark.django_db
def test_the_status_callback_is_signed_and_sets_the_delivery_state(merchant, twilio, client):
    message = CustomerMessage.objects.get(order=new_order(merchant))
    message_send(message_id=message.pk)
    message.refresh_from_db()
    url = "http://testserver/telephony/twilio/sms-status/"
    params = {"MessageSid": message.provider_ref, "MessageStatus": "delivered", "AccountSid": SID}
    bad = client.post("/telephony/twilio/sms-status/", params, HTTP_X_TWILIO_SIGNATURE="forged")
    assert bad.status_code == 403
    message.refresh_from_db()
    assert message.state == "sent"
    ok = client.post("/telephony/twilio/sms-status/", params, HTTP_X_TWILIO_SIGNATURE=signed(url, params))
    assert ok.status_code == 204
    message.refresh_from_db()
    assert message.state == "delivered"
    late = {**params, "MessageStatus": "sent"}  # callbacks may arrive out of order
    assert client.post("/telephony/twilio/sms-status/", late, HTTP_X_TWILIO_SIGNATURE=signed(url, late)).status_code == 204
    message.refresh_from_db()
    assert message.state == "delivered"
    failed = {**params, "MessageSid": "SMunknown", "MessageStatus": "failed", "ErrorCode": "30003"}
    assert client.post("/telephony/twilio/sms-status/", failed,
                       HTTP_X_TWILIO_SIGNATURE=signed(url, failed)).status_code == 204


@pytest.mark.django_db
def test_an_undelivered_report_keeps_twilios_error_code(merchant, twilio, client):
    message = CustomerMessage.objects.get(order=new_order(merchant))
    message_send(message_id=message.pk)
    message.refresh_from_db()
    url = "http://testserver/telephony/twilio/sms-status/"
    params = {"MessageSid": message.provider_ref, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    client.post("/telephony/twilio/sms-status/", params, HTTP_X_TWILIO_SIGNATURE=signed(url, params))
    message.refresh_from_db()
    assert (message.state, message.reason) == ("failed", "twilio_30005")


@pytest.mark.django_db
def test_stop_from_the_customers_number_stops_every_message_until_start(merchant, twilio, client):
    order = new_order(merchant)
    url = "http://testserver/telephony/twilio/sms-inbound/"
    stop = {"From": E164, "To": "+15550009999", "Body": " Stop ", "MessageSid": "SMin1"}
    assert client.post("/telephony/twilio/sms-inbound/", stop, HTTP_X_TWILIO_SIGNATURE="forged").status_code == 403
    r = client.post("/telephony/twilio/sms-inbound/", stop, HTTP_X_TWILIO_SIGNATURE=signed(url, stop))
    assert r.status_code == 200 and r["Content-Type"] == "application/xml"
    received = CustomerMessage.objects.get(order=order)
    received.refresh_from_db()
    assert (received.state, received.reason) == ("suppressed", "opted_out")  # it was still queued
    message_enqueue(order=order, kind="delivered")
    later = CustomerMessage.objects.get(order=order, kind="delivered")
    assert message_send(message_id=later.pk) == "suppressed"
    assert twilio.requests == []
    start = {**stop, "Body": "START", "MessageSid": "SMin2"}
    client.post("/telephony/twilio/sms-inbound/", start, HTTP_X_TWILIO_SIGNATURE=signed(url, start))
    message_enqueue(order=order, kind="nearby")
    nearby = CustomerMessage.objects.get(order=order, kind="nearby")
    assert message_send(message_id=nearby.pk) == "sent" and len(twilio.requests) == 1
    assert CUSTOMER_PHONE  # the fixture's number, sent as E.164 above
