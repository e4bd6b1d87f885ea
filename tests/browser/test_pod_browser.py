"""Proof of delivery and feedback in Debian's Chromium against a live stack: the rider takes the delivery photo in
the app (a file chosen for the camera input), sees it previewed, retries a failed upload, and delivers with no PIN
under the photo policy; the customer rates the delivery on the tracking page, in English and in Chinese."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import login, rider_order, screenshot
from tests.browser.test_accessibility import assert_accessible

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}


def jpeg(size=(800, 600)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (30, 110, 60)).save(buf, "JPEG")
    return buf.getvalue()


def set_policy(stack, policy: str) -> None:
    stack.manage("shell", "-c", f"from dispatch.models import Store; Store.objects.update(pod_policy={policy!r})")


def picked_up_order(stack, rider: str = "rider1") -> tuple[int, str, httpx.Client]:
    out = stack.manage("demo_order", "--rider", rider).stdout
    m = re.search(r"Order (\d+), pickup number (\S+)\. Customer tracking: \S+/t/([^/\s]+)/", out)
    assert m, out
    order_id, code, token = int(m.group(1)), m.group(2), m.group(3)
    store, client = stack.login("store1"), stack.login(rider)
    assert store.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    rider_code = client.get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    r = store.post("/api/pickup/handoff/", json={"pickup_code": code, "rider_code": rider_code})
    assert r.status_code == 200, r.text
    return order_id, token, client


def watch(page) -> None:
    page.problems = []
    page.on("pageerror", lambda err: page.problems.append(f"uncaught: {err}"))
    page.on("console", lambda msg: page.problems.append(msg.text)
            if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text) else None)


def test_rider_takes_the_photo_and_delivers_under_the_photo_policy(stack, browser):
    set_policy(stack, "leave_at_door")
    order_id, token, _ = picked_up_order(stack)
    context = browser.new_context(base_url=stack.url, **PHONE)
    page = login(context, "rider1", stack=stack)
    watch(page)
    page.goto("/rider/")
    page.wait_for_selector("body[data-ready=true]")
    order = rider_order(page, order_id)
    expect(order).to_have_attribute("data-pod", "leave_at_door")
    expect(order.locator(".pin-block")).to_be_hidden()
    expect(order.locator(".pod-hint")).to_contain_text("Leave the bag at the door")
    photo_input = order.locator("input[data-role=photo-input]")
    assert photo_input.get_attribute("accept") == "image/*" and photo_input.get_attribute("capture") == "environment"

    # Delivering before the photo is refused on the phone, with the reason.
    order.locator("button[data-action=deliver]").click()
    expect(order.locator("[data-role=photo-status]")).to_contain_text("Take a photo of the delivery first")

    # The first upload fails (no signal): the app says so and offers a retry, which works.
    failing = {"n": 0}

    def drop_once(route):
        failing["n"] += 1
        route.abort("internetdisconnected")

    page.route("**/pod-photo/", drop_once)
    photo_input.set_input_files({"name": "door.jpg", "mimeType": "image/jpeg", "buffer": jpeg()})
    expect(order.locator(".photo-preview")).to_be_visible()
    expect(order.locator("[data-role=photo-status]")).to_contain_text("did not upload")
    retry = order.locator("button[data-action=photo-retry]")
    expect(retry).to_be_visible()
    assert failing["n"] == 1
    page.unroute("**/pod-photo/")
    retry.click()
    expect(order.locator("[data-role=photo-status]")).to_have_text("Photo saved.")
    assert order.locator(".photo-preview").get_attribute("src").startswith("data:image/")  # in memory, not a URL
    screenshot(page, "rider-pod-photo")
    assert_accessible(page, "rider-pod-photo")

    order.locator("button[data-action=deliver]").click()
    expect(page.locator(f"article.order[data-order='{order_id}']")).to_have_attribute("data-status", "delivered")
    pod = stack.token_client("merchant1").get(f"/api/orders/{order_id}/pod/").json()
    assert pod["policy"] == "leave_at_door" and pod["photo"] is True and pod["pin_checked"] is False
    # The service worker kept nothing of the photo or the API.
    cached = page.evaluate("""async () => {
        const urls = [];
        for (const name of await caches.keys()) {
          for (const req of await (await caches.open(name)).keys()) urls.push(req.url);
        }
        return urls;
    }""")
    assert cached and not [u for u in cached if "/api/" in u or "pod-photo" in u or u.endswith(".jpg")]
    assert page.problems == []
    context.close()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_customer_rates_the_delivery_on_the_tracking_page(stack, browser, lang):
    set_policy(stack, "pin_photo")
    order_id, token, rider = picked_up_order(stack, "rider2")
    r = rider.post(f"/api/rider/orders/{order_id}/pod-photo/", files={"photo": ("p.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 201, r.text
    pin = httpx.get(f"{stack.url}/api/track/{token}/").json()["delivery_pin"]
    assert rider.post(f"/api/rider/orders/{order_id}/deliver/", json={"pin": pin}).status_code == 200

    context = browser.new_context(base_url=stack.url, **PHONE, **(ZH if lang == "zh" else {}))
    page = context.new_page()
    watch(page)
    page.goto(f"/t/{token}/")
    page.wait_for_selector("body[data-ready=true]")
    card = page.locator("#feedback-card")
    expect(card).to_be_visible()
    heading = {"en": "How was your delivery?", "zh": "这次配送怎么样？"}[lang]
    expect(page.locator("#feedback-heading")).to_have_text(heading)
    # The photo, on request.
    page.locator("#pod-show").click()
    expect(page.locator("#pod-photo")).to_be_visible()
    page.wait_for_function("document.getElementById('pod-photo').naturalWidth === 800")

    label = page.locator("label[for=rating-4]")
    assert label.bounding_box()["height"] >= 48 and label.bounding_box()["width"] >= 48
    label.click()
    page.select_option("#feedback-issue", "late")
    page.fill("#feedback-text", "Rang 13812345678 twice")
    screenshot(page, f"track-feedback-{lang}")
    assert_accessible(page, f"track-feedback-{lang}")
    page.locator("#feedback-send").click()
    done = {"en": "You rated this delivery 4 out of 5", "zh": "打了 4 分"}[lang]
    expect(page.locator("#feedback-done")).to_contain_text(done)
    expect(page.locator("#feedback-form")).to_be_hidden()
    screenshot(page, f"track-feedback-sent-{lang}")

    feedback = stack.token_client("merchant1").get(f"/api/orders/{order_id}/feedback/").json()
    assert feedback["rating"] == 4 and feedback["issue"] == "late" and "13812345678" not in feedback["text"]
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#feedback-done")).to_contain_text(done)  # once: the form does not come back
    assert page.problems == []
    context.close()
