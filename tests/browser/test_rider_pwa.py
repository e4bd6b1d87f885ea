"""The rider's PWA in Debian's Chromium against a live stack (daphne, Celery worker and beat).

One journey walks a rider from ~3 km to the customer's door with emulated geolocation: a new
assignment appears live, the counter handoff uses the code shown on the phone, the address is
revealed tier by tier (and never early, checked on the wire), positions taken offline are replayed
in order, delivery takes the customer's PIN, and revocation purges the phone. Separate tests cover
the manifest and service worker, and a rider who blocks location.
"""

from __future__ import annotations

import json
import re
import struct
import time

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login, rider_order, screenshot, south_of_door

pytestmark = pytest.mark.browser

DOOR_TEXT = ("Crown House", "Flat 4", "Ring twice")
CUSTOMER_PHONES = ("7700900555", "7700900777", "13800138000")  # demo_order's customers, digits only
# The rider rides by car-chase rules: the stack allows 200 m/s between fixes (the default is 40) so that the
# walk in takes seconds, not minutes; pacing stays under it (less 20 m of accuracy slack). Speed checks
# themselves are tested at the default in the board and geofence tests.
MAX_SPEED_MPS = 200
PACE_MPS = 160.0
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}


@pytest.fixture(scope="module")
def stack_env():
    return {"ACCESS_REVOKE_AFTER_S": "3", "HANDOFF_CODE_TTL_S": "5", "MAX_SPEED_MPS": str(MAX_SPEED_MPS)}



def new_order(stack, rider: str) -> tuple[int, str, str]:
    out = stack.manage("demo_order", "--rider", rider).stdout
    m = re.search(r"Order (\d+), pickup number (\S+)\. Customer tracking: \S+/t/([^/\s]+)/", out)
    assert m, out
    return int(m.group(1)), m.group(2), m.group(3)


def open_app(stack, browser, username: str, **context_options):
    """A phone-sized context logged in as `username`. Uncaught errors and CSP refusals are collected
    on `page.problems` (failed loads are expected: there are no map tiles, and some tests go offline)."""
    context = browser.new_context(base_url=stack.url, **PHONE, **context_options)
    page = login(context, username, stack=stack)
    page.problems = []
    page.on("pageerror", lambda err: page.problems.append(f"uncaught: {err}"))
    page.on("console", lambda msg: page.problems.append(msg.text)
            if msg.type == "error" and ("Content Security Policy" in msg.text or "Refused to" in msg.text) else None)
    return context, page


def goto_app(page):
    page.goto("/rider/")
    page.wait_for_selector("body[data-ready=true]")


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


DEVICE_STATE_JS = """async (id) => {
  const db = await new Promise((resolve, reject) => {
    const r = indexedDB.open("rider-pwa"); r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error);
  });
  const all = (name) => new Promise((resolve) => {
    if (!db.objectStoreNames.contains(name)) { resolve([]); return; }
    const r = db.transaction(name).objectStore(name).getAll(); r.onsuccess = () => resolve(r.result);
  });
  const orders = await all("orders"), pings = await all("pings");
  db.close();
  const cached = [];
  for (const name of await caches.keys()) {
    for (const request of await (await caches.open(name)).keys()) cached.push(request.url);
  }
  return {orders, pings, cached, session: Object.keys(sessionStorage), local: Object.keys(localStorage),
          onScreen: document.querySelectorAll(`[data-order="${id}"]`).length, text: document.body.innerText};
}"""


class Walker:
    """Moves the emulated position. Chromium stamps each fix when it is set, so pacing the calls on
    the test's clock paces the fixes' timestamps."""

    def __init__(self, context, page, metres: float):
        self.context, self.page, self.metres = context, page, metres
        self.at = time.monotonic()

    def ack_seq(self) -> str:
        return self.page.locator("#geo-ack").get_attribute("data-seq") or ""

    def to(self, metres: float, *, ack: bool = True) -> None:
        need = max(0.3, abs(self.metres - metres) / PACE_MPS)
        wait = self.at + need - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        before = self.ack_seq()
        self.context.set_geolocation(south_of_door(metres))
        self.at, self.metres = time.monotonic(), metres
        if ack:
            self.page.wait_for_function("s => document.getElementById('geo-ack').dataset.seq !== s", arg=before)
            assert self.page.locator("#geo-ack").get_attribute("data-accepted") == "true", \
                self.page.locator("#geo-ack").inner_text()


