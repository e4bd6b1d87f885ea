"""Offers on the phone, through the live stack: merchant2's store auto-dispatches a new order, the real worker
offers it to the best rider, whose app shows the job with a countdown and an alert that repeats until answered.
Accepting puts the order in the rider's list; a second order goes to the next rider, in Chinese, who declines it."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import PHONE
from tests.factories import PII_STRINGS, order_payload
from tests.harness import DEMO_PASSWORD

pytestmark = pytest.mark.browser

ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


def _post(url: str, body: dict, token: str = "") -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - the test's own local server
        return json.loads(response.read())


def test_an_auto_dispatched_offer_rings_until_accepted_and_the_next_is_declined_in_chinese(stack, browser):
    token = _post(f"{stack.url}/api/auth/token/", {"username": "merchant2", "password": DEMO_PASSWORD})["token"]
    en = browser.new_context(base_url=stack.url, **PHONE)
    zh = browser.new_context(base_url=stack.url, **PHONE, **ZH)
    try:
        rider1 = login(en, "rider1", stack=stack)
        rider2 = login(zh, "rider2", stack=stack)
        for page in (rider1, rider2):
            expect(page.locator("body")).to_have_attribute("data-ready", "true")

        # No rider has a position: the ranking falls back to load, then id, so rider1 is asked first.
        first = _post(f"{stack.url}/api/orders/", order_payload(), token)
        card = rider1.locator(".offer-card")
        expect(card).to_be_visible(timeout=30_000)
        expect(card.locator(".offer-store")).to_have_text("Noodle Bar Central")
        expect(card).to_contain_text("Westminster")
        expect(card.locator(".offer-pay")).to_contain_text("4.50")
        expect(card.locator(".offer-timer")).to_contain_text("seconds left")
        for secret in PII_STRINGS:
            assert secret not in rider1.content()
        # The alert repeats (every 4 s) while the offer is open.
        expect(rider1.locator("body")).to_have_attribute("data-offer-rings", re.compile(r"^([2-9]|\d\d+)$"))
        screenshot(rider1, "rider-offer", full_page=False)
        rider1.click(".offer-card [data-accept]")
        expect(card).to_have_count(0)
        # The job is now the rider's order, and the app opens its only one.
        expect(rider1.locator(f"article.order[data-order='{first['id']}']")).to_be_visible()
        rings = rider1.evaluate("Number(document.body.dataset.offerRings)")
        rider1.wait_for_timeout(4500)
        assert rider1.evaluate("Number(document.body.dataset.offerRings)") == rings  # answered: silent

        # rider1 now carries an order: the next one goes to rider2, whose phone speaks Chinese.
        _post(f"{stack.url}/api/orders/", order_payload(), token)
        card = rider2.locator(".offer-card")
        expect(card).to_be_visible(timeout=30_000)
        expect(card.locator(".offer-timer")).to_contain_text("秒")
        expect(card.locator("[data-decline]")).to_have_text("拒单")
        screenshot(rider2, "rider-offer-zh", full_page=False)
        rider2.click(".offer-card [data-decline]")
        expect(card).to_have_count(0)
    finally:
        en.close()
        zh.close()
