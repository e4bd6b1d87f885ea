"""In-app calls and chat in Debian's Chromium: two phone-sized contexts (the rider and the customer) with a
fake microphone, on a live stack. WebRTC reaches `connected` on both sides with audio flowing both ways; mute
and hang-up work; a chat survives a socket drop with nothing lost or doubled; no phone number in any frame,
page or server log."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, rider_order, screenshot
from tests.outputs import docs_screenshots
from tests.rtc_helpers import (
    INBOUND_AUDIO,
    PHONE,
    audio_grows,
    call_context,
    media_browser,
    new_order,
    poll,
    wait_connected,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(playwright_instance):
    yield from media_browser(playwright_instance)

NUMBERS = ["+447700900101", "7700900101", "07700900101", "+44 7700 900555", "7700 900555", "7700900555",
           "+44 7700 900777", "7700900777", "138 0013 8000", "13800138000"]


def shot(page, name: str) -> None:
    """A viewport screenshot, kept with the test artifacts and copied to the README's screens (tests/outputs.py)."""
    shutil.copyfile(screenshot(page, name, full_page=False), docs_screenshots() / f"{name}.png")


def frames_of(page) -> list[str]:
    frames: list[str] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(str(payload))))
    return frames


def open_both(stack, browser, order_id: int, token: str):
    rider_ctx = call_context(stack, browser, **PHONE)
    rider = rider_ctx.new_page()
    rider_frames = frames_of(rider)
    rider.close()
    rider = login(rider_ctx, "rider1", stack=stack, next_path="/rider/")
    rider.on("websocket", lambda ws: ws.on("framereceived", lambda payload: rider_frames.append(str(payload))))
    rider.wait_for_selector("body[data-ready=true]")
    rider_order(rider, order_id)
    cust_ctx = call_context(stack, browser, **PHONE)
    customer = cust_ctx.new_page()
    customer_frames = frames_of(customer)
    customer.goto(f"/t/{token}/")
    customer.wait_for_selector("body[data-ready=true]")
    expect(customer.locator("#conn")).to_have_attribute("data-state", "online")
    expect(rider.locator("#conn")).to_have_attribute("data-state", "online")
    return (rider_ctx, rider, rider_frames), (cust_ctx, customer, customer_frames)


def test_rider_calls_customer_mute_hangup_then_customer_calls_rider(stack, browser):
    order_id, token = new_order(stack)
    (rctx, rider, rider_frames), (cctx, customer, customer_frames) = open_both(stack, browser, order_id, token)
    order = rider_order(rider, order_id)

    order.locator("[data-action=rtc-call-customer]").click()
    expect(rider.locator("#call-bar")).to_have_attribute("data-state", re.compile("calling|connecting"))
    expect(customer.locator("#call-bar")).to_have_attribute("data-state", "ringing")
    expect(customer.locator("#call-bar [data-role=call-state]")).to_have_text("Incoming call from your rider")
    shot(customer, "call-ringing")
    customer.locator("[data-call=answer]").click()
    wait_connected(rider, customer)
    print("\ninbound audio bytes (rider, customer):", audio_grows(rider, customer))
    expect(rider.locator("[data-role=call-timer]")).to_have_text(re.compile(r"00:0\d"))
    shot(rider, "call-connected")

    rider.locator("[data-call=mute]").click()
    assert rider.evaluate("() => window.__rtc.pc.getSenders().every((s) => !s.track || !s.track.enabled)")
    loud = poll(customer, INBOUND_AUDIO, lambda s: True, "audio level")["level"]
    quiet = poll(customer, INBOUND_AUDIO, lambda s: s["level"] is not None and s["level"] < 0.01, "far side goes quiet")
    print("customer's audio level before/after the rider muted:", loud, quiet["level"])
    rider.locator("[data-call=hangup]").click()
    for page in (rider, customer):
        expect(page.locator("#call-bar")).to_have_attribute("data-state", "ended")
        assert page.evaluate("() => window.__rtc.pc === null")

    # The other way round: the customer calls, the rider's phone rings and answers.
    customer.locator("#rtc-call-rider").click()
    expect(rider.locator("#call-bar")).to_have_attribute("data-state", "ringing")
    rider.locator("[data-call=answer]").click()
    wait_connected(rider, customer)
    print("inbound audio bytes (rider, customer):", audio_grows(rider, customer))
    # The customer's socket drops mid-call: the call carries on, the new socket takes over the signalling
    # (rejoin, ICE restart), and the rider's hang-up reaches it there.
    customer.evaluate("() => window.__live.ws.close()")
    expect(customer.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    expect(customer.locator("#conn")).to_have_attribute("data-state", "online")
    wait_connected(rider, customer)
    print("after the customer's reconnect:", audio_grows(customer))
    rider.locator("[data-call=hangup]").click()
    for page in (rider, customer):
        expect(page.locator("#call-bar")).to_have_attribute("data-state", "ended")

    seen = "\n".join([*rider_frames, *customer_frames, rider.content(), customer.content(), stack.logs()])
    assert "call.signal" in seen and "candidate" in seen  # the signalling was captured
    for number in NUMBERS:
        assert number not in seen, number
    rctx.close()
    cctx.close()


def test_chat_across_a_socket_drop_nothing_lost_or_doubled(stack, browser):
    order_id, token = new_order(stack)
    (rctx, rider, rider_frames), (cctx, customer, customer_frames) = open_both(stack, browser, order_id, token)
    panel = rider_order(rider, order_id).locator("[data-chat=customer]")
    cpanel = customer.locator("[data-chat=rider]")
    sent = panel.locator(".chat-msg:not(.chat-pending) .chat-text")
    got = cpanel.locator(".chat-msg:not(.chat-pending) .chat-text")

    panel.locator("[data-quick=\"I'm downstairs\"]").click()
    expect(got).to_have_text(["I'm downstairs"])
    # A number typed into the chat: the rider is warned first, and nothing is sent until they confirm.
    panel.locator("[data-role=chat-input]").fill("call me on 020 7946 0000")
    panel.locator("[data-role=chat-send]").click()
    expect(panel.locator("[data-role=chat-warn]")).to_be_visible()
    panel.locator("[data-role=chat-input]").fill("Blue door on the left?")

    customer.evaluate("() => window.__live.ws.close()")
    expect(customer.locator("#conn")).to_have_attribute("data-state", "reconnecting")
    panel.locator("[data-role=chat-send]").click()
    panel.locator("[data-quick=\"The gate code doesn't work\"]").click()
    expected = ["I'm downstairs", "Blue door on the left?", "The gate code doesn't work"]
    expect(sent).to_have_text(expected)
    expect(customer.locator("#conn")).to_have_attribute("data-state", "online")
    expect(got).to_have_text(expected)
    cpanel.locator("[data-quick=\"Please leave it at the door\"]").click()
    expect(sent).to_have_text([*expected, "Please leave it at the door"])
    expect(got).to_have_text([*expected, "Please leave it at the door"])
    assert "7946" not in rider.content()  # the number the rider was warned about was never sent
    panel.scroll_into_view_if_needed()
    shot(rider, "chat")

    seen = "\n".join([*rider_frames, *customer_frames, rider.content(), customer.content(), stack.logs()])
    for number in NUMBERS:
        assert number not in seen, number
    rctx.close()
    cctx.close()
