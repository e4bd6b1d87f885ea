"""The customer's tracking page in Debian's Chromium against a live stack (daphne, Celery worker and beat).

No login: the link's token is the key. The page shows the delivery PIN, follows the order live (the
store marks it ready, the rider collects it and comes near), sets up a masked call, lists when the
rider was shown the street and when access ended, and an expired or unknown link shows the expired
page. The strict CSP holds (no violations in the console).
"""

from __future__ import annotations

import re
import time
from datetime import datetime

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.integration.conftest import assert_access_ended_on_time

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DOOR = (51.5033, -0.1196)  # demo_order's customer
M_PER_DEG_LAT = 111_195.0
REVOKE_AFTER_S = 2


@pytest.fixture(scope="module")
def stack_env():
    return {"ACCESS_REVOKE_AFTER_S": str(REVOKE_AFTER_S)}


def new_order(stack, rider: str = "rider1") -> tuple[int, str, str]:
    out = stack.manage("demo_order", "--rider", rider).stdout
    m = re.search(r"Order (\d+), pickup number (\S+)\. Customer tracking: \S+/t/([^/\s]+)/", out)
    assert m, out
    return int(m.group(1)), m.group(2), m.group(3)


def open_tracking(stack, browser, token: str):
    context = browser.new_context(base_url=stack.url, **PHONE)
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda err: page.problems.append(f"uncaught: {err}"))
    page.on("console", lambda msg: page.problems.append(msg.text)
            if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text) else None)
    response = page.goto(f"/t/{token}/")
    assert response.status == 200
    assert response.headers["referrer-policy"] == "no-referrer"
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    page.evaluate("window.__sameDocument = true")  # gone if the page ever reloads
    return context, page


def tracking(stack, token: str) -> dict:
    r = httpx.get(f"{stack.url}/api/track/{token}/")
    assert r.status_code == 200, r.text
    return r.json()


def current_step(page) -> str:
    return page.locator("#steps li[aria-current=step]").get_attribute("data-step")


def test_pin_live_status_and_masked_call(stack, browser):
    order_id, code, token = new_order(stack)
    pin = tracking(stack, token)["delivery_pin"]
    context, page = open_tracking(stack, browser, token)

    expect(page.locator("#pin")).to_have_attribute("data-pin", pin)
    expect(page.locator("#pin .pin-digit")).to_have_count(len(pin))
    assert "".join(page.locator("#pin .pin-digit").all_inner_texts()) == pin
    expect(page.locator("#pin-card")).to_contain_text("Tell your rider this PIN at the door")
    expect(page.locator("#track-order")).to_contain_text(code)
    assert current_step(page) == "assigned"
    expect(page.locator("#headline")).to_contain_text("Ravi K.")
    expect(page.locator("#seen")).to_contain_text("Nobody has seen more than your area yet")

    # The store marks it ready: the page follows without a reload.
    r = stack.login("store1").post(f"/api/pickup/orders/{order_id}/ready/")
    assert r.status_code == 200, r.text
    expect(page.locator('#steps li[data-step="ready"]')).to_have_attribute("aria-current", "step")
    expect(page.locator('#steps li[data-step="assigned"]')).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#headline")).to_contain_text("ready at Green Cross Pharmacy")
    assert page.evaluate("window.__sameDocument") is True

    # The masked call: a proxy number as a tel: link; in the sandbox the customer is connected.
    button = page.locator("#call-btn")
    assert button.bounding_box()["height"] >= 48
    button.click()
    link = page.locator("#call-result a.tel-link")
    expect(link).to_be_visible()
    proxy = link.get_attribute("data-proxy")
    assert proxy and link.get_attribute("href") == "tel:" + re.sub(r"[^+\d]", "", proxy)
    expect(page.locator("#call-result")).to_contain_text("Connected to your rider. Your number is hidden.")
    assert tracking(stack, token)["call_number"] == proxy
    for secret in ("+447700900101", "7700900101", "7700 900555", "7700 900777", "138 0013 8000"):
        assert secret not in page.content()  # neither the rider's nor the customer's real number

    screenshot(page, "tracking-call")
    assert page.problems == []
    context.close()


