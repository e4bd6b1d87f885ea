"""Helpers for the integration tests that run the real thing across processes (tests.harness.LiveStack).

- `wait_for`: every wait polls against a deadline; nothing sleeps unbounded.
- `Socket`: a websocket client (the `websockets` library) authenticated with an httpx client's
  session cookie and sending the page's Origin, as a browser does.
- `Parties`: logged-in HTTP clients per (account, server), made once per stack, and the delivery
  flow over the public API.
- `order_state`, `expire_grants`, `audit_verify`: the database as the stack sees it, through
  `manage.py` in the stack's environment (so the same code reads SQLite or PostgreSQL).

A test module defines a module-scoped `stack` fixture (one stack per module: start-up is the
expensive part). When a test fails, the processes' logs are attached to its report.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from dispatch.management.commands.demo_data import RIDERS
from tests.factories import PII_STRINGS, order_payload
from tests.harness import LiveStack, attach_stack_logs, scale_urls

SCALE_SKIP = "DATABASE_URL and REDIS_URL not set: scale-profile tests need PostgreSQL and Redis"
RIDER_NAMES = {username: name for username, name, _ in RIDERS}
SAME_ORIGIN = "same-origin"


def wait_for(predicate: Callable[[], Any], *, timeout: float = 20.0, every: float = 0.2, what: str = "condition"):
    """Poll `predicate` until it returns something truthy (returned) or the deadline passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        last = predicate()
        if last:
            return last
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")
        time.sleep(every)


def assert_no_pii(texts: list[str] | str) -> None:
    text = texts if isinstance(texts, str) else "\n".join(texts)
    for s in PII_STRINGS:
        assert s not in text, f"leaked {s!r}"


# --- websockets ------------------------------------------------------------------------------------
def cookie_header(client: httpx.Client) -> str:
    return "; ".join(f"{c.name}={c.value}" for c in client.cookies.jar)


def open_ws(base_url: str, path: str, client: httpx.Client | None = None, origin: str | None = SAME_ORIGIN):
    """The websocket handshake as a browser page on `base_url` makes it; a context manager."""
    headers = {}
    if origin == SAME_ORIGIN:
        headers["Origin"] = base_url
    elif origin is not None:
        headers["Origin"] = origin
    if client is not None:
        headers["Cookie"] = cookie_header(client)
    url = f"ws://{urlsplit(base_url).netloc}{path}"
    return connect(url, additional_headers=headers, open_timeout=10, close_timeout=2)


def refusal(base_url: str, path: str, client: httpx.Client | None = None, origin: str | None = SAME_ORIGIN) -> int | None:
    """The HTTP status with which the server refused the websocket handshake, or None if it accepted."""
    try:
        with open_ws(base_url, path, client, origin):
            return None
    except InvalidStatus as exc:
        return exc.response.status_code


class Socket:
    """An accepted websocket. `frames` holds every JSON frame received, `raw` the text as sent."""

    def __init__(self, base_url: str, path: str, client: httpx.Client, *, name: str = ""):
        self.name = name or f"{path}@{urlsplit(base_url).port}"
        self._exit = contextlib.ExitStack()
        self.ws = self._exit.enter_context(open_ws(base_url, path, client))
        self.frames: list[dict] = []
        self.raw: list[str] = []
        hello = self._recv(10)
        if hello != {"type": "hello", "seq": 0}:
            self.close()
            raise AssertionError(f"{self.name}: expected hello, got {hello!r}")

    def _recv(self, timeout: float) -> dict | None:
        try:
            raw = self.ws.recv(timeout=max(timeout, 0.01))
        except TimeoutError:
            return None
        self.raw.append(raw)
        frame = json.loads(raw)
        self.frames.append(frame)
        return frame

    def send(self, message: dict) -> None:
        self.ws.send(json.dumps(message))

    def wait_for(self, match: Callable[[dict], bool], *, timeout: float = 15.0, what: str = "frame") -> dict:
        """The first frame (already received or arriving before the deadline) that matches."""
        for frame in self.frames:
            if match(frame):
                return frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = self._recv(left)
            if frame is not None and match(frame):
                return frame
        raise AssertionError(f"{self.name}: no {what} within {timeout}s; frames: {self.frames}")

    def drain(self, seconds: float) -> list[dict]:
        """Whatever arrives within `seconds` (to assert that something does NOT arrive)."""
        got = []
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            frame = self._recv(left)
            if frame is not None:
                got.append(frame)
        return got

    def about(self, order_id: int) -> list[dict]:
        return [f for f in self.frames if f.get("order") == order_id]

    def close(self) -> None:
        self._exit.close()


def is_event(type_: str, order_id: int, **fields) -> Callable[[dict], bool]:
    return lambda f: f.get("type") == type_ and f.get("order") == order_id and all(f.get(k) == v for k, v in fields.items())


