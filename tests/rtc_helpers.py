"""Helpers for the call and chat tests: a party's socket on the real ASGI app, and frame collection; and, for the
browser tests of calls (tests/browser/test_calls.py, test_calls_roles.py, test_sos.py), the shared set-up: Chromium
with a fake microphone, a party's page with the microphone allowed and its socket online, a demo order, and the
waits on a call's connection and audio."""

from __future__ import annotations

import re

from channels.testing import WebsocketCommunicator
from django.test import Client

from config.asgi import application


def cookie_for(user) -> str:
    c = Client()
    c.force_login(user)
    return f"sessionid={c.cookies['sessionid'].value}"


def token_of(order: dict) -> str:
    return order["tracking_url"].rstrip("/").rsplit("/", 1)[-1]


class Sock:
    """One socket, keeping every frame it received (for the no-number grep)."""

    def __init__(self, path: str, cookie: str | None = None):
        headers = [(b"host", b"testserver"), (b"origin", b"http://testserver")]
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        self.comm = WebsocketCommunicator(application, path, headers=headers)
        self.frames: list[dict] = []
        self.raw: list[str] = []

    async def open(self) -> bool:
        ok, _ = await self.comm.connect()
        if ok:
            await self.recv()  # hello
        return ok

    async def send(self, message: dict) -> None:
        await self.comm.send_json_to(message)

    async def recv(self, wait: float = 3) -> dict:
        text = await self.comm.receive_from(timeout=wait)
        self.raw.append(text)
        import json

        frame = json.loads(text)
        self.frames.append(frame)
        return frame

    async def expect(self, type_: str, wait: float = 3, **match) -> dict:
        """The next frame of this type (others on the way are kept, not asserted)."""
        while True:
            frame = await self.recv(wait)
            if frame.get("type") == type_ and all(frame.get(k) == v for k, v in match.items()):
                return frame

    async def drain(self, quiet_s: float = 0.4) -> list[dict]:
        got = []
        while not await self.comm.receive_nothing(timeout=quiet_s):
            got.append(await self.recv())
        return got

    async def close(self) -> None:
        await self.comm.disconnect()


# --- Browser calls -------------------------------------------------------------------------------------------------
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DESK = {"viewport": {"width": 1280, "height": 900}}
# Chromium's fake microphone, allowed without a prompt, and audio that may play before a gesture.
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              "--autoplay-policy=no-user-gesture-required"]
INBOUND_AUDIO = """async () => {
  const pc = window.__rtc && window.__rtc.pc;
  if (!pc) return null;
  let bytes = 0, level = null;
  (await pc.getStats()).forEach((r) => {
    if (r.type === "inbound-rtp" && r.kind === "audio") { bytes += r.bytesReceived || 0; level = r.audioLevel; }
  });
  return { bytes, level };
}"""


def media_browser(playwright_instance):
    """Debian's Chromium with a fake microphone, closed after use: a module's `browser` fixture yields from it."""
    from tests.harness import CHROMIUM, CHROMIUM_ARGS

    browser = playwright_instance.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                  args=[*CHROMIUM_ARGS, *MEDIA_ARGS])
    yield browser
    browser.close()


def call_context(stack, browser, *, init_script: str = "", **options):
    """A browser context on the stack with the microphone allowed (`options`: viewport, locale, ...)."""
    ctx = browser.new_context(base_url=stack.url, permissions=["microphone"], **options)
    if init_script:
        ctx.add_init_script(init_script)
    return ctx


def call_page(stack, browser, username: str | None, *, path: str, init_script: str = "", **options):
    """A party's page, ready and with its socket online: logged in as `username` and sent to `path`, or (None:
    a customer with a tracking link) opened at `path`. Returns (context, page)."""
    from playwright.sync_api import expect

    from tests.browser.conftest import login

    ctx = call_context(stack, browser, init_script=init_script, **options)
    if username:
        page = login(ctx, username, stack=stack, next_path=path)
    else:
        page = ctx.new_page()
        page.goto(path)
    page.wait_for_selector("body[data-ready=true]")
    expect(page.locator("#conn")).to_have_attribute("data-state", "online")
    return ctx, page


def new_order(stack) -> tuple[int, str]:
    """A demo order assigned to rider1: (its id, its tracking token)."""
    out = stack.manage("demo_order", "--rider", "rider1").stdout
    m = re.search(r"Order (\d+), pickup number \S+\. Customer tracking: \S+/t/([^/\s]+)/", out)
    assert m, out
    return int(m.group(1)), m.group(2)


def wait_connected(*pages) -> None:
    from playwright.sync_api import expect

    for page in pages:
        page.wait_for_function("() => window.__rtc && window.__rtc.pc && window.__rtc.pc.connectionState === 'connected'",
                               timeout=20_000)
        expect(page.locator("#call-bar")).to_have_attribute("data-state", "connected")


def poll(page, script: str, until, what: str, *, tries: int = 60):
    """Evaluate `script` every 250 ms until `until(value)`; fails naming `what` if it never holds."""
    for _ in range(tries):
        value = page.evaluate(script)
        if until(value):
            return value
        page.wait_for_timeout(250)
    raise AssertionError(f"{what}: last {value}")


def audio_grows(*pages) -> list[tuple[int, int]]:
    """Inbound audio bytes on each page: (first read, a later read at least 2 KB more)."""
    grown = []
    for page in pages:
        first = page.evaluate(INBOUND_AUDIO)["bytes"]
        later = poll(page, INBOUND_AUDIO, lambda s, first=first: s["bytes"] > first + 2000, "inbound audio grows")
        grown.append((first, later["bytes"]))
    return grown