def test_rider_approaching_and_who_saw_the_address(stack, browser):
    order_id, code, token = new_order(stack, "rider2")
    pin = tracking(stack, token)["delivery_pin"]
    context, page = open_tracking(stack, browser, token)

    # Marked ready, then collected at the counter with the rider's one-time code.
    store = stack.login("store1")
    assert store.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    rider = stack.login("rider2")
    rider_code = rider.get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    r = store.post("/api/pickup/handoff/", json={"pickup_code": code, "rider_code": rider_code})
    assert r.status_code == 200, r.text
    expect(page.locator('#steps li[data-step="picked_up"]')).to_have_attribute("aria-current", "step")

    # Riding in: the distance and ETA arrive live, and within 1 km two good fixes reveal the street.
    for seq, metres in ((1, 700), (2, 650)):
        if seq > 1:
            time.sleep(1.1)  # one ETA a second reaches the page
        r = rider.post("/api/rider/location/", json={"lat": DOOR[0] - metres / M_PER_DEG_LAT, "lng": DOOR[1],
                                                     "accuracy": 10, "timestamp": time.time(), "seq": seq})
        assert r.status_code == 200 and r.json()["accepted"], r.text
    expect(page.locator("#approach")).to_have_text("Your rider is 650 m away, about 2 min.")
    expect(page.locator('#seen li[data-kind="street"]')).to_contain_text("Your rider was shown your street")
    assert page.evaluate("window.__sameDocument") is True
    screenshot(page, "tracking")

    # Delivered with the PIN: the PIN goes, and access ends 2 s later (listed when it happens).
    r = rider.post(f"/api/rider/orders/{order_id}/deliver/", json={"pin": pin})
    assert r.status_code == 200, r.text
    expect(page.locator("#headline")).to_contain_text("Delivered")
    expect(page.locator("#pin-card")).to_be_hidden()
    expect(page.locator("#approach")).to_be_hidden()
    expect(page.locator("#call-btn")).to_be_hidden()
    expect(page.locator('#seen li[data-kind="revoked"]')).to_contain_text("access to your address ended",
                                                                           timeout=15_000)
    assert page.evaluate("window.__sameDocument") is True
    assert page.problems == []
    context.close()


