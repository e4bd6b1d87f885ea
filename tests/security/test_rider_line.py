"""A rider's line to dispatch, on the real ASGI app: calls and chat with no order and no break-glass, and no way
through it to a customer, another rider, or another fleet's dispatch.

Plays: rider1 on duty (reaches dispatch), the board (answers), rider2 (tries to read, join or ring rider1's line),
the customer's tracking link and a store's console (try to use the line), and a dispatcher scoped to another
fleet (tries to read it)."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.contrib.auth import get_user_model

import dispatch.models as models
from tests.factories import PII_STRINGS
from tests.rtc_helpers import Sock, cookie_for, token_of

pytestmark = pytest.mark.django_db(transaction=True)


def test_rider_chats_and_calls_dispatch_with_no_break_glass(assigned_order, demo):
    rider_id, name = demo["rider1"].rider.pk, demo["rider1"].rider.display_name
    cookies = {n: cookie_for(demo[n]) for n in ("rider1", "dispatcher1")}

    async def scenario():
        rider, board = Sock("/ws/rider/", cookies["rider1"]), Sock("/ws/dispatch/", cookies["dispatcher1"])
        assert await rider.open() and await board.open()
        await rider.send({"type": "chat.send", "line": rider_id, "to": "dispatch", "text": "Flat tyre", "client_id": "a1"})
        sent = await rider.expect("chat.sent", client_id="a1")
        got = await board.expect("chat.message", id=sent["id"])
        assert (got["line"], got["order"], got["from"], got["text"]) == (rider_id, None, "rider", "Flat tyre")
        await board.send({"type": "chat.send", "line": rider_id, "to": "rider", "text": "Stay there, help is coming"})
        reply = await rider.expect("chat.message", **{"from": "dispatch"})
        assert reply["text"] == "Stay there, help is coming"
        await board.send({"type": "chat.history", "line": rider_id})
        history = await board.expect("chat.history", line=rider_id)
        assert [m["text"] for m in history["messages"]] == ["Flat tyre", "Stay there, help is coming"]

        await rider.send({"type": "call.start", "line": rider_id, "to": "dispatch"})
        call = (await rider.expect("call.calling"))["call"]
        ring = await board.expect("call.ring", call=call)
        assert (ring["from"], ring["line"], ring["order"]) == ("rider", rider_id, None)
        assert ring["name"] == name
        await board.send({"type": "call.accept", "call": call})
        await board.expect("call.connected", call=call)
        await rider.expect("call.accepted", call=call)
        await rider.send({"type": "call.signal", "call": call, "kind": "offer", "sdp": {"type": "offer", "sdp": "v=0"}})
        assert (await board.expect("call.signal", call=call))["sdp"]["sdp"] == "v=0"
        await board.send({"type": "call.hangup", "call": call})
        ended = await rider.expect("call.ended", call=call)
        frames = rider.raw + board.raw + [repr(await rider.drain()), repr(await board.drain())]
        await rider.close()
        await board.close()
        return call, ended, frames

    call, ended, frames = async_to_sync(scenario)()
    assert (ended["outcome"], ended["by"], ended["line"]) == ("completed", "dispatch", rider_id)
    assert not models.Grant.objects.filter(scope=models.GrantScope.CONTACT).exists()  # no break-glass anywhere
    row = models.Interaction.objects.get(pk=call)
    assert (row.order_id, row.line.rider_id, row.caller_role, row.callee_role) == (None, rider_id, "rider", "dispatch")
    assert row.callee_hash and row.caller_hash
    assert models.Interaction.objects.filter(line__rider_id=rider_id, kind="chat").count() == 2
    assert models.AuditEvent.objects.filter(action__in=["call.inapp_started", "call.inapp_ended"],
                                            order__isnull=True).count() == 2
    text = "\n".join(frames)
    for secret in PII_STRINGS:  # the line carries no customer data
        assert secret not in text


def test_the_line_reaches_no_customer_no_other_rider_and_no_other_fleet(assigned_order, demo):
    r1, r2 = demo["rider1"].rider.pk, demo["rider2"].rider.pk
    user = get_user_model().objects.create_user("fleetdispatch", password="x")  # noqa: S106 - a test account
    models.Dispatcher.objects.create(user=user, fleet_scope="merchant:999999")
    cookies = {n: cookie_for(demo[n]) for n in ("rider1", "rider2", "store1", "dispatcher1")}
    cookies["scoped"] = cookie_for(user)
    token = token_of(assigned_order)

    async def scenario():
        rider1, rider2 = Sock("/ws/rider/", cookies["rider1"]), Sock("/ws/rider/", cookies["rider2"])
        board, scoped = Sock("/ws/dispatch/", cookies["dispatcher1"]), Sock("/ws/dispatch/", cookies["scoped"])
        store, customer = Sock("/ws/store/", cookies["store1"]), Sock(f"/ws/track/{token}/")
        for s in (rider1, rider2, board, scoped, store, customer):
            assert await s.open()
        await rider1.send({"type": "chat.send", "line": r1, "to": "dispatch", "text": "private to dispatch"})
        await rider1.expect("chat.sent")
        await board.expect("chat.message")
        # rider1 through their own line to a customer or a rider: not a party of a line.
        for msg in ({"type": "chat.send", "line": r1, "to": "customer", "text": "evil"},
                    {"type": "call.start", "line": r1, "to": "customer"},
                    {"type": "call.start", "line": r1, "to": "rider"},
                    {"type": "chat.send", "line": r1, "to": "store", "text": "evil"}):
            await rider1.send(msg)
            assert (await rider1.expect("error"))["code"] == "invalid_party", msg
        # rider1 through rider2's line: it is not theirs.
        for msg in ({"type": "chat.send", "line": r2, "to": "dispatch", "text": "evil"},
                    {"type": "call.start", "line": r2, "to": "dispatch"}):
            await rider1.send(msg)
            assert (await rider1.expect("error"))["code"] == "not_found", msg
        # rider2, the customer, the store and another fleet's dispatcher read or use rider1's line: 404.
        for intruder in (rider2, customer, store, scoped):
            for msg in ({"type": "chat.history", "line": r1},
                        {"type": "chat.send", "line": r1, "to": "dispatch", "text": "evil"},
                        {"type": "chat.send", "line": r1, "to": "rider", "text": "evil"},
                        {"type": "call.start", "line": r1, "to": "rider"}):
                await intruder.send(msg)
                assert (await intruder.expect("error"))["code"] == "not_found", (msg, intruder.comm)
        # A live line call: nobody else can answer, signal or end it.
        await rider1.send({"type": "call.start", "line": r1, "to": "dispatch"})
        call = (await rider1.expect("call.calling"))["call"]
        await board.expect("call.ring", call=call)
        for intruder in (rider2, customer, store, scoped):
            for msg in ({"type": "call.accept", "call": call}, {"type": "call.hangup", "call": call},
                        {"type": "call.signal", "call": call, "kind": "offer", "sdp": {"type": "offer", "sdp": "evil"}}):
                await intruder.send(msg)
                assert (await intruder.expect("error"))["code"] == "not_found", (msg, intruder.comm)
        heard = {"rider2": await rider2.drain(), "customer": await customer.drain(), "store": await store.drain(),
                 "scoped_texts": [f.get("text") for f in await scoped.drain() + scoped.frames],
                 "rider1": await rider1.drain()}
        await board.send({"type": "call.decline", "call": call})
        await rider1.expect("call.ended", call=call)
        for s in (rider1, rider2, board, scoped, store, customer):
            await s.close()
        return heard

    heard = async_to_sync(scenario)()
    for who in ("rider2", "customer", "store"):
        assert not [f for f in heard[who] if f.get("type", "").startswith(("call.", "chat."))], who
    assert "private to dispatch" not in heard["scoped_texts"]
    assert "evil" not in repr(heard)
    assert models.ChatMessage.objects.count() == 1


def test_off_duty_rider_has_no_line_until_an_sos_and_the_sweep_ends_a_call_when_it_closes(demo, client_for):
    from dispatch.services.rtc import calls_end_lost_access

    rider = demo["rider1"].rider
    rider1 = client_for("rider1")
    cookies = {n: cookie_for(demo[n]) for n in ("rider1", "dispatcher1")}

    def set_duty(on: bool):
        assert rider1.post("/api/rider/duty/", {"on_duty": on}, format="json").status_code == 200

    def sos():
        assert rider1.post("/api/rider/sos/", {}, format="json").status_code == 201

    def ack_sos():
        from dispatch.services.alerts import alert_ack

        alert_ack(alert=models.Alert.objects.get(kind="sos", rider=rider), by=demo["dispatcher1"], note="Rider safe")

    async def scenario():
        await sync_to_async(set_duty)(False)
        me, board = Sock("/ws/rider/", cookies["rider1"]), Sock("/ws/dispatch/", cookies["dispatcher1"])
        assert await me.open() and await board.open()
        await me.send({"type": "chat.send", "line": rider.pk, "to": "dispatch", "text": "hello"})
        assert (await me.expect("error"))["code"] == "line_closed"
        await board.send({"type": "call.start", "line": rider.pk, "to": "rider"})
        assert (await board.expect("error"))["code"] == "line_closed"
        await sync_to_async(sos)()  # an SOS opens the line even off duty
        await me.send({"type": "call.start", "line": rider.pk, "to": "dispatch"})
        call = (await me.expect("call.calling"))["call"]
        await board.send({"type": "call.accept", "call": call})
        await me.expect("call.accepted", call=call)
        assert await sync_to_async(calls_end_lost_access)() == 0  # still open: the SOS is not acknowledged
        await sync_to_async(ack_sos)()
        assert await sync_to_async(calls_end_lost_access)() == 1
        ended = await me.expect("call.ended", call=call)
        await me.close()
        await board.close()
        return ended

    ended = async_to_sync(scenario)()
    assert (ended["outcome"], ended["by"]) == ("revoked", "server")