def test_manifest_and_service_worker_cache_only_the_shell(stack, browser):
    context, page = open_app(stack, browser, "rider2")
    goto_app(page)
    href = page.locator("link[rel=manifest]").get_attribute("href")
    assert href == "/rider/manifest.webmanifest"
    manifest = page.request.get(href)
    assert manifest.ok and "manifest" in manifest.headers["content-type"]
    data = manifest.json()
    assert data["start_url"] == "/rider/" and data["scope"] == "/rider/" and data["display"] == "standalone"
    for icon in data["icons"]:
        side = int(icon["sizes"].split("x")[0])
        assert png_size(page.request.get(icon["src"]).body()) == (side, side)

    sw = page.evaluate("""async () => {
      const reg = await navigator.serviceWorker.ready;
      return {scope: reg.scope, script: reg.active && reg.active.scriptURL};
    }""")
    assert sw["scope"] == f"{stack.url}/rider/" and sw["script"] == f"{stack.url}/rider/sw.js"
    page.reload()  # now controlled by the worker: pages and API calls pass through it
    page.wait_for_selector("body[data-ready=true]")
    assert page.evaluate("Boolean(navigator.serviceWorker.controller)")
    page.evaluate("fetch('/api/rider/orders/').then(r => r.text())")
    state = page.evaluate(DEVICE_STATE_JS, 0)
    paths = [httpx.URL(u).path for u in state["cached"]]
    unhashed = {re.sub(r"\.[0-9a-f]{12}(\.\w+)$", r"\1", p) for p in paths}  # names carry a hash after collectstatic
    assert "/static/rider/js/app.js" in unhashed and "/static/leaflet/leaflet.js" in unhashed
    assert all(p.startswith("/static/") for p in paths), paths  # no /api/, no page, no tile
    screenshot(page, "rider-empty")

    # The duty switch says what it did, and the server agrees.
    duty = page.locator("#duty-toggle")
    expect(duty).to_have_attribute("aria-pressed", "true")
    duty.click()
    expect(duty).to_have_attribute("aria-pressed", "false")
    expect(duty).to_have_text("Off duty")
    expect(page.locator("#toast")).to_contain_text("You are off duty")
    expect(page.locator("#geo-status")).to_contain_text("Off duty")
    duty.click()
    expect(duty).to_have_attribute("aria-pressed", "true")
    assert duty.bounding_box()["height"] >= 48

    # Offline, the page is not served from a cache: a plain notice comes from the worker instead.
    context.set_offline(True)
    response = page.goto("/rider/")
    assert response.status == 503
    expect(page.locator("h1")).to_have_text("You are offline")
    context.set_offline(False)

    # Logging out clears what the page stored: databases, caches, storage.
    goto_app(page)
    with page.expect_navigation():
        page.click("form[data-logout] button")
    left = page.evaluate("""async () => ({
      dbs: (await indexedDB.databases()).map(d => d.name), caches: await caches.keys(),
      session: sessionStorage.length, local: localStorage.length})""")
    assert left == {"dbs": [], "caches": [], "session": 0, "local": 0}
    assert page.problems == []
    context.close()


