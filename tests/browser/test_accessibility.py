"""Every main screen through axe-core (WCAG 2.1 A and AA rules) in Debian's Chromium against one live stack.

The login page, the rider's phone (the order list, an opened order with its handoff code, and an order at
the door with its Leaflet map), the store counter (the queue, a looked-up bag, a refusal, a passed check and a
handoff with its undo button), the privacy label, the dispatcher's board with its map and its break-glass dialog,
and the customer's tracking page (and its expired page). Each screen is
its own test, so a failure names the screen; its message lists each rule broken, its impact, and the
selectors of the offending nodes.

axe-core's JavaScript comes from the axe-playwright-python package: no network is needed. Besides the rules tagged
WCAG 2.0/2.1 A and AA, the scan turns on label-content-name-mismatch (WCAG 2.5.3, Label in Name, level A), which
axe ships as experimental and so leaves out of a tag run. Nothing is excluded. Each screen's violations and
"needs review" items are written to tests/artifacts/axe/<screen>.json.
"""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS, login, rider_order, screenshot, south_of_door

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 900}}
NEAR_STORE = {"latitude": 51.5074 + 1000 / 111_195, "longitude": -0.1278, "accuracy": 10}  # 1 km from store 1
WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations", "incomplete"],
               "rules": {"label-content-name-mismatch": {"enabled": True}}}  # WCAG 2.5.3 (A), experimental in axe
RESULTS = ARTIFACTS / "axe"  # each screen's violations and "needs review" items, for a person to read


def axe_violations(page, screen: str) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    response = Axe().run(page, options=AXE_OPTIONS).response
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{screen}.json").write_text(json.dumps(
        {"url": response["url"], "violations": response["violations"], "incomplete": response["incomplete"]}, indent=2))
    return response["violations"]


def report(screen: str, violations: list[dict]) -> str:
    lines = [f"{screen}: {len(violations)} axe violation(s) of WCAG 2.1 A/AA"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{len(v['nodes'])} node(s)] {v['helpUrl']}")
        for node in v["nodes"]:
            target = " ".join(" >>> ".join(t) if isinstance(t, list) else t for t in node["target"])
            lines.append(f"    {target}")
            if node.get("failureSummary"):
                lines.append("      " + node["failureSummary"].replace("\n", "\n      "))
    return "\n".join(lines)


def assert_accessible(page, screen: str) -> None:
    violations = axe_violations(page, screen)
    if violations:
        screenshot(page, f"a11y-{screen}")
    assert not violations, report(screen, violations)


# --- One stack, a few orders -------------------------------------------------------------------------------
def new_order(stack, rider: str) -> tuple[int, str, str]:
    out = stack.manage("demo_order", "--rider", rider).stdout
    m = re.search(r"Order (\d+), pickup number (\S+)\. Customer tracking: \S+/t/([^/\s]+)/", out)
    assert m, out
    return int(m.group(1)), m.group(2), m.group(3)


@pytest.fixture(scope="module")
def order(stack) -> dict:
    """rider1's orders, assigned and still at the store: two, so the phone shows its list first."""
    order_id, pickup, token = new_order(stack, "rider1")
    second, _, _ = new_order(stack, "rider1")
    return {"id": order_id, "pickup": pickup, "token": token, "second": second}


@pytest.fixture(scope="module")
def collected(stack) -> dict:
    """rider2's order, ready and handed over at the counter (the rider may then see the street and the door)."""
    order_id, pickup, token = new_order(stack, "rider2")
    store = stack.login("store1")
    assert store.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    code = stack.login("rider2").get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    r = store.post("/api/pickup/handoff/", json={"pickup_code": pickup, "rider_code": code})
    assert r.status_code == 200, r.text
    return {"id": order_id, "pickup": pickup, "token": token}


@pytest.fixture
def open_screen(stack, browser):
    """open_screen(username or None, path, **context options) -> a page at `path`, ready; closed after the test."""
    contexts = []

    def _open(username: str | None, path: str, **options):
        context = browser.new_context(base_url=stack.url, **options)
        contexts.append(context)
        page = login(context, username, stack=stack) if username else context.new_page()
        page.goto(path)
        return page

    yield _open
    for context in contexts:
        context.close()


def ready(page, *, live: bool = True) -> None:
    page.wait_for_selector("body[data-ready=true]")
    if live:
        expect(page.locator("#conn")).to_have_attribute("data-state", "online")


# --- The screens -------------------------------------------------------------------------------------------
def test_login_page(open_screen):
    page = open_screen(None, "/accounts/login/", **DESK)
    expect(page.locator("#id_username")).to_be_visible()
    assert_accessible(page, "login")


