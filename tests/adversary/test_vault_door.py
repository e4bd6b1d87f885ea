"""Finding 4 (second half): every vault open goes through one audited door.

The party is an insider (or a compromised component) that reads customer data along a path that leaves
no trace: the geofence's destination read and the call service's phone digest opened the vault without
an audit event. The auditor must be able to account for every open."""

from __future__ import annotations

import pytest

from dispatch import vault
from dispatch.live.ping import location_ping
from dispatch.models import AuditEvent, Order
from dispatch.services.calls import call_route, call_session_start
from dispatch.services.privacy import destination_point
from tests.factories import DOOR, PII_STRINGS


@pytest.fixture
def vault_opens(monkeypatch):
    """Every call of the vault's decrypting function: (order id, id of the last audit event before it)."""
    opens: list[tuple[int, int]] = []
    real = vault.open_payload

    def spy(kid, wrapped, ciphertext, *, aad):
        last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        opens.append((int(aad.decode().split(":")[1]), last))
        return real(kid, wrapped, ciphertext, aad=aad)

    monkeypatch.setattr(vault, "open_payload", spy)
    return opens


def assert_each_open_audited(opens: list[tuple[int, int]]) -> list[AuditEvent]:
    """The next audit event on the order after each open names the purpose and an actor, never the data."""
    assert opens
    events = []
    for order_id, before in opens:
        event = AuditEvent.objects.filter(order_id=order_id, id__gt=before).order_by("id").first()
        assert event is not None, f"an open of order {order_id} left no audit event"
        assert event.data.get("purpose"), (event.action, event.data)
        assert event.actor_label, event.action
        text = repr(event.data)
        assert not any(s in text for s in PII_STRINGS), event.data
        events.append(event)
    return events


@pytest.mark.django_db
def test_destination_read_is_audited(assigned_order, vault_opens):
    """An insider calls the geofence's destination read: it must leave an event naming "system" and the purpose."""
    order = Order.objects.get(pk=assigned_order["id"])
    assert destination_point(order=order) == pytest.approx(DOOR)
    (event,) = assert_each_open_audited(vault_opens)
    assert event.actor_label == "system"


@pytest.mark.django_db
def test_call_digest_read_is_audited(assigned_order, demo, vault_opens):
    """Starting a proxy call opens the customer's phone to digest it: that read must be audited too."""
    rider = demo["rider1"].rider
    call_session_start(order=Order.objects.get(pk=assigned_order["id"]), rider=rider)
    assert_each_open_audited(vault_opens)


@pytest.mark.django_db
def test_every_open_in_a_delivery_is_audited(assigned_order, demo, rider1, dispatcher, vault_opens):
    """A whole delivery (pings near the door, the rider's view, a call both ways, a break-glass): no silent open."""
    import time

    rider = demo["rider1"].rider
    order_id = assigned_order["id"]
    for seq in range(1, 5):
        location_ping(rider=rider, lat=DOOR[0], lng=DOOR[1], accuracy=5, timestamp=time.time(), seq=seq, here=True)
    rider1.get(f"/api/rider/orders/{order_id}/")
    session = call_session_start(order=Order.objects.get(pk=order_id), rider=rider)
    call_route(caller=rider.phone, proxy_number=session.proxy_number)
    dispatcher.post(f"/api/dispatch/orders/{order_id}/break-glass/", {"reason": "rider cannot find the door"},
                    format="json")
    events = assert_each_open_audited(vault_opens)
    assert len(vault_opens) >= 4
    assert {"destination.read", "call.customer_number_used", "contact.read"} <= {e.action for e in events}


@pytest.mark.django_db
def test_counter_gets_shredded_error_from_the_privacy_service():
    """The counter catches ShreddedError through the privacy service, the vault's only importer."""
    from dispatch.services import counter, privacy

    assert counter.ShreddedError is privacy.ShreddedError is vault.ShreddedError


@pytest.mark.django_db
def test_position_reports_do_not_open_the_vault_each_time(assigned_order, demo, vault_opens, monkeypatch):
    """The hot path: a rider's pings reload the context (here on every ping), yet the destination is opened,
    and audited, once per order, not once per ping."""
    import time

    from dispatch.live import state

    monkeypatch.setattr(state, "CONTEXT_TTL_S", 0.0)
    rider = demo["rider1"].rider
    for seq in range(1, 11):
        location_ping(rider=rider, lat=51.52, lng=-0.10, accuracy=5, timestamp=time.time() + seq, seq=seq)
    assert [order_id for order_id, _ in vault_opens] == [assigned_order["id"]]
    assert AuditEvent.objects.filter(action="destination.read").count() == 1
