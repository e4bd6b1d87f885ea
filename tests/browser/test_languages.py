"""Street readiness in Chromium: the landing screen per role, Chinese (zh-Hans) on every screen from the browser's
Accept-Language with axe still clean, the language switcher, and the rider's counter QR decoded by the vendored
jsQR (what the counter uses where there is no BarcodeDetector) and confirmed a standard QR by zxing-cpp."""

from __future__ import annotations

import io
import re
import shutil

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, rider_order, screenshot
from tests.browser.test_accessibility import DESK, NEAR_STORE, PHONE, assert_accessible, new_order, ready
from tests.outputs import docs_screenshots

pytestmark = pytest.mark.browser

ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


@pytest.fixture(scope="module")
def order(stack) -> dict:
    order_id, pickup, token = new_order(stack, "rider1")
    return {"id": order_id, "pickup": pickup, "token": token}


@pytest.fixture
def new_context(browser, stack):
    contexts = []

    def _new(**options):
        context = browser.new_context(base_url=stack.url, **options)
        contexts.append(context)
        return context

    yield _new
    for context in contexts:
        context.close()


@pytest.mark.parametrize(("username", "home"), [
    ("rider1", "/rider/"), ("store1", "/pickup/"), ("dispatcher1", "/dispatch/"), ("merchant1", "/portal/"),
])
def test_login_lands_in_the_role_s_own_app(stack, new_context, username, home):
    """Each party logs in from the bare login page and lands in its own app."""
    page = login(new_context(**DESK), username, stack=stack)
    assert page.url == stack.url + home


def test_chinese_rider_screen(stack, new_context, order):
    """A rider with a zh-CN phone: the app, its JS-drawn order and the counter code speak Chinese; axe is clean."""
    page = login(new_context(geolocation=NEAR_STORE, permissions=["geolocation"], **PHONE, **ZH), "rider1", stack=stack)
    ready(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#orders-heading")).to_have_text("我的订单")
    article = rider_order(page, order["id"])
    expect(article.locator("[data-role=status]")).to_have_text("备餐中")
    expect(page.locator("#order-detail")).to_contain_text("取餐号")
    shot = screenshot(page, "rider-zh", full_page=False)
    shutil.copyfile(shot, docs_screenshots() / "rider-zh.png")
    assert_accessible(page, "rider-order-zh")


def test_chinese_counter_and_label(stack, new_context, order):
    """Store staff on a zh-CN tablet: the counter, a refusal in words (no raw code) and the privacy label."""
    context = new_context(**DESK, **ZH)
    page = login(context, "store1", stack=stack)
    ready(page)
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("#counter-heading")).to_have_text("交付餐袋")
    expect(page.locator("label[for=pickup-input]")).to_have_text("取餐号")
    assert_accessible(page, "store-console-zh")
    page.fill("#pickup-input", "999")
    page.click("#lookup-btn")
    expect(page.locator("#verdict-title")).to_have_text("没有这个号码的餐袋")
    expect(page.locator("#verdict")).not_to_contain_text("unknown_code")
    page.fill("#pickup-input", order["pickup"])
    page.click("#lookup-btn")
    expect(page.locator("#bag-code")).to_have_text(order["pickup"])
    shot = screenshot(page, "store-zh", full_page=False)
    shutil.copyfile(shot, docs_screenshots() / "store-zh.png")
    assert_accessible(page, "store-console-bag-zh")
    page.goto(f"/pickup/orders/{order['id']}/label/")
    expect(page.locator("h1")).to_contain_text("隐私面单")
    expect(page.locator(".l-caption")).to_have_text("取餐号")
    assert_accessible(page, "label-zh")