def test_expired_or_unknown_link_shows_the_expired_page(stack, browser):
    context = browser.new_context(base_url=stack.url, **PHONE)
    page = context.new_page()
    response = page.goto("/t/not-a-real-token/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("This tracking link has expired")

    # A link that expires while open: the next update takes the page to the expired notice.
    order_id, _, token = new_order(stack)
    page.goto(f"/t/{token}/")
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    stack.manage("shell", "-c", "from django.utils import timezone; from dispatch.models import Order; "
                 f"Order.objects.filter(pk={order_id}).update(tracking_expires_at=timezone.now())")
    assert httpx.get(f"{stack.url}/api/track/{token}/").status_code == 404
    stack.login("store1").post(f"/api/pickup/orders/{order_id}/ready/")
    expect(page.locator("h1")).to_have_text("This tracking link has expired", timeout=10_000)
    assert "Tell your rider" not in page.content()
    context.close()


def test_customer_stops_marketing_and_sees_what_the_rider_may_see(stack, browser):
    from tests.factories import order_payload

    r = stack.token_client("merchant1").post("/api/orders/", json=order_payload(
        consent={"number_protection": False, "marketing": True}))
    assert r.status_code == 201, r.text
    token = r.json()["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    context, page = open_tracking(stack, browser, token)
    expect(page.locator("#call-privacy")).to_contain_text("You allowed your rider to see your number")
    expect(page.locator("#consent-card")).to_be_visible()
    page.locator("#consent-btn").click()
    expect(page.locator("#consent-result")).to_contain_text("will not send you offers")
    expect(page.locator("#consent-btn")).to_be_hidden()
    assert tracking(stack, token)["consent"]["marketing"] is False
    screenshot(page, "track-marketing-withdrawn")
    page.reload()
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#consent-card")).to_be_hidden()
    assert page.problems == []
    context.close()


def test_access_ends_on_time_on_the_page_while_the_worker_is_down(stack, browser):
    """The worker and beat are down when the order is delivered: nothing records the revocation or sends a frame,
    yet the rider's access ends at its deadline (refused at every read), and the page says so then. When the
    worker is back its record takes the read-time entry's place: still one entry."""
    order_id, code, token = new_order(stack, "rider2")
    pin = tracking(stack, token)["delivery_pin"]
    store = stack.login("store1")
    assert store.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    rider = stack.login("rider2")
    rider_code = rider.get(f"/api/rider/orders/{order_id}/handoff-code/").json()["code"]
    assert store.post("/api/pickup/handoff/", json={"pickup_code": code, "rider_code": rider_code}).status_code == 200
    context, page = open_tracking(stack, browser, token)
    stack.stop("beat")
    stack.stop("worker")
    try:
        r = rider.post(f"/api/rider/orders/{order_id}/deliver/", json={"pin": pin})
        assert r.status_code == 200, r.text
        expect(page.locator("#headline")).to_contain_text("Delivered")
        assert tracking(stack, token)["access_ends_at"]
        expect(page.locator('#seen li[data-kind="revoked"]')).to_contain_text("access to your address ended")
        assert rider.get(f"/api/rider/orders/{order_id}/").status_code == 404  # ended for the rider too
        lapsed = tracking(stack, token)["access_revoked_at"]
        assert len(lapsed) == 1
        # The end the page showed is not before its time, by the server's own record: it is the end of the
        # rider's grants, no earlier than the recorded delivery plus the window, and nothing revoked them yet.
        times = assert_access_ended_on_time(stack, order_id, "rider2", REVOKE_AFTER_S, revoked=False)
        assert not times["revoked"] and all(g["revoked_at"] is None for g in times["grants"]), times
        assert datetime.fromisoformat(lapsed[0]) == max(g["expires_at"] for g in times["grants"]), (lapsed, times)
    finally:
        stack.respawn("worker")
        stack.respawn("beat")
    deadline = time.monotonic() + 30
    while tracking(stack, token)["access_revoked_at"] == lapsed and time.monotonic() < deadline:
        time.sleep(0.5)  # the worker's sweep writes its record
    recorded = tracking(stack, token)["access_revoked_at"]
    assert len(recorded) == 1 and recorded != lapsed
    # The worker's record is no earlier than the end either.
    times = assert_access_ended_on_time(stack, order_id, "rider2", REVOKE_AFTER_S)
    assert [datetime.fromisoformat(t) for t in recorded] == times["revoked"], (recorded, times)
    expect(page.locator('#seen li[data-kind="revoked"]')).to_have_count(1)
    assert page.evaluate("window.__sameDocument") is True
    assert page.problems == []
    context.close()


def test_a_failed_read_is_retried_as_the_page_says(stack, browser):
    """The page says "Retrying…" when a read fails: it does read again, with backoff, without a reload."""
    _, _, token = new_order(stack)
    context = browser.new_context(base_url=stack.url, **PHONE)
    page = context.new_page()
    failed = []

    def flaky(route):
        if len(failed) < 2:
            failed.append(route.request.url)
            route.fulfill(status=503, content_type="application/json", body='{"detail": "Try again shortly."}')
        else:
            route.continue_()

    page.route(re.compile(rf"/api/track/{re.escape(token)}/$"), flaky)
    page.goto(f"/t/{token}/")
    page.evaluate("window.__sameDocument = true")
    expect(page.locator("body")).to_have_attribute("data-ready", "true")
    assert len(failed) == 2
    expect(page.locator("#track-order")).to_contain_text("Green Cross Pharmacy")
    assert page.evaluate("window.__sameDocument") is True
    context.close()