# --- the flow over HTTP -------------------------------------------------------------------------------
class Parties:
    """Logged-in clients per (account, server), made once (a login costs a password hash)."""

    def __init__(self, stack: LiveStack):
        self.stack = stack
        self._clients: dict[tuple[str, int], httpx.Client] = {}
        self._rider_pks: dict[str, int] = {}
        self.anonymous = httpx.Client(base_url=stack.url, timeout=20)

    def __call__(self, username: str, server: int = 0) -> httpx.Client:
        key = (username, server)
        if key not in self._clients:
            if username.startswith("merchant"):
                self._clients[key] = self.stack.token_client(username, server)
            else:
                self._clients[key] = self.stack.login(username, server)
        return self._clients[key]

    def rider_pk(self, username: str) -> int:
        if not self._rider_pks:
            riders = self("dispatcher1").get("/api/dispatch/riders/")
            assert riders.status_code == 200, riders.text
            by_name = {r["name"]: r["id"] for r in riders.json()}
            self._rider_pks = {u: by_name[n] for u, n in RIDER_NAMES.items() if n in by_name}
        return self._rider_pks[username]

    def post_order(self, server: int = 0) -> dict:
        r = self("merchant1", server).post("/api/orders/", json=order_payload())
        assert r.status_code == 201, r.text
        order = r.json()
        order["token"] = order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
        return order

    def assign(self, order: dict, rider: str = "rider1", server: int = 0) -> None:
        r = self("dispatcher1", server).post(f"/api/dispatch/orders/{order['id']}/assign/",
                                            json={"rider": self.rider_pk(rider)})
        assert r.status_code == 200, r.text

    def ready(self, order: dict, server: int = 0) -> None:
        r = self("store1", server).post(f"/api/pickup/orders/{order['id']}/ready/")
        assert r.status_code == 200, r.text

    def hand_off(self, order: dict, rider: str = "rider1", server: int = 0) -> None:
        r = self(rider, server).get(f"/api/rider/orders/{order['id']}/handoff-code/")
        assert r.status_code == 200, r.text
        r = self("store1", server).post("/api/pickup/handoff/",
                                        json={"pickup_code": order["pickup_code"], "rider_code": r.json()["code"]})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "picked_up"

    def picked_up(self, rider: str = "rider1", server: int = 0) -> dict:
        """A new order, assigned to `rider`, ready, and handed over: every write on `server`."""
        order = self.post_order(server)
        self.assign(order, rider, server)
        self.ready(order, server)
        self.hand_off(order, rider, server)
        return order

    def deliver(self, order: dict, rider: str = "rider1", server: int = 0) -> None:
        track = self.anonymous.get(f"/api/track/{order['token']}/")  # the customer's page holds the PIN
        assert track.status_code == 200, track.text
        r = self(rider, server).post(f"/api/rider/orders/{order['id']}/deliver/", json={"pin": track.json()["delivery_pin"]})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "delivered"

    def close(self) -> None:
        for client in [*self._clients.values(), self.anonymous]:
            client.close()


@pytest.fixture(scope="module")
def parties(stack):
    p = Parties(stack)
    yield p
    p.close()


# --- the database, read through manage.py in the stack's environment ---------------------------------
_ORDER_STATE = """
import json
from dispatch.models import AuditEvent, Grant
grants = [{{"user": g.principal.username, "scope": g.scope, "tier": g.tier, "revoked": g.revoked_at is not None}}
          for g in Grant.objects.filter(order_id={oid}).select_related("principal").order_by("pk")]
actions = list(AuditEvent.objects.filter(order_id={oid}).order_by("pk").values_list("action", flat=True))
print("RESULT " + json.dumps({{"grants": grants, "actions": actions}}))
"""

_ACCESS_TIMES = """
import json
from django.contrib.auth import get_user_model
from dispatch.models import AuditEvent, Grant, Order
order = Order.objects.get(pk={oid})
user = get_user_model().objects.get(username={user!r})
iso = lambda t: t.isoformat() if t else None
grants = [{{"expires_at": iso(g.expires_at), "revoked_at": iso(g.revoked_at)}}
          for g in Grant.objects.filter(order=order, principal=user).order_by("pk")]
revoked = [iso(t) for t in AuditEvent.objects.filter(order=order, action="access.revoked", data__user=user.pk)
           .order_by("pk").values_list("at", flat=True)]
print("RESULT " + json.dumps({{"delivered_at": iso(order.delivered_at), "grants": grants, "revoked": revoked}}))
"""

_EXPIRE_GRANTS = """
import json
from datetime import timedelta
from django.utils import timezone
from dispatch.models import Grant
n = Grant.objects.filter(order_id={oid}, revoked_at__isnull=True).update(expires_at=timezone.now() - timedelta(seconds=1))
print("RESULT " + json.dumps(n))
"""

