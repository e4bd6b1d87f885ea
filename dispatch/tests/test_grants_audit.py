"""Grants are checked at read time; the audit chain is tamper-evident."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from dispatch.models import AuditEvent, Grant, Order
from dispatch.services.audit import audit_verify
from dispatch.services.privacy import address_reveal, address_tier


@pytest.mark.django_db
def test_expired_grant_is_refused_at_read_time_with_nothing_revoking_it(assigned_order, demo, rider1):
    order = Order.objects.get(pk=assigned_order["id"])
    user = demo["rider1"]
    assert address_tier(order=order, user=user) == 1
    Grant.objects.filter(order=order).update(expires_at=timezone.now() + timedelta(seconds=30))
    assert rider1.get(f"/api/rider/orders/{order.pk}/").status_code == 200
    Grant.objects.filter(order=order).update(expires_at=timezone.now() - timedelta(microseconds=1))
    assert address_reveal(order=order, user=user) is None
    assert rider1.get(f"/api/rider/orders/{order.pk}/").status_code == 404
    assert rider1.get("/api/rider/orders/").json() == []
    assert Grant.objects.filter(order=order, revoked_at__isnull=True).count() == 1  # nobody revoked it


@pytest.mark.django_db
def test_reassignment_revokes_the_first_rider(assigned_order, dispatcher, demo, client_for):
    rider2 = demo["rider2"].rider
    r = dispatcher.post(f"/api/dispatch/orders/{assigned_order['id']}/assign/", {"rider": rider2.pk}, format="json")
    assert r.status_code == 200
    assert client_for("rider1").get(f"/api/rider/orders/{assigned_order['id']}/").status_code == 404
    assert client_for("rider2").get(f"/api/rider/orders/{assigned_order['id']}/").status_code == 200


@pytest.mark.django_db
def test_audit_chain_verifies_and_detects_tampering(assigned_order, capsys):
    ok, count, broken = audit_verify()
    assert ok and count >= 3 and broken is None
    call_command("audit_verify")
    assert "intact" in capsys.readouterr().out
    victim = AuditEvent.objects.order_by("id")[1]
    AuditEvent.objects.filter(pk=victim.pk).update(data={"tampered": True})
    ok, count, broken = audit_verify()
    assert not ok and broken == victim.pk and count == 1
