"""The merchant's webhook page against a live stack (daphne, a Celery worker and beat): add an endpoint (the secret
shown once), an order's `order.created` reaches a receiver in this test, signed (checked with the snippet of
docs/webhooks.md); "Redeliver" in the log sends the same event id again; rotate shows a new secret; delete empties
the list. Screenshots in both languages."""

from __future__ import annotations

import json
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import assert_accessible
from tests.browser.test_dispatch_board import new_order
from tests.webhook_receiver import start_receiver

pytestmark = pytest.mark.browser
DESKTOP = {"viewport": {"width": 1200, "height": 900}}
ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


@pytest.fixture
def receiver():
    r, server = start_receiver()
    yield r
    server.shutdown()
    server.server_close()


def wait_for(predicate, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting")


def portal(browser, stack, **options):
    context = browser.new_context(base_url=stack.url, **DESKTOP, **options)
    page = login(context, "merchant1", stack=stack, next_path="/portal/webhooks/")
    page.problems = []
    page.on("pageerror", lambda err: page.problems.append(f"uncaught: {err}"))
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"{m.text} {m.location}"))
    page.on("response", lambda r: r.status == 404 and page.problems.append(f"404 {r.url}"))
    page.reload()
    return context, page


def test_add_receive_redeliver_rotate_delete(stack, browser, receiver):
    context, page = portal(browser, stack)
    expect(page.locator("#hook-empty")).to_be_visible()
    page.fill("#hook-url", receiver.url)
    page.click("#hook-add")
    secret_box = page.locator("#secret-value")
    expect(secret_box).to_contain_text("whsec_")
    secret = secret_box.inner_text().strip()
    receiver.secrets = [secret]
    screenshot(page, "portal-webhooks-secret")
    page.click("#secret-hide")
    expect(page.locator("#secret-card")).to_be_hidden()
    assert secret not in page.content()
    item = page.locator("#hook-list > li")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(receiver.url)

    order = new_order(stack)
    wait_for(lambda: len(receiver.received) >= 1)  # the worker's first attempt, after commit
    first = receiver.received[0]
    body = json.loads(first.body)
    assert (body["type"], body["data"]["order"]) == ("order.created", order["id"])
    assert first.verified == {secret: True}

    item.get_by_role("button", name="Deliveries").click()
    row = page.locator("#log-rows tr").first
    expect(row).to_contain_text("order.created")
    expect(row).to_contain_text("delivered")
    expect(row).to_contain_text("200")
    screenshot(page, "portal-webhooks-log")
    assert_accessible(page, "portal-webhooks")
    row.get_by_role("button", name="Redeliver").click()
    expect(page.locator("#toast")).to_contain_text("Sent again")
    wait_for(lambda: len(receiver.received) >= 2)
    again = receiver.received[1]
    assert json.loads(again.body)["id"] == body["id"] and again.verified == {secret: True}
    expect(page.locator("#log-rows tr").first.locator("td").nth(3)).to_have_text("2")

    item.get_by_role("button", name="Rotate secret").click()
    expect(secret_box).to_contain_text("whsec_")
    rotated = secret_box.inner_text().strip()
    assert rotated != secret
    expect(page.locator("#hook-list > li")).to_contain_text("previous secret also signs")
    page.click("#secret-hide")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#hook-list > li").get_by_role("button", name="Delete").click()
    expect(page.locator("#hook-list > li")).to_have_count(0)
    expect(page.locator("#hook-empty")).to_be_visible()
    assert page.problems == []
    context.close()


def test_the_page_in_chinese_and_refusals(stack, browser):
    context, page = portal(browser, stack, **ZH)
    expect(page.locator("h1")).to_have_text("Webhook")
    page.fill("#hook-url", "ftp://example.com/in")
    page.click("#hook-add")
    expect(page.locator("#hook-url-error")).to_contain_text("不允许使用该网址")
    expect(page.locator("#hook-url")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "portal-webhooks-zh")
    assert page.problems == [] or all("400" in p for p in page.problems)
    context.close()
