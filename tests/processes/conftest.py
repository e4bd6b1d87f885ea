"""Helpers for tests that run real processes (daphne, worker, beat) through tests.harness."""

from __future__ import annotations

import asyncio
import json
import time
from urllib.parse import urlsplit

import pytest
import websockets

from tests.harness import LiveStack, scale_urls


def wait_for(predicate, *, timeout: float = 20, every: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def delivery_to_handoff(stack: LiveStack, *, server: int = 0, rider: str = "rider1") -> dict:
    """Post an order, assign it, mark it ready and hand it over. Returns ids, codes and clients."""
    from tests.factories import order_payload

    merchant = stack.token_client("merchant1", server)
    created = merchant.post("/api/orders/", json=order_payload()).json()
    dispatcher = stack.login("dispatcher1", server)
    riders = {r["name"]: r["id"] for r in dispatcher.get("/api/dispatch/riders/").json()}
    rider_id = {"rider1": riders["Ravi K."], "rider2": riders["Mia L."]}[rider]
    r = dispatcher.post(f"/api/dispatch/orders/{created['id']}/assign/", json={"rider": rider_id})
    assert r.status_code == 200, r.text
    staff = stack.login("store1", server)
    assert staff.post(f"/api/pickup/orders/{created['id']}/ready/").status_code == 200
    rider_client = stack.login(rider, server)
    code = rider_client.get(f"/api/rider/orders/{created['id']}/handoff-code/").json()["code"]
    r = staff.post("/api/pickup/handoff/", json={"pickup_code": created["pickup_code"], "rider_code": code})
    assert r.status_code == 200, r.text
    token = created["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    return {"order": created["id"], "token": token, "rider": rider_client, "staff": staff, "rider_id": rider_id,
            "pickup_code": created["pickup_code"]}


class Socket:
    """A websocket client in its own event loop, authenticated with an httpx client's session cookie."""

    def __init__(self, base_url: str, path: str, client=None, origin: str | None = None):
        self.loop = asyncio.new_event_loop()
        parts = urlsplit(base_url)
        headers = {"Origin": origin or base_url}
        if client is not None:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in client.cookies.items())
        self.ws = self.loop.run_until_complete(
            websockets.connect(f"ws://{parts.netloc}{path}", additional_headers=headers, open_timeout=10)
        )
        self.frames: list[dict] = []
        hello = self.recv(5)
        assert hello and hello["type"] == "hello"

    def recv(self, timeout: float) -> dict | None:
        try:
            raw = self.loop.run_until_complete(asyncio.wait_for(self.ws.recv(), timeout))
        except TimeoutError:
            return None
        frame = json.loads(raw)
        self.frames.append(frame)
        return frame

    def send(self, message: dict) -> None:
        self.loop.run_until_complete(self.ws.send(json.dumps(message)))

    def wait_for(self, match, timeout: float = 15) -> dict:
        for frame in self.frames:
            if match(frame):
                return frame
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            frame = self.recv(max(0.05, deadline - time.monotonic()))
            if frame is not None and match(frame):
                return frame
        raise AssertionError(f"no matching frame in {timeout}s; got {self.frames}")

    def quiet_for(self, seconds: float) -> list[dict]:
        """Frames that arrive within `seconds` (used to assert that nothing of interest arrives)."""
        deadline = time.monotonic() + seconds
        got = []
        while time.monotonic() < deadline:
            frame = self.recv(max(0.05, deadline - time.monotonic()))
            if frame is not None:
                got.append(frame)
        return got

    def close(self) -> None:
        try:
            self.loop.run_until_complete(self.ws.close())
        finally:
            self.loop.close()


def refused(base_url: str, path: str, client=None, origin: str | None = None) -> bool:
    try:
        sock = Socket(base_url, path, client, origin)
    except (websockets.exceptions.InvalidStatus, websockets.exceptions.ConnectionClosed, AssertionError):
        return True
    sock.close()
    return False


@pytest.fixture(scope="module")
def scale_env():
    db, redis = scale_urls()
    if not (db and redis):
        pytest.skip("DATABASE_URL and REDIS_URL not set: scale-profile tests need PostgreSQL and Redis")
    return db, redis
