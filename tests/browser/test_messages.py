"""The customer's messages in Debian's Chromium against a live stack (daphne, Celery worker and beat): the
worker sends the "order received" message through the sandbox, a dispatcher reads it at /dev/outbox/, and the
customer stops messages from the tracking page. The strict CSP holds."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_tracking_page import open_tracking
from tests.factories import CUSTOMER_NAME, STREET, order_payload

pytestmark = pytest.mark.browser


def test_the_worker_sends_the_link_and_the_customer_stops_messages(stack, browser):
    customer = {**order_payload()["customer"], "language": "zh-hans"}
    r = stack.token_client("merchant1").post("/api/orders/", json=order_payload(customer=customer))
    assert r.status_code == 201, r.text
    token = r.json()["tracking_url"].rstrip("/").rsplit("/", 1)[1]

    desk = browser.new_context(base_url=stack.url)
    login(desk, "dispatcher1", stack=stack)
    outbox = desk.new_page()
    row = outbox.locator("tr", has_text=f"/t/{token}/")
    for _ in range(30):  # the worker sends it within seconds of the commit
        outbox.goto("/dev/outbox/")
        if row.count() and "Sent" in row.inner_text():
            break
        outbox.wait_for_timeout(500)
    expect(row).to_contain_text("Sent")
    expect(row).to_contain_text("取货号")
    expect(row).to_contain_text("/privacy/")
    text = outbox.content()
    assert CUSTOMER_NAME not in text and STREET not in text
    screenshot(outbox, "dev-outbox")

    context, page = open_tracking(stack, browser, token)
    expect(page.locator("#messages-card")).to_be_visible()
    page.locator("#messages-stop-btn").click()
    expect(page.locator("#messages-result")).to_contain_text("will not send you any more messages")
    expect(page.locator("#messages-stop-btn")).to_be_hidden()
    expect(page.locator("#messages-stopped")).to_be_visible()
    screenshot(page, "track-messages-stopped")
    assert page.problems == []
    context.close()
    desk.close()
