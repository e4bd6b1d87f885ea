"""Refusals for in-app calls and chat, on the real ASGI app: every signalling and chat message is authorised with
the HTTP selectors, and a party who loses access can neither place nor keep a call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

import dispatch.models as models  # attributes read late: the tests also run against a tree without the feature
from tests.factories import order_payload
from tests.rtc_helpers import Sock, cookie_for, token_of

pytestmark = pytest.mark.django_db(transaction=True)


async def _connected_call(rider: Sock, customer: Sock, order_id: int) -> int:
    await rider.send({"type": "call.start", "order": order_id, "to": "customer"})
    call = (await rider.expect("call.calling"))["call"]
    await customer.expect("call.ring", call=call)
    await customer.send({"type": "call.accept", "call": call})
    await customer.expect("call.connected", call=call)
    await rider.expect("call.accepted", call=call)
    return call


def test_reassigned_rider_cannot_call_or_chat(assigned_order, demo, dispatcher):
    """Plays rider1 after the order was reassigned to rider2 (finding: a rider who lost the order can still reach
    the customer): call.start and chat.send are refused as not found, and the customer hears nothing."""
    order_id, token = assigned_order["id"], token_of(assigned_order)
    r = dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": demo["rider2"].rider.pk}, format="json")
    assert r.status_code == 200
    rider_cookie = cookie_for(demo["rider1"])

    async def scenario():
        rider, customer = Sock("/ws/rider/", rider_cookie), Sock(f"/ws/track/{token}/")
        assert await rider.open() and await customer.open()
        await rider.send({"type": "call.start", "order": order_id, "to": "customer"})
        assert (await rider.expect("error"))["code"] == "not_found"
        await rider.send({"type": "chat.send", "order": order_id, "to": "customer", "text": "hello"})
        assert (await rider.expect("error"))["code"] == "not_found"
        heard = await customer.drain()
        await rider.close()
        await customer.close()
        return heard

    heard = async_to_sync(scenario)()
    assert not [f for f in heard if f.get("type", "").startswith(("call.", "chat."))]
    assert not models.Interaction.objects.filter(order_id=order_id).exists()


@pytest.mark.parametrize("how", ["reassigned", "grant_expired"])
def test_revoked_riders_call_in_progress_is_ended_by_the_server(assigned_order, demo, dispatcher, how):
    """Plays rider1 in a connected call when their access ends (reassignment, or the grant expiring and the
    lifecycle revoking it): the server ends the call on both sides, and the rider's next signal is refused."""
    from dispatch.services.lifecycle import access_revoke_due

    order_id, token = assigned_order["id"], token_of(assigned_order)
    rider_cookie = cookie_for(demo["rider1"])

    def revoke():
        if how == "reassigned":
            r = dispatcher.post(f"/api/dispatch/orders/{order_id}/assign/", {"rider": demo["rider2"].rider.pk},
                                format="json")
            assert r.status_code == 200
        else:
            models.Grant.objects.filter(order_id=order_id, principal=demo["rider1"]).update(
                expires_at=timezone.now() - timedelta(seconds=1))
            assert access_revoke_due() >= 1

    async def scenario():
        rider, customer = Sock("/ws/rider/", rider_cookie), Sock(f"/ws/track/{token}/")
        assert await rider.open() and await customer.open()
        call = await _connected_call(rider, customer, order_id)
        await sync_to_async(revoke)()
        for side in (rider, customer):
            ended = await side.expect("call.ended", call=call)
            assert ended["outcome"] == "revoked" and ended["by"] == "server"
        await rider.send({"type": "call.signal", "call": call, "kind": "ice", "candidate": {"candidate": "x"}})
        assert (await rider.expect("error"))["code"] == "not_found"
        heard = await customer.drain()
        await rider.close()
        await customer.close()
        return heard

    heard = async_to_sync(scenario)()
    assert not [f for f in heard if f.get("type") == "call.signal"]
    assert models.Interaction.objects.get(kind="call", order_id=order_id).outcome == "revoked"


def test_expired_tracking_link_cannot_call_and_its_live_call_ends(assigned_order, demo):
    """Plays the holder of a tracking link that expired while its socket stayed open: a new call is refused,
    and a call in progress is ended by the server at the next message (or sweep)."""
    from dispatch.services.lifecycle import lifecycle_sweep

    order_id, token = assigned_order["id"], token_of(assigned_order)
    rider_cookie = cookie_for(demo["rider1"])

    def expire():
        models.Order.objects.filter(pk=order_id).update(tracking_expires_at=timezone.now() - timedelta(seconds=1))

    async def scenario():
        rider, customer = Sock("/ws/rider/", rider_cookie), Sock(f"/ws/track/{token}/")
        assert await rider.open() and await customer.open()
        call = await _connected_call(rider, customer, order_id)
        await sync_to_async(expire)()
        await sync_to_async(lifecycle_sweep)()
        assert (await rider.expect("call.ended", call=call))["outcome"] == "revoked"
        await customer.expect("call.ended", call=call)
        await customer.send({"type": "call.start", "order": order_id, "to": "rider"})
        assert (await customer.expect("error"))["code"] == "not_found"
        await customer.send({"type": "chat.send", "order": order_id, "to": "rider", "text": "hi"})
        assert (await customer.expect("error"))["code"] == "not_found"
        await rider.close()
        await customer.close()
        late = Sock(f"/ws/track/{token}/")
        assert not await late.open()

    async_to_sync(scenario)()


