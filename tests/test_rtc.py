"""In-app calls and masked chat over the real ASGI sockets: signalling between exactly two sockets, chat with
catch-up on reconnect, and no phone number in any frame, page or log."""

from __future__ import annotations

import logging

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

import dispatch.models as models  # attributes read late: the tests also run against a tree without the feature
from tests.factories import CUSTOMER_PHONE
from tests.rtc_helpers import Sock, cookie_for, token_of

pytestmark = pytest.mark.django_db(transaction=True)

RIDER1_PHONE = "+447700900101"


def number_forms(*numbers: str) -> list[str]:
    forms = set()
    for n in numbers:
        digits = "".join(c for c in n if c.isdigit())
        forms |= {n, digits, digits[2:], "0" + digits[2:], n.replace(" ", "")}
    return sorted(forms)


def test_rider_calls_customer_then_chat_with_reconnect_and_no_number_anywhere(assigned_order, demo, dispatcher,
                                                                               client, caplog):
    """Rider and customer (the two parties), with the store listening on its own socket: a full call, a chat
    across a reconnect (nothing lost, nothing twice), and a grep of every frame, page and log line for the
    customer's and the rider's numbers."""
    caplog.set_level(logging.DEBUG)
    order_id, token = assigned_order["id"], token_of(assigned_order)
    rider_cookie, store_cookie = cookie_for(demo["rider1"]), cookie_for(demo["store1"])
    socks: list[Sock] = []

    async def scenario():
        rider, customer, store = Sock("/ws/rider/", rider_cookie), Sock(f"/ws/track/{token}/"), Sock("/ws/store/", store_cookie)
        socks.extend([rider, customer, store])
        assert await rider.open() and await customer.open() and await store.open()

        await rider.send({"type": "call.start", "order": order_id, "to": "customer"})
        calling = await rider.expect("call.calling")
        call = calling["call"]
        assert calling["ice_servers"] == []
        ring = await customer.expect("call.ring")
        assert ring == {"type": "call.ring", "call": call, "order": order_id, "from": "rider"}
        await customer.send({"type": "call.accept", "call": call})
        assert (await customer.expect("call.connected"))["call"] == call
        await rider.expect("call.accepted", call=call)
        await rider.send({"type": "call.signal", "call": call, "kind": "offer", "sdp": {"type": "offer", "sdp": "v=0 o"}})
        offer = await customer.expect("call.signal")
        assert offer["kind"] == "offer" and offer["sdp"]["sdp"] == "v=0 o"
        await customer.send({"type": "call.signal", "call": call, "kind": "answer", "sdp": {"type": "answer", "sdp": "v=0 a"}})
        assert (await rider.expect("call.signal"))["kind"] == "answer"
        await customer.send({"type": "call.signal", "call": call, "kind": "ice", "candidate": {"candidate": "c1"}})
        assert (await rider.expect("call.signal"))["candidate"] == {"candidate": "c1"}
        await rider.send({"type": "call.hangup", "call": call})
        ended = await customer.expect("call.ended", call=call)
        assert ended["outcome"] == "completed" and ended["by"] == "rider"
        await rider.expect("call.ended", call=call)

        # Chat, with the customer's socket gone in the middle.
        await rider.send({"type": "chat.send", "order": order_id, "to": "customer", "text": "I'm downstairs",
                          "client_id": "r1"})
        first = await customer.expect("chat.message")
        assert first["text"] == "I'm downstairs" and first["from"] == "rider"
        seq = first["seq"]
        await customer.close()
        await rider.send({"type": "chat.send", "order": order_id, "to": "customer", "text": "Blue door?",
                          "client_id": "r2"})
        await rider.expect("chat.sent", client_id="r2")
        back = Sock(f"/ws/track/{token}/")
        socks.append(back)
        assert await back.open()
        await back.send({"type": "resume", "seq": seq})
        await back.send({"type": "chat.send", "order": order_id, "to": "rider", "text": "Please leave it at the door",
                         "client_id": "c1"})
        got = await back.drain()
        texts = [f["text"] for f in got if f.get("type") == "chat.message"]
        assert texts == ["Blue door?", "Please leave it at the door"]
        await rider.expect("chat.message", text="Please leave it at the door")
        store_frames = await store.drain()
        for s in (rider, back, store):
            await s.close()
        return store_frames

    store_frames = async_to_sync(scenario)()
    # The store was no party to the chat or the call: no text and no call frame reached it.
    assert not [f for f in store_frames if f.get("type", "").startswith(("chat.", "call."))]
    assert models.ChatMessage.objects.filter(order_id=order_id).count() == 3
    assert b"downstairs" not in b"".join(bytes(m.sealed) for m in models.ChatMessage.objects.all())

    pages = [client.get(f"/t/{token}/").content.decode()]
    log = dispatcher.get(f"/api/dispatch/orders/{order_id}/interactions/")
    assert log.status_code == 200
    rows = log.json()
    assert [r["kind"] for r in rows] == ["call", "chat", "chat", "chat"]
    assert rows[0]["outcome"] == "completed" and rows[0]["ended_by"] == "rider"
    assert rows[0]["from"]["role"] == "rider" and rows[0]["to"]["role"] == "customer" and rows[0]["to"]["id"]
    everything = "\n".join([*(r for s in socks for r in s.raw), *pages, log.content.decode(),
                            *(r.getMessage() for r in caplog.records)])
    assert "downstairs" not in log.content.decode()
    for form in number_forms(CUSTOMER_PHONE, RIDER1_PHONE):
        assert form not in everything, form


