"""The dispatcher's board in Debian's Chromium against a live stack (daphne, Celery worker and beat).

New orders appear without a reload, assigning and reassigning through the suggestions updates the row, a
rider's position moves their marker live (no map tiles here: the markers must work without them), a
teleporting rider raises an alert, and break-glass asks for a reason, shows the contact only in its
dialog, forgets it, and explains the daily quota. The page never shows the customer's plain data
anywhere else, and the strict CSP holds (no violations in the console).
"""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.factories import CUSTOMER_NAME, PII_STRINGS, order_payload

pytestmark = pytest.mark.browser

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
QUOTA = 2
M_PER_DEG_LAT = 111_195.0


@pytest.fixture(scope="module")
def stack_env():
    return {"BREAK_GLASS_QUOTA_PER_DAY": str(QUOTA)}


@pytest.fixture(scope="module")
def rider_ids(stack) -> dict[str, int]:
    riders = stack.login("dispatcher1").get("/api/dispatch/riders/").json()
    return {r["name"]: r["id"] for r in riders}


def open_board(stack, browser):
    """A desktop context on /dispatch/ as dispatcher1, once the board has loaded and the socket is live.
    CSP refusals and uncaught errors are collected on `page.problems` (tile loads fail here: no internet)."""
    context = browser.new_context(base_url=stack.url, **DESKTOP)
    page = login(context, "dispatcher1", stack=stack)
    page.problems = []
    page.on("pageerror", lambda err: page.problems.append(f"uncaught: {err}"))
    page.on("console", lambda msg: page.problems.append(msg.text)
            if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text) else None)
    page.goto("/dispatch/")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return context, page


def new_order(stack) -> dict:
    r = stack.token_client("merchant1").post("/api/orders/", json=order_payload())
    assert r.status_code == 201, r.text
    return r.json()


def assert_no_pii(page, *, outside: str = "") -> None:
    """No plain customer data in the document (optionally ignoring one element, e.g. the open dialog)."""
    html = page.evaluate("""(skip) => {
      const clone = document.documentElement.cloneNode(true);
      if (skip) clone.querySelectorAll(skip).forEach((n) => n.remove());
      return clone.outerHTML + "\\n" + clone.textContent;
    }""", outside)
    leaks = [s for s in PII_STRINGS if s.lower() in html.lower()]
    assert not leaks, leaks


def post_position(client, lat: float, lng: float, seq: int, *, at: float | None = None) -> dict:
    r = client.post("/api/rider/location/", json={"lat": lat, "lng": lng, "accuracy": 10,
                                                  "timestamp": at or time.time(), "seq": seq})
    assert r.status_code == 200, r.text
    return r.json()