_PROFILE = """
import json
from django.conf import settings
from django.db import connection
layer = settings.CHANNEL_LAYERS["default"]
out = {"vendor": connection.vendor, "layer": layer["BACKEND"], "cache": settings.CACHES["default"]["BACKEND"],
       "broker": settings.CELERY_BROKER_URL, "relay": settings.EVENTS_RELAY}
from django.utils.module_loading import import_string
from channels_redis.core import RedisChannelLayer
if issubclass(import_string(layer["BACKEND"]), RedisChannelLayer):
    from channels_redis.utils import create_pool, decode_hosts
    pool = create_pool(decode_hosts(layer["CONFIG"]["hosts"])[0])
    out["layer_read_timeout"] = pool.make_connection().socket_timeout  # not connected: only configured
    out["layer_blocking_pop"] = RedisChannelLayer.brpop_timeout
print("RESULT " + json.dumps(out))
"""


def shell_json(stack: LiveStack, code: str) -> Any:
    r = stack.manage("shell", "--no-imports", "-c", code, check=False)
    assert r.returncode == 0, f"manage.py shell failed:\n{r.stdout}\n{r.stderr}"
    lines = [line for line in r.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, f"no RESULT line:\n{r.stdout}\n{r.stderr}"
    return json.loads(lines[-1].removeprefix("RESULT "))


def tracking(stack: LiveStack, token: str, server: int = 0) -> dict:
    """The customer's tracking view of an order (anonymous, by its link's token)."""
    r = httpx.get(f"{stack.url_of(server)}/api/track/{token}/")
    assert r.status_code == 200, r.text
    return r.json()


def order_state(stack: LiveStack, order_id: int) -> dict:
    """{"grants": [{user, scope, tier, revoked}], "actions": [audit actions in order]} for one order."""
    return shell_json(stack, _ORDER_STATE.format(oid=int(order_id)))


def _when(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def access_times(stack: LiveStack, order_id: int, username: str) -> dict:
    """What the server recorded of one rider's access to an order: {"delivered_at", "grants": [{expires_at,
    revoked_at}], "revoked": [the times of the access.revoked events naming them]}, as datetimes (None where unset)."""
    raw = shell_json(stack, _ACCESS_TIMES.format(oid=int(order_id), user=str(username)))
    return {"delivered_at": _when(raw["delivered_at"]), "revoked": [_when(t) for t in raw["revoked"]],
            "grants": [{k: _when(v) for k, v in g.items()} for g in raw["grants"]]}


def assert_access_ended_on_time(stack: LiveStack, order_id: int, username: str, window_s: float,
                                revoked: bool = True) -> dict:
    """From the server's own records, not the test's clock: the rider's grants end no earlier than delivery plus
    the window, none was revoked before its end, and (with `revoked`) every grant was revoked and each
    access.revoked event was written no earlier than that end. Returns the times."""
    times = access_times(stack, order_id, username)
    assert times["delivered_at"] is not None, times
    due = times["delivered_at"] + timedelta(seconds=window_s)
    grants = times["grants"]
    assert grants and all(g["expires_at"] is not None and g["expires_at"] >= due for g in grants), (due, times)
    assert all(g["revoked_at"] is None or g["revoked_at"] >= g["expires_at"] for g in grants), times
    assert all(at >= due for at in times["revoked"]), (due, times)
    if revoked:
        assert all(g["revoked_at"] is not None for g in grants), times
        assert times["revoked"], times
    return times


def expire_grants(stack: LiveStack, order_id: int) -> int:
    """Time travel: every live grant of the order expired a second ago. Returns how many."""
    return shell_json(stack, _EXPIRE_GRANTS.format(oid=int(order_id)))


def stack_profile(stack: LiveStack) -> dict:
    return shell_json(stack, _PROFILE)


def audit_verify(stack: LiveStack) -> str:
    r = stack.manage("audit_verify", check=False)
    assert r.returncode == 0, f"audit chain does not verify:\n{r.stdout}\n{r.stderr}"
    assert "intact" in r.stdout, r.stdout
    return r.stdout.strip()


def count_in_log(stack: LiveStack, name: str, pattern: str) -> int:
    return len(re.findall(pattern, stack.log(name)))


def assert_no_process_errors(stack: LiveStack) -> None:
    """No process logged a traceback (a consumer that crashed drops its socket without failing a request)."""
    found = {p.name: stack.log(p.name).count("Traceback (most recent call last)") for p in stack.procs}
    assert not any(found.values()), f"tracebacks in process logs {found}:\n{stack.logs()}"


# --- scale profile ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def scale_env() -> tuple[str, str]:
    db, redis = scale_urls()
    if not (db and redis):
        pytest.skip(SCALE_SKIP)
    return db, redis


# --- reports ----------------------------------------------------------------------------------------
@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    attach_stack_logs(report, item, lambda value: value.stack if isinstance(value, Parties) else value)
    return report
