"""The accountability pages in Chromium on a seeded month (seed_month): the dispatch admin's report, a merchant's
report of its own stores, and the privacy notice in English and Chinese, each clean under axe, each saved as a
screenshot (make screenshots copies them to docs/screenshots/)."""

from __future__ import annotations

import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import DESK, PHONE, assert_accessible
from tests.outputs import docs_screenshots

pytestmark = pytest.mark.browser

ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


@pytest.fixture(scope="module")
def seeded(stack):
    done = stack.manage("seed_month", "--days", "30", "--per-day", "8", "--old", "8")
    return done.stdout


def _keep(page, name: str, *, full_page: bool = True) -> None:
    shutil.copyfile(screenshot(page, name, full_page=full_page), docs_screenshots() / f"{name}.png")


def test_dispatch_admin_report(stack, browser, seeded):
    context = browser.new_context(base_url=stack.url, **DESK)
    page = login(context, "dispatcher1", stack=stack, next_path="/dispatch/reports/")
    page.goto("/dispatch/reports/")
    expect(page.locator("#audit-verdict")).to_contain_text("intact")
    expect(page.locator("#reads-table tbody tr").first).to_be_visible()
    expect(page.locator("#bg-table")).to_be_visible()
    assert_accessible(page, "report-admin")
    _keep(page, "report-admin")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download operations (CSV)").click()
    assert download.value.suggested_filename.startswith("platform-operations-")
    context.close()


def test_merchant_report(stack, browser, seeded):
    context = browser.new_context(base_url=stack.url, **DESK)
    page = login(context, "merchant1", stack=stack)
    page.goto("/portal/reports/")
    nav = page.get_by_role("navigation", name="Merchant portal")
    expect(nav.get_by_role("link", name="Orders")).to_have_attribute("href", "/portal/")
    expect(nav.locator("a[aria-current=page]")).to_have_attribute("href", "/portal/reports/")
    expect(page.locator("#bg-table")).to_have_count(0)  # counts only, never the reasons
    assert_accessible(page, "report-merchant")
    _keep(page, "report-merchant")
    context.close()


@pytest.mark.parametrize(("lang", "options", "heading"), [("en", {}, "Your data on this delivery"),
                                                         ("zh", ZH, "这单配送中您的信息")])
def test_privacy_notice(stack, browser, lang, options, heading):
    context = browser.new_context(base_url=stack.url, **PHONE, **options)
    page = context.new_page()
    page.goto("/privacy/")
    expect(page.locator("h1")).to_have_text(heading)
    expect(page.locator("#retention")).to_contain_text("90")
    assert_accessible(page, f"privacy-{lang}")
    _keep(page, f"privacy-{lang}")
    context.close()