def test_customer_calls_rider_who_declines_and_busy_is_refused(assigned_order, demo):
    """The customer (a link holder) calls the rider: the rider's socket rings, the rider declines; a second call
    while one rings is refused as busy."""
    order_id, token = assigned_order["id"], token_of(assigned_order)
    rider_cookie = cookie_for(demo["rider1"])

    async def scenario():
        rider, customer = Sock("/ws/rider/", rider_cookie), Sock(f"/ws/track/{token}/")
        assert await rider.open() and await customer.open()
        await customer.send({"type": "call.start", "order": order_id, "to": "rider"})
        call = (await customer.expect("call.calling"))["call"]
        assert (await rider.expect("call.ring"))["from"] == "customer"
        await rider.send({"type": "call.start", "order": order_id, "to": "customer"})
        busy = await rider.expect("error")
        assert busy["code"] == "busy"
        await rider.send({"type": "call.decline", "call": call})
        ended = await customer.expect("call.ended", call=call)
        assert ended["outcome"] == "declined" and ended["by"] == "rider"
        await rider.close()
        await customer.close()

    async_to_sync(scenario)()
    outcomes = list(models.Interaction.objects.filter(order_id=order_id).order_by("pk").values_list("outcome", flat=True))
    assert outcomes == ["declined", "busy"]


def test_store_calls_rider_and_chat_text_is_sealed_and_shredded(assigned_order, demo):
    """Store staff call the assigned rider about a bag and chat; shredding the order removes the chat."""
    from dispatch.services.privacy import order_shred

    order_id = assigned_order["id"]
    rider_cookie, store_cookie = cookie_for(demo["rider1"]), cookie_for(demo["store1"])

    async def scenario():
        rider, store = Sock("/ws/rider/", rider_cookie), Sock("/ws/store/", store_cookie)
        assert await rider.open() and await store.open()
        await store.send({"type": "call.start", "order": order_id, "to": "rider"})
        call = (await store.expect("call.calling"))["call"]
        await rider.expect("call.ring", call=call)
        await rider.send({"type": "call.accept", "call": call})
        await store.expect("call.accepted", call=call)
        await store.send({"type": "chat.send", "order": order_id, "to": "rider", "text": "Bag 2 is at the back"})
        assert (await rider.expect("chat.message"))["text"] == "Bag 2 is at the back"
        await store.send({"type": "chat.history", "order": order_id})
        history = await store.expect("chat.history")
        assert [m["text"] for m in history["messages"]] == ["Bag 2 is at the back"]
        await rider.close()
        await store.close()

    async_to_sync(scenario)()
    order = models.Order.objects.get(pk=order_id)
    order_shred(order=order)
    assert not models.ChatMessage.objects.filter(order_id=order_id).exists()


