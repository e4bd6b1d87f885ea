"""The rider's order view gives the door tier as labelled parts (building, unit, door code, notes), through the
privacy service's one audited reveal, and never any part before the door tier."""

import pytest

from dispatch.models import AuditEvent, GrantPurpose, GrantScope, Order, Tier
from dispatch.services.privacy import grant_create
from tests.factories import BUILDING, DOOR_CODE, NOTES, STREET, UNIT


def _grant(order_id: int, user, tier: int) -> None:
    order = Order.objects.get(pk=order_id)
    grant_create(order=order, user=user, scope=GrantScope.ADDRESS, purpose=GrantPurpose.DELIVERY, tier=tier)


@pytest.mark.django_db
def test_door_tier_gives_labelled_parts_with_one_audited_read(assigned_order, rider1, demo):
    """Party: the assigned rider at the door. Finding: the door code showed as a bare number inside the address line;
    the API now gives labelled `parts`, read through the same single audited reveal."""
    _grant(assigned_order["id"], demo["rider1"], Tier.DOOR)
    before = AuditEvent.objects.filter(action="address.read").count()
    dest = rider1.get(f"/api/rider/orders/{assigned_order['id']}/").json()["destination"]
    assert dest["tier"] == "door"
    assert dest["parts"] == {"street": STREET, "building": BUILDING, "unit": UNIT, "door_code": DOOR_CODE, "notes": NOTES}
    assert AuditEvent.objects.filter(action="address.read").count() == before + 1


@pytest.mark.django_db
@pytest.mark.parametrize("tier", [None, Tier.STREET])
def test_no_parts_before_the_door(assigned_order, rider1, demo, tier):
    """Party: a curious rider short of the door. Finding: the structured parts must not leak the door tier early."""
    if tier is not None:
        _grant(assigned_order["id"], demo["rider1"], tier)
    body = rider1.get(f"/api/rider/orders/{assigned_order['id']}/")
    text = body.content.decode()
    assert "parts" not in body.json()["destination"]
    for secret in (BUILDING, UNIT, DOOR_CODE, NOTES):
        assert secret not in text
