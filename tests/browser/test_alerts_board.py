"""The board's alerts panel against a live stack: beat's sweep finds a silent phone (the rider's app, refused the
location permission, said so) and the board shows it live, with its reason, a count and a map marker; the app's
socket closes and the reason follows ("offline"); it survives a reload (the board loads open alerts from the API);
a blank note is refused, a note closes it, and it stays closed after a reload.
Screenshots in both languages."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_dispatch_board import DESKTOP, assert_no_pii, new_order

pytestmark = pytest.mark.browser
ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


@pytest.fixture(scope="module")
def stack_env():
    return {"ALERT_STALE_AFTER_S": "2", "ALERTS_SWEEP_S": "1"}


def board(browser, stack, **options):
    context = browser.new_context(base_url=stack.url, **DESKTOP, **options)
    page = login(context, "dispatcher1", stack=stack)
    page.problems = []
    page.on("pageerror", lambda err: page.problems.append(f"uncaught: {err}"))
    page.goto("/dispatch/")
    page.wait_for_selector("body[data-ready=true]")
    return context, page


def test_a_silent_phone_is_alerted_live_acknowledged_with_a_note_and_stays_closed(stack, browser):
    dispatcher = stack.login("dispatcher1")
    riders = {r["name"]: r["id"] for r in dispatcher.get("/api/dispatch/riders/").json()}
    rider = riders["Tom B."]  # rider3
    context, page = board(browser, stack)
    order = new_order(stack)
    assert dispatcher.post(f"/api/dispatch/orders/{order['id']}/assign/", json={"rider": rider}).status_code == 200
    # Tom's app, with the location permission refused: it tells the server why it sends no position.
    rider_context = browser.new_context(base_url=stack.url, viewport={"width": 390, "height": 844})
    rider_page = login(rider_context, "rider3", stack=stack)
    rider_page.goto("/rider/")
    expect(rider_page.locator("#geo-denied")).to_be_visible()

    item = page.locator(f'#alerts li[data-kind="stale_device"][data-rider="{rider}"]')
    expect(item).to_have_count(1, timeout=20_000)  # beat's sweep, the row, the frame: no reload
    expect(item).to_contain_text("Tom B.")
    expect(item).to_contain_text("location permission denied")
    expect(page.locator('#alerts-counts [data-kind="stale_device"]')).to_be_visible()
    alert_id = item.get_attribute("data-alert")
    expect(page.locator(f'.mk-alert[data-alert="{alert_id}"]')).to_have_count(1)  # on the map

    rider_context.close()  # the app's socket closes: the reason becomes "offline", on the same open alert
    expect(item).to_contain_text("the app is offline")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(item).to_have_count(1)  # persisted: loaded from the API
    page.evaluate("document.getElementById('toast').hidden = true")
    screenshot(page, "dispatch-alerts")

    item.locator("[data-ack]").click()
    dialog = page.locator("#ack-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#ack-note")).to_be_focused()
    page.click("#ack-submit")
    expect(page.locator("#ack-note-error")).to_be_visible()  # a blank note is refused before it is sent
    page.fill("#ack-note", "Called Tom: location was off, now on")
    page.click("#ack-submit")
    expect(dialog).to_be_hidden()
    expect(item).to_have_count(0)
    expect(page.locator(f'.mk-alert[data-alert="{alert_id}"]')).to_have_count(0)
    closed = [a for a in dispatcher.get("/api/dispatch/alerts/").json() if str(a["id"]) == alert_id]
    assert closed[0]["ack_note"] == "Called Tom: location was off, now on" and closed[0]["acked_at"]

    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(item).to_have_count(0)  # the same silence, acknowledged: not raised again
    assert_no_pii(page)
    assert page.problems == []
    context.close()

    zh_context, zh = board(browser, stack, **ZH)
    expect(zh.locator("#alerts-heading")).to_contain_text("警报")
    second = new_order(stack)
    assert dispatcher.post(f"/api/dispatch/orders/{second['id']}/assign/",
                           json={"rider": riders["Mia L."]}).status_code == 200
    assert stack.login("rider2").post("/api/rider/location/state/", json={"state": "unavailable"}).status_code == 200
    zh_item = zh.locator(f'#alerts li[data-kind="stale_device"][data-rider="{riders["Mia L."]}"]')
    expect(zh_item).to_contain_text("手机失联", timeout=20_000)
    expect(zh_item).to_contain_text("定位已关闭或不可用")
    zh.evaluate("document.getElementById('toast').hidden = true")
    screenshot(zh, "dispatch-alerts-zh")
    zh_context.close()


UNCOVERED = """(sel) => { const e = document.querySelector(sel); const r = e.getBoundingClientRect();
  const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2); return e === hit || e.contains(hit); }"""


def test_an_open_alert_in_the_bar_covers_none_of_the_header_s_tools(stack, browser):
    """The alerts bar sits in the page's flow below the header: with an alert open in it, the header's mute button
    (and every other tool) is where a click lands, and it works; the bar pushes the board down instead."""
    context, page = board(browser, stack)
    assert stack.login("rider2").post("/api/rider/sos/", json={}).status_code == 201
    in_bar = page.locator("#alerts-bar [data-alert]").first
    expect(in_bar).to_be_visible(timeout=20_000)
    header, bar = page.locator(".site-header").bounding_box(), page.locator("#alerts-bar").bounding_box()
    assert bar["y"] >= header["y"] + header["height"] - 1, (header, bar)
    for tool in ("#alerts-mute", "#theme-toggle", ".lang-switch button"):
        assert page.evaluate(UNCOVERED, tool), f"{tool} is covered"
    mute = page.locator("#alerts-mute")
    pressed = mute.get_attribute("aria-pressed")
    mute.click(timeout=5_000)  # no acknowledgement first
    expect(mute).not_to_have_attribute("aria-pressed", pressed)
    mute.click(timeout=5_000)  # sound back on for whoever uses this browser profile next
    expect(mute).to_have_attribute("aria-pressed", pressed)
    expect(in_bar).to_be_visible()  # still open: nothing had to be acknowledged
    assert page.problems == []
    context.close()