def test_chinese_dispatch_and_tracking(stack, new_context, order):
    """A dispatcher and a customer with zh-CN browsers: the board and the tracking page speak Chinese."""
    page = login(new_context(**DESK, **ZH), "dispatcher1", stack=stack)
    ready(page)
    expect(page.locator("h1")).to_have_text("调度台")
    expect(page.locator(f'tr[data-order="{order["id"]}"]')).to_contain_text("已指派骑手")
    assert_accessible(page, "dispatch-board-zh")
    customer = new_context(**PHONE, **ZH).new_page()
    customer.goto(f"/t/{order['token']}/")
    ready(customer)
    expect(customer.locator("h1")).to_have_text("你的配送")
    expect(customer.locator("#pin-heading")).to_have_text("你的收货码")
    # The order line names the pickup code and the store, in the customer's language.
    expect(customer.locator("#track-order")).to_have_text(re.compile(r"^订单 \S+，来自 .+$"))
    assert_accessible(customer, "tracking-zh")


ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
STORE2 = "Noodle Bar Central"  # demo_data's second store: a name, not a word to translate


def test_chinese_board_alert(stack, new_context, order):
    """The board's JS-drawn words in zh-CN: the failed-pickups alert, the table's cell labels and the log button.
    Any string left out of the catalog shows up here as an English word (store names are the only ones allowed)."""
    page = login(new_context(**DESK, **ZH), "dispatcher1", stack=stack)
    ready(page)
    row = page.locator(f'tr[data-order="{order["id"]}"]')
    expect(row).to_be_visible()
    labels = row.evaluate("(tr) => [...tr.querySelectorAll('[data-label]')].map((c) => c.dataset.label)")
    assert labels and not [x for x in labels if ENGLISH_WORD.search(x)], labels
    expect(row.locator("[data-log]")).to_have_text("通话和消息")
    staff = stack.login("store2")
    for number in ("991", "992", "993", "994", "995"):
        assert staff.get("/api/pickup/lookup/", params={"code": number}).status_code == 404
    alert = page.locator("#alerts li[data-what=pickup_failures]")
    expect(alert).to_have_count(1)
    expect(alert).to_contain_text("取餐失败")
    expect(alert).to_contain_text("次交接失败")
    text = alert.inner_text()
    text = text.replace(STORE2, "")
    assert not ENGLISH_WORD.search(text), text


def test_language_switcher_remembers_the_choice(stack, new_context):
    """An English browser switches to 简体中文 in the header; the choice holds on the next page."""
    page = new_context(**DESK).new_page()
    page.goto("/accounts/login/")
    expect(page.locator("h1")).to_have_text("Log in")
    switch = page.get_by_role("button", name="Language: 简体中文")
    assert switch.evaluate("(b) => b.tagName === 'BUTTON' && b.type === 'submit'")
    switch.focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.locator("h1")).to_have_text("登录")
    page.goto("/")
    expect(page.locator(".brand")).to_have_text("隐私优先配送")
    with page.expect_navigation():
        page.get_by_role("button", name="语言： English").click()
    expect(page.locator(".brand")).to_have_text("Privacy-first delivery")


def test_counter_qr_round_trip(stack, new_context, order):
    """The rider's counter code from the API, drawn in Chromium, decoded by the vendored jsQR on a canvas (as the
    counter does without BarcodeDetector), and named a standard QR (not Micro QR) by zxing-cpp."""
    import zxingcpp
    from PIL import Image

    page = login(new_context(**DESK), "store1", stack=stack)  # any logged-in page on the site: CSP 'self'
    body = stack.login("rider1").get(f"/api/rider/orders/{order['id']}/handoff-code/").json()
    jsqr = page.evaluate("() => JSON.parse(document.getElementById('console-config').textContent).jsqr")
    page.add_script_tag(url=jsqr)
    decoded = page.evaluate("""async (src) => {
      const img = new Image();
      img.src = src;
      await img.decode();
      const canvas = document.createElement("canvas");
      canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
      const ctx = canvas.getContext("2d");
      ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.drawImage(img, 0, 0);
      const hit = window.jsQR(ctx.getImageData(0, 0, canvas.width, canvas.height).data, canvas.width, canvas.height);
      document.body.prepend(canvas);
      canvas.id = "qr-canvas";
      return hit ? hit.data : null;
    }""", body["qr_svg"])
    assert decoded == body["code"]
    png = page.locator("#qr-canvas").screenshot()
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert [(r.text, r.format.name) for r in results] == [(body["code"], "QRCode")]
    assert re.fullmatch(r"\d{6}", decoded)