def test_login_page_with_error(open_screen):
    page = open_screen(None, "/accounts/login/", **PHONE)
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "wrong-password")
    with page.expect_navigation():
        page.click("button[type=submit]")
    expect(page.locator(".error")).to_be_visible()
    assert_accessible(page, "login-error")


def test_rider_order_list(open_screen, order):
    page = open_screen("rider1", "/rider/", geolocation=NEAR_STORE, permissions=["geolocation"], **PHONE)
    ready(page)
    expect(page.locator(f"li.order-card[data-order='{order['id']}']")).to_be_visible()
    expect(page.locator(f"li.order-card[data-order='{order['second']}']")).to_be_visible()
    expect(page.locator("#bag-store option").first).not_to_have_text("Loading stores…")
    assert_accessible(page, "rider-list")


def test_rider_order_with_handoff_code(open_screen, order):
    page = open_screen("rider1", "/rider/", geolocation=NEAR_STORE, permissions=["geolocation"], **PHONE)
    ready(page)
    article = rider_order(page, order["id"])
    expect(article.locator("[data-role=status]")).to_have_text("Preparing")
    article.locator("[data-action=handoff-code]").click()
    expect(article.locator("[data-role=handoff-code]")).to_have_text(re.compile(r"^\d{6}$"))
    assert_accessible(page, "rider-order")


def test_rider_order_at_the_door_with_map(open_screen, collected):
    page = open_screen("rider2", "/rider/", geolocation=south_of_door(120), permissions=["geolocation"], **PHONE)
    ready(page)
    article = rider_order(page, collected["id"])
    expect(article.locator("[data-role=status]")).to_have_text("Picked up")
    # A second precise fix inside the door radius (at a walking pace) reveals the door and its pin.
    ack = page.locator("#geo-ack")
    expect(ack).to_have_attribute("data-accepted", "true")
    before = ack.get_attribute("data-seq") or ""
    time.sleep(1)
    page.context.set_geolocation(south_of_door(100))
    page.wait_for_function("s => document.getElementById('geo-ack').dataset.seq !== s", arg=before, timeout=15_000)
    expect(article.locator("[data-role=tier]")).to_have_text("Door")
    expect(article.locator("[data-role=map]")).to_be_visible()
    expect(article.locator(".leaflet-marker-icon")).to_be_visible()
    expect(article.locator(".leaflet-control-zoom-in")).to_be_visible()
    assert_accessible(page, "rider-door-map")


def test_store_console(open_screen, order):
    page = open_screen("store1", "/pickup/", **DESK)
    ready(page)
    expect(page.locator(f"li.order-card[data-order='{order['id']}'] [data-role=pickup-code]")).to_have_text(
        order["pickup"])
    assert_accessible(page, "store-console")


def test_store_console_bag_looked_up(open_screen, order):
    page = open_screen("store1", "/pickup/", **DESK)
    ready(page)
    page.fill("#pickup-input", order["pickup"])
    page.click("#lookup-btn")
    expect(page.locator("#bag-code")).to_have_text(order["pickup"])
    expect(page.locator("#bag-status")).not_to_be_empty()
    assert_accessible(page, "store-console-bag")


def test_store_console_refusal(open_screen, order):
    page = open_screen("store1", "/pickup/", **DESK)
    ready(page)
    page.fill("#pickup-input", "999")
    page.click("#lookup-btn")
    expect(page.locator("#verdict")).to_have_attribute("data-kind", "bad")
    expect(page.locator("#verdict")).to_have_attribute("data-code", "unknown_code")
    assert_accessible(page, "store-console-refused")


def test_store_console_after_handoff(stack, open_screen):
    # rider3, whom no other test here opens: a picked-up order of rider1's would open itself on rider1's phone
    # (the only active order), hiding the list that the rider-list screens check (the fresh-clone CI of f2d60d1
    # ran this test first and failed test_main_screens_in_dark_mode[rider-list]).
    order_id, pickup, _ = new_order(stack, "rider3")
    assert stack.login("store1").post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    code = stack.login("rider3").get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    page = open_screen("store1", "/pickup/", **DESK)
    ready(page)
    page.fill("#pickup-input", pickup)
    page.click("#lookup-btn")
    expect(page.locator("#bag-code")).to_have_text(pickup)
    page.fill("#rider-code-input", code)
    page.click("#check-btn")
    expect(page.locator("#verdict")).to_have_attribute("data-kind", "ok")
    assert_accessible(page, "store-console-verdict-ok")
    page.click("#confirm-btn")
    expect(page.locator("#verdict")).to_have_attribute("data-kind", "done")
    expect(page.locator(f"#history li[data-order='{order_id}'] [data-undo]")).to_have_text(re.compile(r"^Undo \(\d+ s\)$"))
    assert_accessible(page, "store-console-handed-over")