def test_blocked_location_is_explained_and_im_here_is_offered(stack, browser):
    new_order(stack, "rider3")
    context, page = open_app(stack, browser, "rider3")  # no geolocation permission granted
    goto_app(page)
    expect(page.locator("#geo-denied")).to_be_visible()
    expect(page.locator("#geo-status")).to_contain_text("Location is blocked")
    expect(page.locator("#geo-denied")).to_contain_text("Allow")
    expect(page.locator("#geo-denied [data-here]")).to_be_visible()
    box = page.locator("#geo-denied [data-here]").bounding_box()
    assert box["height"] >= 48
    page.click("#geo-denied [data-here]")  # no fix known: the rider is told so, nothing is sent
    expect(page.locator("#toast")).to_contain_text("No position known yet")
    screenshot(page, "rider-location-blocked")
    page.click("#geo-denied [data-dismiss]")  # the sheet lies over the page until closed
    expect(page.locator("#geo-denied")).to_be_hidden()

    # The counter code counts down and renews itself when it expires (5 s in this stack).
    page.click("[data-action=handoff-code]")
    code = page.locator("[data-role=handoff-code]")
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    first = code.inner_text()
    expect(page.locator("[data-role=countdown]")).to_have_text(re.compile(r"^Expires in 0:0[1-5]$"))
    expect(code).not_to_have_text(first, timeout=10_000)
    expect(code).to_have_text(re.compile(r"^\d{6}$"))
    expect(page.locator("[data-role=countdown]")).to_contain_text("Expires in")

    # A second assignment joins the list live, while the first order is open.
    second, second_code, _ = new_order(stack, "rider3")
    expect(page.locator(f"li.order-card[data-order='{second}']")).to_have_count(1, timeout=15_000)
    new_alert = page.locator(f"#alerts-bar [data-alert][data-order='{second}']")  # stays until acknowledged
    expect(new_alert).to_contain_text(f"New order: pickup number {second_code}")
    new_alert.locator("[data-ack]").click()
    page.click("button.back-btn")
    expect(page.locator("li.order-card")).to_have_count(2)
    # Both listed, in delivery order (each card numbered with its stop), the new one among them.
    expect(page.locator(f"li.order-card[data-order='{second}']")).to_contain_text(second_code)
    assert page.locator("li.order-card button").first.bounding_box()["height"] >= 48
    screenshot(page, "rider-list")
    assert page.problems == []
    context.close()


