"""Finding "After a 1 s Redis restart, 1 of 10 committed writes answered 500": a post-commit hook (the
socket send, the context bump) raised, so a committed delivery answered 500 and the hooks after it (the
revocation countdown) never ran. The operator's view: Redis blips right after a commit."""

from __future__ import annotations

import pytest
import redis
from django.core.cache import caches
from django.test import override_settings

from dispatch.models import Event, Order, OrderStatus
from dispatch.services.lifecycle import lifecycle_sweep
from tests.factories import delivery_pin_of
from tests.security.outage import scale_settings
from tests.security.test_cache_outage import picked_up_order

pytestmark = pytest.mark.django_db(transaction=True)


class Layer:
    """A channel layer whose Redis is down (`broken`) or up (records what it was asked to send)."""

    def __init__(self, broken: bool) -> None:
        self.broken = broken
        self.sent: list[tuple[str, dict]] = []

    async def group_send(self, group: str, message: dict) -> None:
        if self.broken:
            raise redis.exceptions.ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append((group, message))


@pytest.fixture(scope="module")
def dead_redis(tmp_path_factory) -> dict:
    return scale_settings(tmp_path_factory.mktemp("postcommit"))


def test_committed_delivery_answers_200_schedules_revocation_and_the_sweep_resends(
        demo, merchant, dispatcher, rider1, staff1, monkeypatch):
    """Operator, the channel layer's Redis blips after commit (finding 2): the delivery answers 200, the
    revocation countdown is still sent, and the events the sockets missed are resent by the sweep, once."""
    order = picked_up_order(merchant, dispatcher, rider1, staff1, demo)
    pin = delivery_pin_of(order)
    scheduled: list[tuple] = []
    monkeypatch.setattr("dispatch.services.delivery.current_app.send_task",
                        lambda name, args, countdown: scheduled.append((name, args)))
    down = Layer(broken=True)
    monkeypatch.setattr("dispatch.live.publish.get_channel_layer", lambda: down)
    last_seq = Event.objects.order_by("-pk").values_list("pk", flat=True).first()
    rider1.raise_request_exception = False
    response = rider1.post(f"/api/rider/orders/{order['id']}/deliver/", {"pin": pin}, format="json")
    assert Order.objects.get(pk=order["id"]).status == OrderStatus.DELIVERED  # committed
    assert response.status_code == 200, response.content
    assert scheduled == [("dispatch.tasks.revoke_order_access", [order["id"]])]

    missed = set(Event.objects.filter(pk__gt=last_seq).values_list("pk", flat=True))
    assert missed, "the delivery wrote events to the outbox"
    up = Layer(broken=False)
    monkeypatch.setattr("dispatch.live.publish.get_channel_layer", lambda: up)
    with override_settings(EVENTS_RESEND_AFTER_S=0):
        lifecycle_sweep()
        resent = {message["event"]["seq"] for _, message in up.sent}
        up.sent.clear()
        lifecycle_sweep()
    assert resent == missed
    assert up.sent == []  # sent once: the outbox remembers what went out


def test_every_after_commit_step_survives_the_whole_redis_going_away(
        demo, dead_redis, merchant, dispatcher, rider1, staff1, monkeypatch):
    """Operator, all of Redis down right after the commit (finding 2): the cache's context bump and the
    socket send fail after the commit; the assignment still answers 200 and its events wait for the sweep."""
    order = merchant.post("/api/orders/", __import__("tests.factories").factories.order_payload(), format="json").json()
    monkeypatch.setattr("dispatch.live.publish.get_channel_layer", lambda: Layer(broken=True))
    dispatcher.raise_request_exception = False
    with override_settings(**dead_redis):
        caches.close_all()
        response = dispatcher.post(f"/api/dispatch/orders/{order['id']}/assign/",
                                   {"rider": demo["rider1"].rider.pk}, format="json")
    caches.close_all()
    assert Order.objects.get(pk=order["id"]).rider_id == demo["rider1"].rider.pk  # committed
    assert response.status_code == 200, response.content
    assert Event.objects.filter(sent_at__isnull=True, type="order.assigned").exists()


