"""Browser fixtures: a live stack (daphne, Celery worker and beat) per test module, Debian's Chromium
through Playwright, and helpers to log in and save screenshots.

    @pytest.mark.browser
    def test_something(stack, browser):
        context = browser.new_context()
        page = login(context, "rider1", stack=stack)   # -> a page on the account's home screen
        screenshot(page, "rider-list")

A module may override `stack_env` (a dict) to start its stack with extra settings. Every stack is a copy of one
migrated, demo-data'd template (tests.harness.Template), so a module's own stack costs its processes' start-up
(a few seconds), and no module sees another's orders, quotas or locks. A new module needs nothing more: use
`stack` (and `stack_env` if it needs settings), and create its own orders (`stack.manage("demo_order", ...)`).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.harness import CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD, LiveStack, attach_stack_logs, chromium_available

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
SKIP_REASON = "Debian chromium is not installed (/usr/bin/chromium)"


def pytest_collection_modifyitems(config, items):
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=SKIP_REASON)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    attach_stack_logs(report, item)  # a failure in CI comes with the worker's, beat's and daphne's last lines
    return report


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    """Extra environment for the module's stack; override in a test module."""
    return {}


@pytest.fixture(scope="module")
def stack(tmp_path_factory, stack_env):
    if not chromium_available():
        pytest.skip(SKIP_REASON)
    with LiveStack(tmp_path_factory.mktemp("stack"), workers=True, beat=True, env=stack_env) as live:
        yield live


@pytest.fixture(scope="module")
def playwright_instance():
    if not chromium_available():
        pytest.skip(SKIP_REASON)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="module")
def browser(playwright_instance):
    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


DOOR = (51.5033, -0.1196)  # the door of the demo order's customer (demo_order and order_payload)
M_PER_DEG_LAT = 111_195.0


@pytest.fixture(autouse=True)
def _patient_expect():
    """Live updates cross a relay, a socket and a re-fetch: allow for a busy machine."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def south_of_door(metres: float) -> dict:
    """An emulated geolocation `metres` south of the door, accuracy 10 m."""
    return {"latitude": DOOR[0] - metres / M_PER_DEG_LAT, "longitude": DOOR[1], "accuracy": 10}


def login(context, username: str, *, stack: LiveStack | None = None, base_url: str = "", next_path: str = ""):
    """Log in through /accounts/login/ in `context`; returns the page (left where login redirected).

    The base URL comes from `stack`, `base_url`, or the context's own base_url."""
    base = stack.url if stack is not None else base_url
    page = context.new_page()
    url = f"{base}/accounts/login/" + (f"?next={next_path}" if next_path else "")
    page.goto(url)
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit]")
    if re.search(r"/accounts/login/", page.url):
        raise AssertionError(f"login failed for {username}: still on {page.url}")
    return page


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    if full_page:
        page.evaluate("window.scrollTo(0, 0)")  # sticky bars (connection state) then sit at the top
    page.screenshot(path=str(path), full_page=full_page)
    return path


def rider_order(page, order_id: int):
    """The rider's order view for `order_id`, opened from the list when it is not showing yet."""
    from playwright.sync_api import expect

    order = page.locator(f"article.order[data-order='{order_id}']")
    if not order.is_visible():
        page.click(f"li.order-card[data-order='{order_id}'] button")
    expect(order).to_be_visible()
    return order
