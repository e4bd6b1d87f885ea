"""The merchant's order page once delivered, in Chromium, in English and in Chinese: how the delivery was proved
(policy, PIN, photo), the photo only when asked (each view is audited), and the customer's feedback masked."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, screenshot
from tests.browser.test_accessibility import DESK, assert_accessible
from tests.browser.test_pod_browser import jpeg, picked_up_order, set_policy, watch

pytestmark = pytest.mark.browser

ZH = {"locale": "zh-CN", "extra_http_headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}
WORDS = {"en": {"policy": "PIN and photo", "pin": "Checked", "rating": "2 out of 5",
                "issue": "Something arrived damaged"},
         "zh": {"policy": "收货码加拍照", "pin": "已核对", "rating": "2 分", "issue": "商品送达时有损坏"}}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_merchant_sees_the_proof_the_photo_on_request_and_the_feedback(stack, browser, lang):
    set_policy(stack, "pin_photo")
    order_id, token, rider = picked_up_order(stack, "rider2")
    r = rider.post(f"/api/rider/orders/{order_id}/pod-photo/", files={"photo": ("p.jpg", jpeg(), "image/jpeg")})
    assert r.status_code == 201, r.text
    pin = httpx.get(f"{stack.url}/api/track/{token}/").json()["delivery_pin"]
    assert rider.post(f"/api/rider/orders/{order_id}/deliver/", json={"pin": pin}).status_code == 200
    sent = httpx.post(f"{stack.url}/api/track/{token}/feedback/",
                      json={"rating": 2, "issue": "damaged", "text": "Box crushed, ring 13812345678"})
    assert sent.status_code == 201, sent.text

    context = browser.new_context(base_url=stack.url, **DESK, **(ZH if lang == "zh" else {}))
    try:
        page = login(context, "merchant1", stack=stack)
        watch(page)
        photo_reads = []
        page.on("request", lambda req: photo_reads.append(req.url) if "/pod/photo/" in req.url else None)
        page.goto(f"/portal/orders/{order_id}/")
        expect(page.locator("#order[data-ready=true]")).to_be_visible()
        words = WORDS[lang]
        expect(page.locator("#pod-card")).to_be_visible()
        expect(page.locator("#pod-policy")).to_have_text(words["policy"])
        expect(page.locator("#pod-pin")).to_have_text(words["pin"])
        expect(page.locator("#feedback-card")).to_be_visible()
        expect(page.locator("#fb-rating")).to_contain_text(words["rating"])
        expect(page.locator("#fb-issue")).to_have_text(words["issue"])
        expect(page.locator("#fb-text")).to_contain_text("Box crushed")
        expect(page.locator("#fb-text")).not_to_contain_text("13812345678")
        # Not loaded until asked.
        expect(page.locator("#pod-photo")).to_be_hidden()
        assert photo_reads == []
        show = page.locator("#pod-show")
        assert show.bounding_box()["height"] >= 48
        if lang == "zh":
            expect(show).to_contain_text(re.compile(r"[\u4e00-\u9fff]"))
        show.click()
        expect(page.locator("#pod-photo")).to_be_visible()
        page.wait_for_function("document.getElementById('pod-photo').naturalWidth === 800")
        assert len(photo_reads) == 1
        screenshot(page, f"portal-order-delivered-{lang}")
        assert_accessible(page, f"portal-order-delivered-{lang}")
        assert page.problems == []
    finally:
        context.close()
