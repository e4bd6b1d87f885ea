"""In-app calls beyond rider and customer, in Debian's Chromium with a fake microphone on a live stack:

- the store's console calls the assigned rider about a bag and the rider answers (audio flows both ways);
- a dispatcher joins through break-glass from the board: the board asks for a reason, the join is audited and
  counted against the quota, the call is placed and the rider's phone rings;
- a denied microphone is explained on the call bar, with "Call by phone instead" offered;
- the speaker button only where the browser can pick the audio output (`setSinkId`);
- the call bar and the chat in Chinese (zh-Hans) from the browser's language.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, rider_order
from tests.integration.conftest import order_state
from tests.rtc_helpers import (
    DESK,
    PHONE,
    audio_grows,
    call_context,
    call_page,
    media_browser,
    new_order,
    wait_connected,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(playwright_instance):
    yield from media_browser(playwright_instance)

ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}
NO_SINK = "delete HTMLMediaElement.prototype.setSinkId;"  # as on Safari and Firefox for Android
MIC_DENIED = """navigator.mediaDevices.getUserMedia = () =>
  Promise.reject(new DOMException("Permission denied", "NotAllowedError"));"""


@pytest.fixture(scope="module")
def stack_env():
    return {"BREAK_GLASS_QUOTA_PER_DAY": "1"}


def rider_page(stack, browser, order_id: int, *, init_script: str = "", **options):
    ctx, page = call_page(stack, browser, "rider1", path="/rider/", init_script=init_script, **{**PHONE, **options})
    rider_order(page, order_id)
    return ctx, page


def customer_page(stack, browser, token: str, *, init_script: str = "", **options):
    return call_page(stack, browser, None, path=f"/t/{token}/", init_script=init_script, **{**PHONE, **options})


def hang_up(caller, callee) -> None:
    caller.locator("[data-call=hangup]").click()
    for page in (caller, callee):
        expect(page.locator("#call-bar")).to_have_attribute("data-state", "ended")


def test_store_calls_the_rider_about_a_bag_and_speaker_only_where_set_sink_id_exists(stack, browser):
    """The store console's call button rings the assigned rider, who answers; audio flows both ways. The rider's
    browser has no setSinkId: no speaker button there, while the store's Chromium shows one."""
    order_id, _token = new_order(stack)
    rctx, rider = rider_page(stack, browser, order_id, init_script=NO_SINK)
    sctx = call_context(stack, browser, **DESK)
    store = login(sctx, "store1", stack=stack)
    expect(store.locator("#conn")).to_have_attribute("data-state", "online")
    card = store.locator(f"li.order-card[data-order='{order_id}']")
    card.locator("[data-action=rtc-call-rider]").click()
    expect(store.locator("#call-bar")).to_have_attribute("data-state", re.compile("calling|connecting"))
    expect(rider.locator("#call-bar")).to_have_attribute("data-state", "ringing")
    expect(rider.locator("#call-bar [data-role=call-state]")).to_have_text("Incoming call from the store")
    rider.locator("[data-call=answer]").click()
    wait_connected(store, rider)
    print("\ninbound audio bytes (store, rider):", audio_grows(store, rider))
    expect(store.locator("[data-call=speaker]")).to_be_visible()
    expect(rider.locator("[data-call=mute]")).to_be_visible()
    expect(rider.locator("[data-call=speaker]")).to_be_hidden()
    hang_up(rider, store)
    rctx.close()
    sctx.close()


