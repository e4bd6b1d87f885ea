"""Messages to the customer: what each says, in which language, when nothing is sent, and the sandbox outbox."""

from __future__ import annotations

import pytest
from django.db import connection

from dispatch import tokens
from dispatch.models import AuditEvent, CustomerMessage, MessagePrefs, Order
from dispatch.services import notify
from dispatch.services.notify import message_enqueue, message_send
from dispatch.services.privacy import order_shred
from tests.factories import BUILDING, CUSTOMER_NAME, CUSTOMER_PHONE, NOTES, STREET, UNIT, order_payload


class TaskRecorder:
    """Stands in for Celery's app: records what would be queued and sends it at once, as the worker would."""

    def __init__(self):
        self.calls: list[tuple[str, list]] = []

    def send_task(self, name, args=(), **kwargs):
        self.calls.append((name, list(args)))
        if name == "dispatch.tasks.message_send_task":
            message_send(message_id=args[0])


@pytest.fixture
def tasks(monkeypatch):
    recorder = TaskRecorder()
    monkeypatch.setattr(notify, "current_app", recorder)
    return recorder


def post_order(merchant, django_capture_on_commit_callbacks, **overrides):
    with django_capture_on_commit_callbacks(execute=True):
        r = merchant.post("/api/orders/", order_payload(**overrides), format="json")
    assert r.status_code == 201, r.content
    created = r.json()
    created["token"] = created["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    return created


def body_of(message: CustomerMessage) -> str:
    from dispatch.services.privacy import message_open

    return message_open(order=message.order, label=f"message:{message.kind}:{message.channel}",
                        sealed=message.sealed_body)


def no_pii(text: str) -> None:
    for s in (CUSTOMER_NAME, "Zhang", "7700 905678", "7700905678", STREET, "Baker", BUILDING, UNIT, NOTES):
        assert s not in text, f"leaked {s!r}"


@pytest.mark.django_db
def test_order_received_carries_the_link_and_pin_and_privacy_notice_and_is_sent_by_id(
        merchant, tasks, django_capture_on_commit_callbacks):
    created = post_order(merchant, django_capture_on_commit_callbacks)
    message = CustomerMessage.objects.get(order_id=created["id"])
    assert (message.kind, message.channel, message.state, message.provider) == ("received", "sms", "sent", "sandbox")
    assert tasks.calls == [("dispatch.tasks.message_send_task", [message.pk])]  # an id, never a body or number
    body = body_of(message)
    assert created["tracking_url"].replace("http://testserver", "http://127.0.0.1:8000") in body
    assert tokens.delivery_pin(created["token"]) in body
    assert body.endswith("Privacy: http://127.0.0.1:8000/privacy/")
    assert "Reply STOP" in body
    no_pii(body)
    # Nothing of the link in plain in the row: the body is sealed under the order's key.
    assert created["token"].encode() not in bytes(message.sealed_body)
    actions = list(AuditEvent.objects.filter(order_id=created["id"]).values_list("action", flat=True))
    assert "message.customer_number_used" in actions and "message.sent" in actions
    used = AuditEvent.objects.get(order_id=created["id"], action="message.customer_number_used")
    assert used.data["party"] == "notifier" and used.data["purpose"] == "customer_message"


@pytest.mark.django_db
def test_chinese_when_the_order_asks_for_it_else_the_stores_language(merchant, tasks, demo,
                                                                     django_capture_on_commit_callbacks):
    customer = order_payload()["customer"]
    zh = post_order(merchant, django_capture_on_commit_callbacks, customer={**customer, "language": "zh-hans"})
    body = body_of(CustomerMessage.objects.get(order_id=zh["id"]))
    assert "取货号" in body or "您的订单" in body, body
    assert "退订" in body and "隐私" in body
    en = post_order(merchant, django_capture_on_commit_callbacks)
    assert "has your order" in body_of(CustomerMessage.objects.get(order_id=en["id"]))
    order = Order.objects.get(pk=en["id"])
    order.store.language = "zh-hans"
    order.store.save()
    third = post_order(merchant, django_capture_on_commit_callbacks)
    assert MessagePrefs.objects.get(order_id=third["id"]).language == "zh-hans"


@pytest.mark.django_db
def test_the_pin_goes_only_where_the_store_requires_one(merchant, tasks, monkeypatch,
                                                         django_capture_on_commit_callbacks):
    with_pin = post_order(merchant, django_capture_on_commit_callbacks)
    pin = tokens.delivery_pin(with_pin["token"])
    order = Order.objects.get(pk=with_pin["id"])
    message_enqueue(order=order, kind="nearby")
    nearby = CustomerMessage.objects.get(order=order, kind="nearby")
    message_send(message_id=nearby.pk)
    assert pin in body_of(nearby)
    assert "almost at your door" in body_of(nearby)

    monkeypatch.setattr(notify, "store_requires_pin", lambda store: False)
    without = post_order(merchant, django_capture_on_commit_callbacks)
    order = Order.objects.get(pk=without["id"])
    assert MessagePrefs.objects.get(order=order).sealed_pin is None
    message_enqueue(order=order, kind="nearby")
    for message in CustomerMessage.objects.filter(order=order):
        assert tokens.delivery_pin(without["token"]) not in body_of(message)
        assert "PIN" not in body_of(message)


@pytest.mark.django_db
def test_stop_messages_on_the_tracking_page_is_honoured(merchant, tasks, client, settings,
                                                       django_capture_on_commit_callbacks):
    settings.WEBPUSH_VAPID_PUBLIC_KEY = ""  # Web Push not configured (a demo run may have made a key pair in var/)
    created = post_order(merchant, django_capture_on_commit_callbacks)
    base = f"/api/track/{created['token']}/messages/"
    assert client.get(base).json() == {"opted_out": False, "push_subscribed": False, "push_key": ""}
    r = client.post(base, {"stop": False}, content_type="application/json")
    assert r.status_code == 400 and r.json()["code"] == "stop_only"
    order = Order.objects.get(pk=created["id"])
    message_enqueue(order=order, kind="nearby")  # queued before the stop: never sent
    queued = CustomerMessage.objects.get(order=order, kind="nearby")
    r = client.post(base, {"stop": True}, content_type="application/json")
    assert r.status_code == 200 and r.json()["opted_out"] is True
    assert message_send(message_id=queued.pk) == "suppressed"
    queued.refresh_from_db()
    assert queued.reason == "opted_out" and queued.sent_at is None
    message_enqueue(order=order, kind="delivered")
    later = CustomerMessage.objects.get(order=order, kind="delivered")
    assert message_send(message_id=later.pk) == "suppressed" and later.provider_ref is None
    # A page cannot subscribe to push again after the stop.
    sub = {"endpoint": "https://push.example.test/abc", "keys": {"p256dh": "BPk", "auth": "x1"}}
    r = client.post(f"/api/track/{created['token']}/push/", sub, content_type="application/json")
    assert r.status_code == 409 and r.json()["code"] == "messages_stopped"


@pytest.mark.django_db
def test_web_push_after_opt_in_is_recorded_in_the_sandbox_outbox(merchant, tasks, client,
                                                                 django_capture_on_commit_callbacks):
    created = post_order(merchant, django_capture_on_commit_callbacks)
    sub = {"endpoint": "https://push.example.test/abc", "keys": {"p256dh": "BPk", "auth": "x1"}}
    r = client.post(f"/api/track/{created['token']}/push/", sub, content_type="application/json")
    assert r.status_code == 201 and r.json()["push_subscribed"] is True
    order = Order.objects.get(pk=created["id"])
    with django_capture_on_commit_callbacks(execute=True):
        message_enqueue(order=order, kind="delivered")
    push = CustomerMessage.objects.get(order=order, kind="delivered", channel="push")
    assert push.state == "sent"
    assert "delivered" in body_of(push) and "Reply STOP" not in body_of(push)


@pytest.mark.django_db
def test_nothing_is_sent_after_the_order_is_shredded(merchant, tasks, django_capture_on_commit_callbacks):
    created = post_order(merchant, django_capture_on_commit_callbacks)
    order = Order.objects.get(pk=created["id"])
    message_enqueue(order=order, kind="delivered")
    queued = CustomerMessage.objects.get(order=order, kind="delivered")
    order_shred(order=order)
    reads = AuditEvent.objects.filter(action="message.customer_number_used").count()
    assert message_send(message_id=queued.pk) == "suppressed"
    queued.refresh_from_db()
    assert queued.reason == "shredded"
    assert AuditEvent.objects.filter(action="message.customer_number_used").count() == reads
    assert body_of(queued) is None  # the sealed body died with the order's key


@pytest.mark.django_db
def test_marketing_is_never_sent_without_consent(merchant, tasks, django_capture_on_commit_callbacks):
    created = post_order(merchant, django_capture_on_commit_callbacks)
    order = Order.objects.get(pk=created["id"])
    [message] = message_enqueue(order=order, kind="delivered", marketing=True)
    assert message_send(message_id=message.pk) == "suppressed"
    message.refresh_from_db()
    assert message.reason == "no_consent"


@pytest.mark.django_db
def test_the_dev_outbox_is_for_demo_mode_and_dispatch_or_staff_only(merchant, tasks, client, demo, settings,
                                                                     django_capture_on_commit_callbacks):
    created = post_order(merchant, django_capture_on_commit_callbacks)
    settings.DEBUG, settings.DEMO_MODE = False, False
    client.force_login(demo["dispatcher1"])
    assert client.get("/dev/outbox/").status_code == 404
    settings.DEMO_MODE = True
    page = client.get("/dev/outbox/")
    assert page.status_code == 200
    text = page.content.decode()
    assert f"/t/{created['token']}/" in text and "****5678" in text
    no_pii(text)
    assert AuditEvent.objects.filter(action="message.read", data__page="outbox").exists()
    client.force_login(demo["rider1"])
    assert client.get("/dev/outbox/").status_code == 404
    client.logout()
    assert client.get("/dev/outbox/").status_code == 302


@pytest.mark.django_db
def test_a_lost_task_is_sent_by_the_sweep_and_a_day_old_message_is_not(merchant, tasks, monkeypatch,
                                                                       django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    created = post_order(merchant, django_capture_on_commit_callbacks)
    order = Order.objects.get(pk=created["id"])
    lost = message_enqueue(order=order, kind="nearby")[0]  # no commit callback ran: its task is "lost"
    old = message_enqueue(order=order, kind="delivered")[0]
    CustomerMessage.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    assert notify.messages_sweep(now=timezone.now() + timedelta(minutes=2)) == 1
    lost.refresh_from_db()
    old.refresh_from_db()
    assert (lost.state, old.state, old.reason) == ("sent", "failed", "stale")


def test_store_requires_pin_follows_the_proof_of_delivery_policy():
    """The messages carry the PIN exactly where the rider will ask for it at the door."""
    from dispatch.models import Store
    from dispatch.services.pod import POLICIES

    for policy, (pin, _photo, _id) in POLICIES.items():
        assert notify.store_requires_pin(Store(pod_policy=policy)) is pin, policy
    assert [p for p in POLICIES if notify.store_requires_pin(Store(pod_policy=p))] == ["pin", "pin_photo", "id_check"]
    assert notify.store_requires_pin(object()) is True  # no policy known: the PIN, as before


@pytest.mark.django_db
def test_no_table_holds_the_body_in_plain(merchant, tasks, django_capture_on_commit_callbacks):
    created = post_order(merchant, django_capture_on_commit_callbacks)
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_body FROM dispatch_customermessage")
        [(blob,)] = cursor.fetchall()
    assert b"Privacy" not in bytes(blob) and created["token"].encode() not in bytes(blob)
    assert CUSTOMER_PHONE