def test_rider_journey_reveal_offline_replay_delivery_and_purge(stack, browser):
    context, page = open_app(stack, browser, "rider1", geolocation=south_of_door(3000), permissions=["geolocation"])
    door_possible = {"now": False}
    wire: list[tuple[bool, str, str, str]] = []  # (door possible yet, kind, url, text)

    def on_response(response):
        if "/api/" in response.url:
            try:
                wire.append((door_possible["now"], "http", response.url, response.text()))
            except Exception:  # a body already gone (navigation) carried nothing to check
                wire.append((door_possible["now"], "http", response.url, ""))

    def on_socket(ws):
        ws.on("framereceived", lambda payload: wire.append(
            (door_possible["now"], "ws", ws.url, payload if isinstance(payload, str) else payload.decode())))

    page.on("response", on_response)
    page.on("websocket", on_socket)
    goto_app(page)
    expect(page.locator("#orders-empty")).to_contain_text("No orders")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")

    # A new assignment appears without a reload, and the position starts flowing.
    order_id, pickup_code, token = new_order(stack, "rider1")
    order = page.locator(f"article.order[data-order='{order_id}']")
    expect(order).to_be_visible(timeout=15_000)
    walker = Walker(context, page, 3000)
    expect(page.locator("#geo-ack")).to_have_attribute("data-accepted", "true")
    expect(order.locator("[data-role=status]")).to_have_text("Preparing")
    expect(order.locator("[data-role=pickup-code]")).to_have_text(pickup_code)
    expect(order.locator("[data-role=customer-phone]")).to_have_text(re.compile(r"^\*{4}\d{4}$"))
    expect(order.locator("[data-role=customer-name]")).to_have_text(re.compile(r"^\S\*+$"))
    expect(order.locator("[data-role=sensitive]")).to_have_text("1 pharmacy item")
    expect(order.locator("[data-role=items]")).to_have_text("1 × Plasters")
    expect(order.locator("[data-role=tier]")).to_have_text("Area only")
    expect(order.locator("[data-role=dest-text]")).to_have_text("Westminster")
    expect(order.locator("[data-role=distance]")).to_have_text(re.compile(r"^about (2|2\.5|3|3\.5|4) km away$"))
    expect(order.locator("[data-role=map]")).to_be_hidden()
    expect(order.locator("[data-role=navigate]")).to_be_hidden()
    assert page.locator(".leaflet-marker-icon").count() == 0
    assert "Insulin" not in page.content()
    screenshot(page, "rider-area")

    # At the counter: the store marks it ready, then releases the bag to the code on the phone.
    store = stack.login("store1")
    assert store.post(f"/api/pickup/orders/{order_id}/ready/").status_code == 200
    expect(order.locator("[data-role=status]")).to_have_text("Ready for pickup")
    page.click("[data-action=handoff-code]")
    code_el = order.locator("[data-role=handoff-code]")
    expect(code_el).to_have_text(re.compile(r"^\d{6}$"))
    expect(order.locator("[data-role=countdown]")).to_contain_text("Expires in")
    assert order.locator("img.qr").get_attribute("src").startswith("data:image/svg+xml")
    assert code_el.bounding_box()["height"] >= 40  # big type
    screenshot(page, "rider-handoff-code")
    shown = code_el.inner_text()
    page.click("[data-action=handoff-code]")  # "New code": a fresh one, and the old one stops working
    expect(code_el).not_to_have_text(shown)
    expect(code_el).to_have_text(re.compile(r"^\d{6}$"))
    r = store.post("/api/pickup/handoff/", json={"pickup_code": pickup_code, "rider_code": shown})
    assert r.status_code == 409 and r.json()["code"] == "expired_code", r.text
    r = store.post("/api/pickup/handoff/", json={"pickup_code": pickup_code, "rider_code": code_el.inner_text()})
    assert r.status_code == 200, r.text
    expect(order.locator("[data-role=status]")).to_have_text("Picked up")
    expect(order.locator(".pickup")).to_be_hidden()
    expect(order.locator("[data-action=here]")).to_be_visible()

    # The masked call: a proxy number, never a real one.
    page.click("[data-action=call]")
    link = order.locator("[data-role=proxy-link]")
    expect(link).to_have_attribute("href", re.compile(r"^tel:\+1555"))
    proxy = link.get_attribute("href")[4:]
    page.click("[data-action=dial]")
    expect(order.locator("[data-role=call-result]")).to_have_text(
        f"Connected to the customer through {proxy}. Your number is hidden.")
    digits = re.sub(r"\D", "", page.content())
    assert not any(p in digits for p in (*CUSTOMER_PHONES, "447700900101"))

    # Riding in: two precise fixes inside 1 km reveal the street and the pin, and nothing more.
    for metres in (2300, 1600, 950, 900):
        walker.to(metres)
    expect(order.locator("[data-role=tier]")).to_have_text("Street")
    expect(order.locator("[data-role=dest-text]")).to_have_text("10 Whitehall Place")
    expect(order.locator("[data-role=map]")).to_be_visible()
    expect(order.locator(".leaflet-marker-icon")).to_be_visible()  # the pin shows without tiles
    expect(order.locator("[data-role=navigate]")).to_have_attribute("href", re.compile(r"^geo:51\.5033,-0\.1196"))
    expect(order.locator("[data-role=distance]")).to_have_text(re.compile(r"^(890|900|910) m away$"))
    screenshot(page, "rider-street")
    page.click("[data-action=here]")  # "I'm here" sends the last fix, stamped now
    expect(page.locator("#toast")).to_contain_text("Sent: you are here.")
    walker.at = time.monotonic()
    walker.to(500)

    # No signal near the door: positions wait on the phone, with their times, then go in order.
    context.set_offline(True)
    expect(page.locator("#conn")).to_have_attribute("data-state", "offline")
    for n, metres in enumerate((300, 140, 120), start=1):
        walker.to(metres, ack=False)
        expect(page.locator("#geo-queue")).to_have_attribute("data-count", str(n))
    queued = page.evaluate(DEVICE_STATE_JS, order_id)["pings"]
    seqs = [p["seq"] for p in queued]
    assert seqs == sorted(seqs) and len(seqs) == 3
    assert [p["timestamp"] for p in queued] == sorted(p["timestamp"] for p in queued)
    assert all(p["orders"] == [order_id] for p in queued)
    expect(order.locator("[data-role=tier]")).to_have_text("Street")
    screenshot(page, "rider-offline")
    door_possible["now"] = True
    context.set_offline(False)
    expect(order.locator("[data-role=tier]")).to_have_text("Door", timeout=15_000)
    expect(page.locator("#geo-queue")).to_be_hidden()
    for text in DOOR_TEXT:
        expect(order.locator("section.destination")).to_contain_text(text)
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    screenshot(page, "rider-door")

    # The server got the queued fixes, in the order they were taken.
    script = ("import json; from dispatch.models import LocationFix as F; "
              f"print(json.dumps(list(F.objects.filter(seq__in={seqs!r}).order_by('pk').values_list('seq', 'accepted'))))")
    deadline = time.monotonic() + 10
    while True:
        rows = json.loads(stack.manage("shell", "-c", script).stdout.strip().splitlines()[-1])
        if len(rows) == 3 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert rows == [[s, True] for s in seqs]

    # On the wire: before the door could be reached, no answer and no frame carried the door.
    assert any(kind == "ws" and '"tier": "street"' in text for _, kind, _, text in wire)
    for possible, kind, url, text in wire:
        if kind == "ws" or not possible:
            assert not any(t in text for t in DOOR_TEXT), (kind, url, text[:200])
        elif any(t in text for t in DOOR_TEXT):
            data = json.loads(text)
            for view in data if isinstance(data, list) else [data]:
                assert view["destination"]["tier"] == "door", url

    # Delivery: a wrong PIN is refused on the screen, the right one delivers.
    pin = httpx.get(f"{stack.url}/api/track/{token}/").json()["delivery_pin"]
    page.fill(f"#pin-{order_id}", "0000" if pin != "0000" else "1111")
    page.click("[data-action=deliver]")
    expect(order.locator(".field-error")).to_contain_text("not right")
    expect(order.locator(".field-error")).to_have_attribute("data-code", "wrong_pin")
    page.fill(f"#pin-{order_id}", pin)
    page.click("[data-action=deliver]")
    expect(order.locator("[data-role=status]")).to_have_text("Delivered")
    held = page.evaluate(DEVICE_STATE_JS, order_id)
    assert [o["id"] for o in held["orders"]] == [order_id]  # the phone did hold it until now

    # Access ends 3 s after delivery: the server says so over the socket, and the phone forgets.
    expect(page.locator(f"[data-order='{order_id}']")).to_have_count(0, timeout=20_000)
    expect(page.locator("#orders-empty")).to_be_visible()
    left = page.evaluate(DEVICE_STATE_JS, order_id)
    assert left["onScreen"] == 0
    assert not [o for o in left["orders"] if o["id"] == order_id]
    assert not [p for p in left["pings"] if order_id in p.get("orders", [])]
    assert not [u for u in left["cached"] if "/api/" in u]
    assert not [k for k in left["session"] + left["local"] if re.search(rf"order\W?{order_id}\b", k)]
    assert not any(t in left["text"] for t in DOOR_TEXT)
    assert page.request.get(f"/api/rider/orders/{order_id}/").status == 404
    screenshot(page, "rider-purged")
    assert page.problems == []
    context.close()