def test_turn_credentials_are_minted_per_call(settings):
    """TURN REST convention: username `expiry:call<id>`, password base64(HMAC-SHA1(TURN_SECRET, username))."""
    import base64
    import hashlib
    import hmac

    from dispatch.services.rtc import ice_servers

    settings.ICE_SERVERS = [{"urls": "stun:stun.example.org"}, {"urls": ["turn:turn.example.org:3478"]}]
    settings.TURN_SECRET = "s3cret"
    stun, turn = ice_servers(call_id=7)
    assert "username" not in stun
    expiry, name = turn["username"].split(":")
    assert name == "call7" and int(expiry) > 0
    expected = base64.b64encode(hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()).decode()
    assert turn["credential"] == expected


def test_proxy_number_calls_enter_the_interaction_log_without_numbers(assigned_order, rider1, dispatcher):
    """The phone fallback: a proxy call the sandbox connects is logged with roles, hashed ids and outcome only."""
    order_id = assigned_order["id"]
    call = rider1.post(f"/api/rider/orders/{order_id}/call/").json()
    assert rider1.post(f"/api/rider/orders/{order_id}/call/dial/").json()["connected"] is True
    log = dispatcher.get(f"/api/dispatch/orders/{order_id}/interactions/")
    rows = log.json()
    assert [(r["kind"], r["from"]["role"], r["to"]["role"], r["outcome"]) for r in rows] == [
        ("phone", "rider", "customer", "connected")]
    for form in [*number_forms(CUSTOMER_PHONE, RIDER1_PHONE), call["proxy_number"]]:
        assert form not in log.content.decode()


def test_server_ended_call_goes_through_the_outbox_to_the_two_sockets_only_and_is_never_replayed(assigned_order, demo):
    """A server-ended call (here: rung out) is written to the outbox addressed to the call's two sockets and the
    callee's group, so a relay in the web process can deliver it when the worker ended it; a socket that
    resumes from seq 0 does not get it again, and nobody else gets it."""
    from datetime import timedelta

    from django.utils import timezone

    from dispatch.services.events import route
    from dispatch.services.rtc import calls_end_lost_access

    order_id, token = assigned_order["id"], token_of(assigned_order)
    rider_cookie, store_cookie = cookie_for(demo["rider1"]), cookie_for(demo["store1"])

    async def scenario():
        rider, customer, store = Sock("/ws/rider/", rider_cookie), Sock(f"/ws/track/{token}/"), Sock("/ws/store/", store_cookie)
        assert await rider.open() and await customer.open() and await store.open()
        await rider.send({"type": "call.start", "order": order_id, "to": "customer"})
        call = (await rider.expect("call.calling"))["call"]
        await customer.expect("call.ring", call=call)
        await database_sync_to_async(models.Interaction.objects.filter(pk=call).update)(
            started_at=timezone.now() - timedelta(hours=1))
        assert await database_sync_to_async(calls_end_lost_access)() == 1
        for side in (rider, customer):
            ended = await side.expect("call.ended", call=call)
            assert ended["outcome"] == "missed" and ended["by"] == "server" and "seq" not in ended
        rows = await database_sync_to_async(list)(models.Event.objects.filter(type="call.ended"))
        # A call that rang out has one socket (the caller's) and the callee's group (all its ringing devices).
        targets = sorted((route(e)[0], route(e)[1]) for e in rows)
        assert [t[0] for t in targets] == ["group_send", "send"] and targets[0][1] == f"track.{order_id}", targets
        assert targets[1][1].startswith("specific."), targets
        back = Sock(f"/ws/track/{token}/")
        assert await back.open()
        await back.send({"type": "resume", "seq": 0})
        replayed = await back.drain()
        store_frames = await store.drain()
        for s in (rider, customer, store, back):
            await s.close()
        return replayed, store_frames

    replayed, store_frames = async_to_sync(scenario)()
    assert not [f for f in replayed if f.get("type", "").startswith("call.")], replayed
    assert not [f for f in store_frames if f.get("type", "").startswith("call.")], store_frames


def test_a_redis_layer_channel_name_fits_the_outbox_row():
    """call.ended rows are addressed to socket channels: the longest names (the Redis layer's) must fit
    `Event.group`, or ending a call on PostgreSQL would fail."""
    from channels_redis.core import RedisChannelLayer

    from dispatch.services.events import rtc_target

    name = async_to_sync(RedisChannelLayer(hosts=["redis://127.0.0.1:1"]).new_channel)()  # no connection made
    assert len(rtc_target(name, group=False)) <= models.Event._meta.get_field("group").max_length