def test_privacy_label(open_screen, order):
    page = open_screen("store1", f"/pickup/orders/{order['id']}/label/", **DESK)
    ready(page, live=False)
    expect(page.locator(".l-code")).to_have_text(order["pickup"])
    assert_accessible(page, "label")


def test_dispatch_board(open_screen, order):
    page = open_screen("dispatcher1", "/dispatch/", **DESK)
    ready(page)
    expect(page.locator("#map")).to_have_attribute("data-map", "ready")
    expect(page.locator(f'tr[data-order="{order["id"]}"]')).to_be_visible()
    expect(page.locator("#map .mk-store")).to_have_count(2)
    assert_accessible(page, "dispatch-board")


def test_dispatch_board_break_glass_dialog(open_screen, order):
    page = open_screen("dispatcher1", "/dispatch/", **DESK)
    ready(page)
    page.click(f'tr[data-order="{order["id"]}"] [data-glass]')
    expect(page.locator("#glass-dialog")).to_be_visible()
    page.click("#glass-submit")  # empty: both fields explain what they need
    expect(page.locator("#glass-reason-error")).to_be_visible()
    expect(page.locator("#glass-confirm-error")).to_be_visible()
    assert_accessible(page, "dispatch-break-glass")


def test_tracking_page(open_screen, order):
    page = open_screen(None, f"/t/{order['token']}/", **PHONE)
    ready(page)
    expect(page.locator("#track-order")).to_contain_text(order["pickup"])
    expect(page.locator("#pin-card")).to_be_visible()
    assert_accessible(page, "tracking")


def test_tracking_page_expired(open_screen):
    page = open_screen(None, "/t/not-a-real-token/", **PHONE)
    expect(page.locator("h1")).to_have_text("This tracking link has expired")
    assert_accessible(page, "tracking-expired")


# --- The same screens in Chinese (zh-Hans from the browser's Accept-Language) --------------------------------
ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


def test_screens_in_chinese(open_screen, order):
    """Every main screen again with a zh-CN browser: lang="zh-hans" and still no axe violation."""
    screens = [
        (None, "/accounts/login/", DESK, "login-zh", False),
        ("rider1", "/rider/", {**PHONE, "geolocation": NEAR_STORE, "permissions": ["geolocation"]}, "rider-list-zh", True),
        ("store1", "/pickup/", DESK, "store-console-zh", True),
        ("store1", f"/pickup/orders/{order['id']}/label/", DESK, "label-zh", False),
        ("dispatcher1", "/dispatch/", DESK, "dispatch-board-zh", True),
        (None, f"/t/{order['token']}/", PHONE, "tracking-zh", True),
        (None, "/t/not-a-real-token/", PHONE, "tracking-expired-zh", None),
    ]
    for username, path, options, screen, live in screens:
        page = open_screen(username, path, **options, **ZH)
        if live is not None and path != "/accounts/login/":
            ready(page, live=live)
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.locator("h1").first).to_contain_text(re.compile(r"[\u4e00-\u9fff]"))
        assert_accessible(page, screen)


# --- Night mode: the main screens again with prefers-color-scheme: dark ------------------------------------
@pytest.mark.parametrize("screen", ["rider-list", "rider-door", "store-console", "dispatch-board", "tracking"])
def test_main_screens_in_dark_mode(open_screen, order, collected, screen):
    if screen == "rider-list":
        page = open_screen("rider1", "/rider/", geolocation=NEAR_STORE, permissions=["geolocation"], color_scheme="dark",
                           **PHONE)
        ready(page)
        expect(page.locator(f"li.order-card[data-order='{order['id']}']")).to_be_visible()
    elif screen == "rider-door":
        page = open_screen("rider2", "/rider/", geolocation=south_of_door(100), permissions=["geolocation"],
                           color_scheme="dark", **PHONE)
        ready(page)
        article = rider_order(page, collected["id"])
        expect(article.locator("[data-role=next-action] [data-action=deliver-next]")).to_be_visible()
    elif screen == "store-console":
        page = open_screen("store1", "/pickup/", color_scheme="dark", **DESK)
        ready(page)
        expect(page.locator(f"li.order-card[data-order='{order['id']}']")).to_be_visible()
    elif screen == "dispatch-board":
        page = open_screen("dispatcher1", "/dispatch/", color_scheme="dark", **DESK)
        ready(page)
        expect(page.locator(f'tr[data-order="{order["id"]}"]')).to_be_visible()
    else:
        page = open_screen(None, f"/t/{order['token']}/", color_scheme="dark", **PHONE)
        ready(page)
        expect(page.locator("#pin-card")).to_be_visible()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert_accessible(page, f"{screen}-dark")