def test_the_real_number_only_where_the_customer_allows_it(stack, browser):
    """Number protection off: the rider's order view offers the customer's real number to dial; on: never."""
    from tests.factories import CUSTOMER_PHONE, order_payload

    merchant, dispatcher = stack.token_client("merchant1"), stack.login("dispatcher1")
    rider_pk = next(r["id"] for r in dispatcher.get("/api/dispatch/riders/").json() if r["name"] == "Mia L.")
    ids = {}
    for protection in (False, True):
        r = merchant.post("/api/orders/", json=order_payload(consent={"number_protection": protection, "marketing": False}))
        assert r.status_code == 201, r.text
        ids[protection] = r.json()["id"]
        assert dispatcher.post(f"/api/dispatch/orders/{ids[protection]}/assign/", json={"rider": rider_pk}).status_code == 200
    context, page = open_app(stack, browser, "rider2")
    goto_app(page)
    shared = rider_order(page, ids[False]).locator("[data-role=customer-direct-call]")
    expect(shared).to_be_visible()
    expect(shared).to_have_attribute("href", "tel:" + CUSTOMER_PHONE.replace(" ", ""))
    screenshot(page, "rider-number-shared")
    page.click("button.back-btn")
    protected = rider_order(page, ids[True])
    expect(protected.locator("[data-role=customer-phone]")).to_have_text("****5678")
    expect(protected.locator("[data-role=customer-direct-call]")).to_be_hidden()
    assert CUSTOMER_PHONE.replace(" ", "")[-7:] not in protected.inner_html().replace(" ", "")
    assert page.problems == []
    context.close()