def test_new_order_appears_live_and_is_assigned_through_the_table(stack, browser, rider_ids):
    assert stack.login("rider1").get("/dispatch/").status_code == 403  # riders get the wrong-role page
    context, page = open_board(stack, browser)
    expect(page.locator("#map")).to_have_attribute("data-map", "ready")
    expect(page.locator("#map-note")).to_contain_text("Map tiles unavailable")  # no internet here
    expect(page.locator(".mk-store")).to_have_count(2)  # the stores still show without tiles

    order = new_order(stack)
    row = page.locator(f'tr[data-order="{order["id"]}"]')
    expect(row).to_be_visible(timeout=10_000)
    assert page.evaluate("window.__sameDocument") is True
    expect(row.locator("th.code")).to_have_text(order["pickup_code"])
    expect(row.locator(".badge")).to_have_text("New")
    expect(row).to_contain_text("Westminster")
    expect(row).to_contain_text(order["customer"]["display_name"])
    expect(row).to_contain_text(order["customer"]["phone_masked"])
    expect(row).to_contain_text("Unassigned")
    expect(page.locator(f'path.mk-order[data-order="{order["id"]}"]')).to_have_count(1)  # its ~1 km area

    # The row's button opens the suggestions, best first as the API ranks them; one tap assigns rider1.
    button = row.locator("[data-assign]")
    assert button.bounding_box()["height"] >= 48
    button.click()
    dialog = page.locator("#assign-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("#assign-status")).to_contain_text("suggested")
    ranked = page.evaluate("(id) => fetch(`/api/dispatch/orders/${id}/suggestions/`).then((r) => r.json())", order["id"])
    expect(dialog.locator("li.suggestion .rider-name")).to_have_text([s["name"] for s in ranked])
    ravi = dialog.locator(f'li.suggestion[data-rider="{rider_ids["Ravi K."]}"]')
    expect(ravi.locator(".fleet-badge")).to_have_text("Platform")
    expect(ravi.locator("[data-offer-slot]")).to_have_count(1)  # where an "Offer" button goes
    assert ravi.locator("[data-suggest-assign]").bounding_box()["height"] >= 48
    # Without a choice, the by-name control says so.
    page.click("#assign-other-btn")
    expect(page.locator("#toast")).to_contain_text("Choose a rider")
    ravi.locator("[data-suggest-assign]").click()
    expect(page.locator("#toast")).to_contain_text("assigned to Ravi K.")
    expect(dialog).to_be_hidden()
    expect(row.locator("td[data-label=Rider]")).to_have_text("Ravi K.")
    expect(row.locator(".badge")).to_have_text("Rider assigned")
    expect(button).to_have_text("Reassign")
    expect(page.locator(f'#riders li[data-rider="{rider_ids["Ravi K."]}"]')).to_contain_text(order["pickup_code"])

    # Reassign to rider2 by name, in the same dialog.
    button.click()
    expect(dialog.locator(f'li.suggestion[data-rider="{rider_ids["Ravi K."]}"] [data-suggest-assign]')).to_be_disabled()
    page.select_option("#assign-other", str(rider_ids["Mia L."]))
    page.click("#assign-other-btn")
    expect(page.locator("#toast")).to_contain_text("reassigned to Mia L.")
    expect(row.locator("td[data-label=Rider]")).to_have_text("Mia L.")
    api_row = next(o for o in stack.login("dispatcher1").get("/api/dispatch/orders/").json() if o["id"] == order["id"])
    assert api_row["rider"]["id"] == rider_ids["Mia L."]

    # A change made elsewhere (the store marks it ready) reaches the row without a reload.
    r = stack.login("store1").post(f"/api/pickup/orders/{order['id']}/ready/")
    assert r.status_code == 200, r.text
    expect(row.locator(".badge")).to_have_text("Ready at store")
    assert page.evaluate("window.__sameDocument") is True

    # Every control has a label and a 48 px target.
    controls = page.evaluate("""() => [...document.querySelectorAll('main select, main button, main textarea')]
      .filter((n) => n.offsetParent !== null)
      .map((n) => ({id: n.id || n.textContent.trim(), height: n.getBoundingClientRect().height,
                    labelled: Boolean(n.labels && n.labels.length) || n.textContent.trim() !== ''}))""")
    assert controls and all(c["labelled"] for c in controls), controls
    assert [c for c in controls if c["height"] < 48] == []
    assert_no_pii(page)
    assert page.problems == []
    context.close()


def test_rider_marker_moves_without_reload_and_spoofing_raises_an_alert(stack, browser, rider_ids):
    context, page = open_board(stack, browser)
    tom = rider_ids["Tom B."]
    rider3 = stack.login("rider3")
    # On an order, so every position counts (a free rider's is shared only every 30 s).
    held = new_order(stack)
    r = stack.login("dispatcher1").post(f"/api/dispatch/orders/{held['id']}/assign/", json={"rider": tom})
    assert r.status_code == 200, r.text
    start = (51.5100, -0.1200)
    first_at = time.time() - 20  # 400 m in 20 s: a plausible ride, not a jump
    post_position(rider3, *start, seq=1, at=first_at)
    marker = page.locator(f'.mk-rider[data-rider="{tom}"]')
    expect(marker).to_have_attribute("data-lat", str(start[0]), timeout=10_000)
    expect(marker).to_have_attribute("data-lng", str(start[1]))
    before = marker.bounding_box()

    time.sleep(1.1)  # the server coalesces to one position a second per rider
    moved = (start[0] + 400 / M_PER_DEG_LAT, start[1])  # 400 m north
    post_position(rider3, *moved, seq=2, at=first_at + 20)
    expect(marker).to_have_attribute("data-lat", str(moved[0]), timeout=10_000)
    after = marker.bounding_box()
    assert after["y"] < before["y"], (before, after)  # drawn further north, not just relabelled
    assert page.evaluate("window.__sameDocument") is True
    expect(page.locator(f'#riders li[data-rider="{tom}"]')).to_contain_text("seen")

    # rider2 holds an order: a jump of ~10 km in two seconds is flagged, and the dispatcher hears of it.
    order = new_order(stack)
    r = stack.login("dispatcher1").post(f"/api/dispatch/orders/{order['id']}/assign/", json={"rider": rider_ids["Mia L."]})
    assert r.status_code == 200, r.text
    rider2 = stack.login("rider2")
    now = time.time()
    assert post_position(rider2, 51.5000, -0.1200, seq=1, at=now - 2)["accepted"] is True
    assert post_position(rider2, 51.5900, -0.1200, seq=2, at=now)["accepted"] is False
    alert = page.locator(f'#alerts li[data-kind="spoof"][data-order="{order["id"]}"]')
    expect(alert).to_have_count(1, timeout=10_000)
    expect(alert).to_contain_text("Mia L.")
    expect(alert).to_contain_text(order["pickup_code"])
    expect(alert).to_contain_text("jumped more than 5 km")
    expect(page.locator("#alerts-empty")).to_be_hidden()
    kept = page.locator(f'#alerts-bar [data-alert][data-order="{order["id"]}"]')  # kept until acknowledged
    expect(kept).to_contain_text("Suspicious location")
    page.reload()
    expect(kept).to_contain_text("Suspicious location")  # survives a reload
    kept.locator("[data-ack]").click()
    expect(kept).to_have_count(0)
    assert page.locator("#alerts").get_attribute("aria-live") == "polite"
    expect(page.locator(f'tr[data-order="{order["id"]}"]')).to_be_visible()

    page.evaluate("document.getElementById('toast').hidden = true")  # the toast would cover the table
    page.mouse.move(0, 0)
    screenshot(page, "dispatch-board")
    assert_no_pii(page)
    assert page.problems == []
    context.close()


def test_break_glass_needs_a_reason_shows_the_contact_only_in_its_dialog_then_forgets_it(stack, browser):
    order = new_order(stack)
    context, page = open_board(stack, browser)
    row = page.locator(f'tr[data-order="{order["id"]}"]')
    opener = row.locator("[data-glass]")
    opener.click()
    dialog = page.locator("#glass-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#glass-title")).to_contain_text(order["pickup_code"])
    assert page.evaluate("document.activeElement.id") == "glass-reason"  # focus moves into the dialog

    # No reason, no confirmation: both are explained, nothing is sent.
    page.click("#glass-submit")
    expect(page.locator("#glass-reason-error")).to_contain_text("at least 10 characters")
    expect(page.locator("#glass-confirm-error")).to_contain_text("Confirm")
    expect(page.locator("#glass-reason")).to_have_attribute("aria-invalid", "true")
    page.fill("#glass-reason", "too short")
    page.check("#glass-confirm")
    page.click("#glass-submit")
    expect(page.locator("#glass-reason-error")).to_be_visible()
    expect(page.locator("#contact-dialog")).to_be_hidden()

    page.fill("#glass-reason", "Rider injured at the door, customer must be told")
    page.click("#glass-submit")
    contact = page.locator("#contact-dialog")
    expect(contact).to_be_visible()
    expect(dialog).to_be_hidden()
    expect(page.locator("#contact-name")).to_have_text(CUSTOMER_NAME)
    expect(page.locator("#contact-phone")).to_have_attribute("href", "tel:+447700905678")
    expect(page.locator("#contact-remaining")).to_have_text(re.compile(r"^1[45]:\d\d$"))
    expect(page.locator("#toast")).to_contain_text("logged")
    assert page.evaluate("document.activeElement.id") == "contact-title"
    assert_no_pii(page, outside="#contact-dialog")  # the contact is in the dialog and nowhere else

    page.click("#contact-dialog [data-close]")
    expect(contact).to_be_hidden()
    expect(page.locator("#contact-name")).to_have_text("")
    assert page.evaluate("document.activeElement.dataset.glass") == str(order["id"])  # focus returns
    assert_no_pii(page)
    stored = page.evaluate("() => JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)])")
    assert CUSTOMER_NAME not in stored and "905678" not in stored

    # The quota (2 a day in this stack): the second works, the third is refused and explained.
    for attempt in (2, 3):
        opener.click()
        page.fill("#glass-reason", f"Emergency number {attempt}: customer unreachable at door")
        page.check("#glass-confirm")
        page.click("#glass-submit")
        if attempt <= QUOTA:
            expect(contact).to_be_visible()
            page.keyboard.press("Escape")  # Escape closes and forgets too
            expect(contact).to_be_hidden()
            expect(page.locator("#contact-name")).to_have_text("")
    error = page.locator("#glass-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("Quota reached")
    expect(error).to_contain_text("quota")
    expect(page.locator("#toast")).to_contain_text("Quota reached")
    expect(contact).to_be_hidden()
    page.click("#glass-dialog [data-close]")
    expect(dialog).to_be_hidden()
    assert_no_pii(page)
    assert page.problems == []
    context.close()