def test_third_parties_cannot_inject_into_another_orders_call(assigned_order, demo, merchant, dispatcher):
    """Plays three outsiders to a connected rider1-customer call: another rider, another store's staff and the
    holder of another order's tracking link. Each tries to signal, answer, hang up and chat on the call's id and
    order: every message is refused as not found and neither party receives anything from them."""
    order_id, token = assigned_order["id"], token_of(assigned_order)
    other = merchant.post("/api/orders/", order_payload(), format="json").json()
    other_token = token_of(other)
    cookies = {n: cookie_for(demo[n]) for n in ("rider1", "rider2", "store2")}

    async def scenario():
        rider, customer = Sock("/ws/rider/", cookies["rider1"]), Sock(f"/ws/track/{token}/")
        outsiders = [Sock("/ws/rider/", cookies["rider2"]), Sock("/ws/store/", cookies["store2"]),
                     Sock(f"/ws/track/{other_token}/")]
        for s in (rider, customer, *outsiders):
            assert await s.open()
        call = await _connected_call(rider, customer, order_id)
        for intruder in outsiders:
            for msg in ({"type": "call.signal", "call": call, "kind": "offer", "sdp": {"type": "offer", "sdp": "evil"}},
                        {"type": "call.accept", "call": call},
                        {"type": "call.hangup", "call": call},
                        {"type": "chat.send", "order": order_id, "to": "customer", "text": "evil"},
                        {"type": "chat.send", "order": order_id, "to": "rider", "text": "evil"},
                        {"type": "chat.history", "order": order_id},
                        {"type": "call.start", "order": order_id, "to": "customer"}):
                await intruder.send(msg)
                error = await intruder.expect("error")
                assert error["code"] in ("not_found", "invalid_party"), (msg, error)
        heard = await rider.drain() + await customer.drain()
        for s in (rider, customer, *outsiders):
            await s.close()
        return heard

    heard = async_to_sync(scenario)()
    assert "evil" not in repr(heard)
    assert models.Interaction.objects.get(kind="call", order_id=order_id).state == "connected"


def test_dispatch_joins_only_through_break_glass(assigned_order, demo, dispatcher):
    """Plays a dispatcher: without break-glass they cannot call or message the order's parties; after a
    break-glass reveal (a reason, audited, counted against the daily quota) they can call the customer, whose
    page rings with `from: dispatch`; nobody can call dispatch back in the app."""
    order_id, token = assigned_order["id"], token_of(assigned_order)
    cookie = cookie_for(demo["dispatcher1"])

    def break_glass():
        r = dispatcher.post(f"/api/dispatch/orders/{order_id}/break-glass/",
                            {"reason": "Rider reported an accident at the door"}, format="json")
        assert r.status_code == 200, r.content

    async def scenario():
        board, customer = Sock("/ws/dispatch/", cookie), Sock(f"/ws/track/{token}/")
        assert await board.open() and await customer.open()
        await board.send({"type": "call.start", "order": order_id, "to": "customer"})
        assert (await board.expect("error"))["code"] == "not_found"
        await board.send({"type": "chat.send", "order": order_id, "to": "rider", "text": "are you ok"})
        assert (await board.expect("error"))["code"] == "not_found"
        await sync_to_async(break_glass)()
        await board.send({"type": "call.start", "order": order_id, "to": "customer"})
        call = (await board.expect("call.calling"))["call"]
        assert (await customer.expect("call.ring", call=call))["from"] == "dispatch"
        await customer.send({"type": "call.decline", "call": call})
        await board.expect("call.ended", call=call)
        await customer.send({"type": "call.start", "order": order_id, "to": "dispatch"})
        assert (await customer.expect("error"))["code"] == "invalid_party"
        await board.close()
        await customer.close()

    async_to_sync(scenario)()
    assert models.AuditEvent.objects.filter(action="breakglass.used", order_id=order_id).count() == 1
    row = models.Interaction.objects.get(kind="call", order_id=order_id)
    assert (row.caller_role, row.callee_role, row.outcome) == ("dispatch", "customer", "declined")