def test_events_sent_after_commit_are_not_resent(demo, merchant, monkeypatch):
    """Operator (finding 2), the control: with the layer up, the sweep has nothing to resend."""
    up = Layer(broken=False)
    monkeypatch.setattr("dispatch.live.publish.get_channel_layer", lambda: up)
    merchant.post("/api/orders/", __import__("tests.factories").factories.order_payload(), format="json")
    assert up.sent
    up.sent.clear()
    with override_settings(EVENTS_RESEND_AFTER_S=0):
        lifecycle_sweep()
    assert up.sent == []


def test_a_resume_replays_an_event_the_sweep_sent_after_the_clients_last_one(demo, monkeypatch):
    """Rider's page, reconnecting after a Redis outage (finding 2): an event whose send failed (seq 1)
    goes out with the sweep after the page already saw a later one (seq 2); resuming from seq 2 must
    still replay seq 1, or the page never hears of it."""
    from django.db import transaction

    from dispatch.services.events import event_publish, events_since

    monkeypatch.setattr("dispatch.live.publish.get_channel_layer", lambda: Layer(broken=True))
    with transaction.atomic():
        missed = event_publish(groups=["rider.1"], type="order.updated", payload={"order": 1})[0]
    up = Layer(broken=False)
    monkeypatch.setattr("dispatch.live.publish.get_channel_layer", lambda: up)
    with transaction.atomic():
        seen = event_publish(groups=["rider.1"], type="order.updated", payload={"order": 2})[0]
    assert [m["event"]["seq"] for _, m in up.sent] == [seen.pk]  # the page saw seq 2, live
    with override_settings(EVENTS_RESEND_AFTER_S=0):
        lifecycle_sweep()  # seq 1 goes out now, while the page is away
    assert [e.pk for e in events_since(groups=["rider.1"], seq=seen.pk)] == [missed.pk]
    assert events_since(groups=["rider.1"], seq=seen.pk + 1000) == []


def test_a_resume_after_a_long_outage_replays_more_than_one_page(demo):
    """Dispatcher's page, back after an outage with more than a page of events missed (finding 2): the
    socket replays all of them, not the first 200."""
    from asgiref.sync import async_to_sync

    from dispatch.services.events import GROUP_DISPATCH, event_publish
    from tests.test_websockets import connect, cookie_for, drain

    MISSED = 230  # more than a page (200)
    first = Event.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for n in range(MISSED):
        event_publish(groups=[GROUP_DISPATCH], type="alert", payload={"kind": "test", "n": n})
    cookie = cookie_for(demo["dispatcher1"])
    got = []

    async def scenario():
        comm, ok, _ = await connect("/ws/dispatch/", cookie)
        assert ok
        await comm.send_json_to({"type": "resume", "seq": first})
        got.extend(await drain(comm))
        await comm.disconnect()

    async_to_sync(scenario)()
    assert [f["n"] for f in got if f.get("kind") == "test"] == list(range(MISSED))


def test_a_robust_after_commit_send_that_fails_is_logged_and_the_write_stands(demo, monkeypatch, caplog):
    """Finding (CI, test_reaching_a_tier_takes_the_database_path_with_grant_and_audit): the after-commit event
    send hit "database table is locked" on SQLite, and instead of the failure being logged (the hook is robust:
    the sweep resends), the commit raised AttributeError: Django names a failed robust hook by its
    `__qualname__`, and the hooks were `functools.partial`s, which have none."""
    import logging

    from django.db import OperationalError, transaction

    from dispatch.services import events

    def locked(_events):
        raise OperationalError("database table is locked")

    monkeypatch.setattr(events, "_send_events", locked)
    locked.__qualname__ = "_send_events"
    with override_settings(EVENTS_RELAY=False), caplog.at_level(logging.ERROR, logger="django.db.backends.base"):
        with transaction.atomic():
            written = events.event_publish(groups=["rider.1", "dispatch"], type="test.event", payload={"n": 1})
    assert Event.objects.filter(pk__in=[e.pk for e in written], sent_at__isnull=True).count() == 2
    assert any("Error calling _send_events in on_commit()" in r.getMessage() for r in caplog.records)