def test_dispatcher_joins_through_break_glass_with_a_reason_and_the_rider_rings(stack, browser):
    order_id, _token = new_order(stack)
    rctx, rider = rider_page(stack, browser, order_id)
    dctx = call_context(stack, browser, **DESK)
    board = login(dctx, "dispatcher1", stack=stack)
    expect(board.locator("#conn")).to_have_attribute("data-state", "online")
    opener = board.locator(f'tr[data-order="{order_id}"] [data-glass]')
    opener.click()
    expect(board.locator("#glass-dialog")).to_be_visible()
    board.check("#glass-confirm")
    board.click("#glass-submit")  # no reason: asked for one, nothing is opened
    expect(board.locator("#glass-reason-error")).to_contain_text("at least 10 characters")
    expect(board.locator("#contact-dialog")).to_be_hidden()
    assert "breakglass.used" not in order_state(stack, order_id)["actions"]

    board.fill("#glass-reason", "Rider fell off the bike, checking they are safe")
    board.click("#glass-submit")
    expect(board.locator("#contact-dialog")).to_be_visible()
    board.locator("#contact-dialog [data-rtc-join=rider]").click()
    expect(board.locator("#call-bar")).to_have_attribute("data-state", re.compile("calling|connecting"))
    expect(rider.locator("#call-bar")).to_have_attribute("data-state", "ringing")
    expect(rider.locator("#call-bar [data-role=call-state]")).to_have_text("Incoming call from dispatch (emergency)")
    rider.locator("[data-call=answer]").click()
    wait_connected(board, rider)
    hang_up(board, rider)
    actions = order_state(stack, order_id)["actions"]
    assert actions.count("breakglass.used") == 1 and "call.inapp_started" in actions, actions

    # The join counted against the quota (1 a day in this stack): the next break-glass is refused.
    opener.click()
    board.fill("#glass-reason", "Second emergency on the same shift, customer unreachable")
    board.check("#glass-confirm")
    board.click("#glass-submit")
    expect(board.locator("#glass-error")).to_contain_text("Quota reached")
    rctx.close()
    dctx.close()


def test_a_denied_microphone_is_explained_and_the_phone_is_offered(stack, browser):
    order_id, token = new_order(stack)
    rctx, rider = rider_page(stack, browser, order_id)
    cctx, customer = customer_page(stack, browser, token, init_script=MIC_DENIED)
    customer.locator("#rtc-call-rider").click()
    bar = customer.locator("#call-bar")
    expect(bar).to_have_attribute("data-state", "failed")
    help_ = bar.locator("[data-role=call-help]")
    expect(help_).to_be_visible()
    expect(help_).to_contain_text("The microphone is blocked for this page")
    expect(help_).to_contain_text("allow the microphone")
    phone = bar.locator("[data-call=phone]")
    expect(phone).to_be_visible()
    expect(phone).to_have_text("Call by phone instead")
    rider.wait_for_timeout(1000)
    expect(rider.locator("#call-bar")).not_to_have_attribute("data-state", "ringing")  # nothing was placed
    phone.click()  # the proxy-number fallback sets up a private line
    expect(customer.locator("#call-result")).to_contain_text(re.compile(r"\+\d"))
    rctx.close()
    cctx.close()


def test_call_bar_and_chat_speak_chinese(stack, browser):
    order_id, token = new_order(stack)
    rctx, rider = rider_page(stack, browser, order_id, **ZH)
    cctx, customer = customer_page(stack, browser, token, **ZH)
    customer.locator("#rtc-call-rider").click()
    expect(customer.locator("#call-bar [data-role=call-state]")).to_have_text("正在呼叫你的骑手…")
    bar = rider.locator("#call-bar")
    expect(bar).to_have_attribute("data-state", "ringing")
    expect(bar.locator("[data-role=call-state]")).to_have_text("顾客来电")
    expect(bar.locator("[data-call=answer]")).to_have_text("接听")
    expect(bar.locator("[data-call=decline]")).to_have_text("拒接")
    bar.locator("[data-call=answer]").click()
    wait_connected(rider, customer)
    expect(bar.locator("[data-role=call-state]")).to_have_text("已与顾客接通")
    expect(bar.locator("[data-call=mute]")).to_have_text("静音")
    bar.locator("[data-call=mute]").click()
    expect(bar.locator("[data-call=mute]")).to_have_text("取消静音")
    expect(bar.locator("[data-call=hangup]")).to_have_text("挂断")
    bar.locator("[data-call=hangup]").click()
    expect(customer.locator("#call-bar [data-role=call-state]")).to_have_text("通话已结束。")

    panel = rider_order(rider, order_id).locator("[data-chat=customer]")
    quick = panel.locator("[data-quick=\"I'm downstairs\"]")
    expect(quick).to_have_text("我在楼下")
    quick.click()
    expect(customer.locator("[data-chat=rider] .chat-msg:not(.chat-pending) .chat-text")).to_have_text(["我在楼下"])
    expect(panel.locator("[data-role=chat-send]")).to_have_text("发送")
    rctx.close()
    cctx.close()
