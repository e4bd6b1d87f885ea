"""The merchant portal in Chromium, in English and in Chinese: merchant1 logs in and lands on the portal, is told
in words when the door is outside the delivery area, gets a quote, creates the delivery (a double click makes one
order), sees the tracking link once, finds the order in the list by its reference, follows it and cancels it.
Screenshots of the list, the form with its quote and the order page in both languages; axe is clean on each."""

from __future__ import annotations

import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import DESK, assert_accessible
from tests.outputs import docs_screenshots

pytestmark = pytest.mark.browser

ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}
LANGS = {"en": {}, "zh": ZH}
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def shot(page, name: str) -> None:
    path = screenshot(page, name)
    shutil.copyfile(path, docs_screenshots() / f"{name}.png")


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_quote_create_find_follow_cancel(stack, browser, lang):
    context = browser.new_context(base_url=stack.url, **DESK, **LANGS[lang])
    try:
        page = login(context, "merchant1", stack=stack)
        assert page.url == stack.url + "/portal/"
        if lang == "zh":
            expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
            expect(page.locator("h1")).to_contain_text(CHINESE)
        ref = f"POS-PORTAL-{lang.upper()}"

        # --- The form ---------------------------------------------------------------------------------------
        page.click("nav.portal-nav a[href='/portal/orders/new/']")
        page.wait_for_selector("body[data-ready=true]")
        page.fill("#o-ref", ref)
        page.fill("#o-name", "Zhang San")
        page.fill("#o-phone", "+44 7700 905678")
        page.fill("#o-area", "Westminster")
        page.fill("#o-street", "1 Baker Street")
        page.fill("input[name=item-name]", "Plasters")
        page.click("#add-item")
        page.locator("input[name=item-name]").nth(1).fill("Sertraline")
        page.locator("input[name=item-sensitive]").nth(1).check()
        # The door by a click on the map (beside the store, where the map opens) ...
        door_map = page.locator("#door-map")
        box = door_map.bounding_box()
        door_map.click(position={"x": box["width"] / 2 + 80, "y": box["height"] / 2 + 40})
        expect(page.locator("#o-lat")).not_to_have_value("")
        lat, lng = page.input_value("#o-lat"), page.input_value("#o-lng")
        assert 51.45 < float(lat) < 51.55 and -0.2 < float(lng) < -0.05
        # ... but first a door far away: refused in words, and nothing to create.
        page.fill("#o-lat", "52.9")
        page.fill("#o-lng", "0.9")
        page.click("#quote-btn")
        expect(page.locator("#quote-text")).to_have_attribute("data-code", "out_of_area")
        expect(page.locator("#quote-text")).not_to_contain_text("out_of_area")
        if lang == "zh":
            expect(page.locator("#quote-text")).to_contain_text(CHINESE)
        expect(page.locator("#create-btn")).to_be_disabled()
        page.fill("#o-lat", lat)
        page.fill("#o-lng", lng)
        page.click("#quote-btn")
        expect(page.locator("#quote-facts")).to_be_visible()
        expect(page.locator("#quote-fee")).not_to_be_empty()
        expect(page.locator("#create-btn")).to_be_enabled()
        shot(page, f"portal-new-{lang}")
        assert_accessible(page, f"portal-new-{lang}")

        # --- Create: a double click makes one order; the link is shown once ------------------------------------
        with page.expect_response(lambda r: r.url.endswith("/api/orders/") and r.request.method == "POST") as created:
            page.dblclick("#create-btn")
        order_id = created.value.json()["id"]
        expect(page.locator("#created")).to_be_visible()
        expect(page.locator("#tracking-url")).to_have_value(re.compile(r"/t/[^/]+/$"))
        expect(page.locator("#tracking-note")).to_be_visible()
        expect(page.locator("#order-form")).to_be_hidden()
        page.click("#copy-btn")
        expect(page.locator("#toast")).to_be_visible()

        # --- The list: the order once, found by its reference ---------------------------------------------------
        page.click("nav.portal-nav a[href='/portal/']")
        table = page.locator("#orders-table[data-ready=true]")
        expect(table).to_be_visible()
        expect(page.locator(f"tr[data-order='{order_id}']")).to_be_visible()
        page.fill("#f-q", ref[:-1])  # the start of the reference: the server searches, not the loaded rows
        with page.expect_response(lambda r: "/api/orders/?" in r.url and "q=" in r.url) as searched:
            page.click("#filters button[type=submit]")
        assert searched.value.status == 200 and f"q={ref[:-1]}" in searched.value.url
        expect(page.locator("#orders-body tr")).to_have_count(1)
        expect(page.locator(f"tr[data-order='{order_id}']")).to_be_visible()
        page.fill("#f-q", "")
        page.click("#filters button[type=submit]")
        expect(page.locator("#orders-summary")).not_to_contain_text(ref)
        expect(page.locator(f"tr[data-order='{order_id}']")).to_be_visible()
        shot(page, f"portal-list-{lang}")
        assert_accessible(page, f"portal-list-{lang}")

        # --- The order: masked, a coarse map, the timeline; then cancel with a reason ---------------------------
        page.click(f"tr[data-order='{order_id}'] a.row-link")
        expect(page.locator("#order[data-ready=true]")).to_be_visible()
        expect(page.locator("#f-customer")).to_contain_text("****5678")
        expect(page.locator("#f-customer")).not_to_contain_text("Zhang San")
        expect(page.locator("#timeline li")).to_have_count(1)
        expect(page.locator("#status-badge")).to_have_attribute("data-status", "created")
        content = page.content()
        assert "Baker" not in content and "905678 " not in content and "Sertraline" not in content
        shot(page, f"portal-order-{lang}")
        assert_accessible(page, f"portal-order-{lang}")

        page.click("#cancel-btn")
        dialog = page.locator("#cancel-dialog")
        expect(dialog).to_be_visible()
        page.select_option("#cancel-reason", "out_of_stock")
        page.click("#cancel-submit")
        expect(dialog).to_be_hidden()
        expect(page.locator("#status-badge")).to_have_attribute("data-status", "cancelled")
        expect(page.locator("#timeline li")).to_have_count(2)
        expect(page.locator("#cancel-btn")).to_be_hidden()

        # --- The label from the order page ----------------------------------------------------------------------
        page.click(f"a[href='/portal/orders/{order_id}/label/']")
        expect(page.locator("[data-role=customer-phone]")).to_have_text("****5678")
    finally:
        context.close()


def test_another_merchant_s_order_page_is_the_not_found_page(stack, browser):
    context = browser.new_context(base_url=stack.url, **DESK)
    try:
        out = stack.manage("demo_order").stdout
        order_id = int(re.search(r"Order (\d+)", out).group(1))
        page = login(context, "merchant2", stack=stack)
        response = page.goto(f"/portal/orders/{order_id}/")
        assert response.status == 404
    finally:
        context.close()
