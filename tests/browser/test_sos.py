"""SOS in Debian's Chromium: a rider whose location is blocked presses SOS, cancels once (the pocket-press
guard), then sends it with a note. The app says it went without a position and calls dispatch in the app over
the rider's line; the board rings with the rider's name, shows the note in the rider's messages, answers, and
both sides connect. No break-glass and no order involved."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.rtc_helpers import DESK, PHONE, call_page, media_browser, wait_connected

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(playwright_instance):
    yield from media_browser(playwright_instance)


def test_sos_without_location_alerts_dispatch_and_calls_it_in_the_app(stack, browser):
    board_ctx, board = call_page(stack, browser, "dispatcher1", path="/dispatch/", **DESK)
    rider_ctx, rider = call_page(stack, browser, "rider1", path="/rider/", **PHONE)  # no geolocation

    # A pocket press: the confirm step opens, Cancel sends nothing.
    rider.locator("#sos-btn").click()
    expect(rider.locator("#sos-dialog")).to_be_visible()
    rider.get_by_role("button", name="Cancel").click()
    expect(rider.locator("#sos-dialog")).to_be_hidden()
    expect(rider.locator("#sos-status")).to_have_text("")

    rider.locator("#sos-btn").click()
    rider.fill("#sos-note", "Two men followed me from the store")
    screenshot(rider, "rider-sos-confirm", full_page=False)
    rider.locator("#sos-send").click()
    expect(rider.locator("#sos-status")).to_have_attribute("data-state", "sent-no-position")
    expect(rider.locator("#sos-status")).to_contain_text("without your position")
    expect(rider.locator("#call-bar")).to_have_attribute("data-state", re.compile("calling|connecting"))

    # The board: the call rings with the rider's name, and the note is in the rider's messages.
    expect(board.locator("#call-bar")).to_have_attribute("data-state", "ringing")
    expect(board.locator("#call-bar [data-role=call-state]")).to_contain_text("rider ")
    expect(board.locator("#lines [data-line] .chat-text").first).to_have_text(
        "SOS: Two men followed me from the store")
    board.locator("[data-call=answer]").click()
    wait_connected(rider, board)
    expect(rider.locator("#call-bar [data-role=call-state]")).to_have_text("Connected with dispatch")
    screenshot(rider, "rider-sos-call", full_page=False)
    screenshot(board, "board-sos-line", full_page=False)

    board.locator("#lines [data-line] .chat-input").fill("Police are on the way. Stay in a lit place.")
    board.locator("#lines [data-line] [data-role=chat-send]").click()
    expect(rider.locator("#line-chat .chat-theirs .chat-text").last).to_have_text(
        "Police are on the way. Stay in a lit place.")
    rider.locator("[data-call=hangup]").click()
    for page in (rider, board):
        expect(page.locator("#call-bar")).to_have_attribute("data-state", "ended")

    # After a reload the board lists the earlier thread (GET /api/dispatch/lines/); it opens with its messages.
    board.reload()
    board.wait_for_selector("body[data-ready=true]")
    earlier = board.locator("#lines-earlier [data-line-open]")
    expect(earlier).to_have_count(1)
    expect(earlier).to_contain_text("2 messages")
    earlier.click()
    expect(board.locator("#lines [data-line] .chat-text").first).to_have_text("SOS: Two men followed me from the store")
    expect(board.locator("#lines-earlier-wrap")).to_be_hidden()  # the open thread leaves the list
    rider_ctx.close()
    board_ctx.close()
