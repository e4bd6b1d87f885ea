"""Plays a former rider still on an in-app call about an order that another rider now holds, where the
reassignment did not go through the revocation that cuts calls (a row updated directly, a path that forgot it).
The sweep checks that the call's own rider still holds the order, not only that the order has a rider: it ends
the former rider's calls (as caller, as callee connected, and still ringing) and keeps the current rider's."""

from __future__ import annotations

import pytest

from dispatch.models import GrantPurpose, GrantScope, Interaction, Order, Tier
from dispatch.services.lifecycle import lifecycle_sweep
from dispatch.services.privacy import grant_create
from dispatch.services.rtc import Caller, call_accept, call_start
from tests.exits_helpers import token_of

pytestmark = pytest.mark.django_db


def _call(order: Order, caller: Caller, to: str, *, answer: Caller | None = None) -> Interaction:
    call, _servers = call_start(party=caller, order=order, to=to, channel="caller-channel")
    if answer is not None:
        call, _servers = call_accept(party=answer, call=call, side="callee", channel="callee-channel")
    return call


def _hand_to(order: Order, rider) -> None:
    """Reassigned without the revocation: the row changes, the new rider gets their grant, nothing else."""
    Order.objects.filter(pk=order.pk).update(rider=rider)
    grant_create(order=Order.objects.get(pk=order.pk), user=rider.user, scope=GrantScope.ADDRESS, tier=Tier.AREA,
                 purpose=GrantPurpose.DELIVERY)


def _states(*calls: Interaction) -> list[tuple[str, str]]:
    return [tuple(Interaction.objects.filter(pk=c.pk).values_list("state", "outcome").get()) for c in calls]


def test_the_sweep_ends_a_former_riders_calls(merchant, dispatcher, demo, posted_order):
    from tests.factories import order_payload

    first, second = demo["rider1"].rider, demo["rider2"].rider
    orders = []
    for _ in range(3):
        created = merchant.post("/api/orders/", order_payload(), format="json").json()
        assert dispatcher.post(f"/api/dispatch/orders/{created['id']}/assign/", {"rider": first.pk},
                               format="json").status_code == 200
        orders.append((Order.objects.get(pk=created["id"]), Caller("customer", token=token_of(created))))
    rider = Caller("rider", user=first.user)
    (o1, c1), (o2, c2), (o3, c3) = orders
    outgoing = _call(o1, rider, "customer", answer=c1)  # the rider rang the customer, who answered
    incoming = _call(o2, c2, "rider", answer=rider)  # the customer rang the rider, who answered
    ringing = _call(o3, c3, "rider")  # the customer is ringing the rider
    assert _states(outgoing, incoming, ringing) == [("connected", ""), ("connected", ""), ("ringing", "")]

    lifecycle_sweep()  # nothing changed yet: every call stays
    assert _states(outgoing, incoming, ringing) == [("connected", ""), ("connected", ""), ("ringing", "")]

    for order, _customer in orders:
        _hand_to(order, second)
    lifecycle_sweep()
    assert _states(outgoing, incoming, ringing) == [("ended", "revoked")] * 3
    assert set(Interaction.objects.filter(pk__in=[outgoing.pk, incoming.pk, ringing.pk])
               .values_list("ended_by", flat=True)) == {"server"}


def test_the_current_riders_call_goes_on(merchant, dispatcher, demo, posted_order):
    first = demo["rider1"].rider
    oid = posted_order["id"]
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": first.pk}, format="json").status_code == 200
    order = Order.objects.get(pk=oid)
    call = _call(order, Caller("rider", user=first.user), "customer",
                 answer=Caller("customer", token=token_of(posted_order)))
    lifecycle_sweep()
    assert _states(call) == [("connected", "")]


def test_only_the_rung_rider_may_answer(merchant, dispatcher, demo, posted_order):
    """A ring meant for one rider is not answered by another who got the order by a side door."""
    from dispatch.errors import DomainError

    first, second = demo["rider1"].rider, demo["rider2"].rider
    oid = posted_order["id"]
    assert dispatcher.post(f"/api/dispatch/orders/{oid}/assign/", {"rider": first.pk}, format="json").status_code == 200
    order = Order.objects.get(pk=oid)
    call = _call(order, Caller("customer", token=token_of(posted_order)), "rider")
    _hand_to(order, second)
    with pytest.raises(DomainError):
        call_accept(party=Caller("rider", user=second.user), call=call, side="callee", channel="other")
