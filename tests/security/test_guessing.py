"""Guessing: passwords at every door (login form, API token, admin login) and the delivery PIN.

Each test plays an attacker who guesses; the counters must hold across a cache clear and a restart."""

from __future__ import annotations

import contextlib
import subprocess
import time
from datetime import timedelta

import httpx
import pytest
import redis
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import F
from django.test import Client

from dispatch.models import Order, OrderStatus
from tests.harness import SERVER, LiveStack, free_port, scale_urls

RIGHT = "right-horse-battery-staple"
LIMIT = 10  # failures allowed in the window; the next try is refused
WINDOW = timedelta(minutes=15)


@pytest.fixture
def target(db):
    return get_user_model().objects.create_user("target", password=RIGHT, is_staff=True, is_superuser=True)


@pytest.fixture
def bystander(db):
    return get_user_model().objects.create_user("bystander", password=RIGHT, is_staff=True, is_superuser=True)


def _login_form(client: Client, username: str, password: str, ip: str, **extra):
    return client.post("/accounts/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def _token(client: Client, username: str, password: str, ip: str, **extra):
    return client.post("/api/auth/token/", {"username": username, "password": password},
                       content_type="application/json", REMOTE_ADDR=ip, **extra)


def _admin(client: Client, username: str, password: str, ip: str, **extra):
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=ip, **extra)


DOORS = {"login_form": _login_form, "api_token": _token, "admin": _admin}


def _succeeded(door: str, response) -> bool:
    if door == "api_token":
        return response.status_code == 200 and "token" in response.json()
    return response.status_code == 302 and "_auth_user_id" in response.wsgi_request.session


def _assert_locked(door: str, response) -> None:
    assert response.status_code == 429, (response.status_code, response.content[:300])
    retry = int(response["Retry-After"])
    assert 0 < retry <= WINDOW.total_seconds()
    assert "no-store" in response["Cache-Control"]
    if door == "api_token":
        body = response.json()
        assert body["code"] == "locked_out" and "minutes" in body["detail"]
    else:
        page = response.content.decode()
        assert 'role="alert"' in page and "Too many failed attempts" in page
        assert 'name="password"' in page  # still the login page, with its form


@pytest.mark.parametrize("door", DOORS)
def test_eleventh_guess_is_refused_and_then_the_right_password_too(door, target):
    """Attacker guessing one account's password from one address (finding: passwords can be guessed
    without limit on the login form, the token API and the admin login)."""
    attempt = DOORS[door]
    client = Client()
    answers = [attempt(client, "target", f"guess-{i}", "203.0.113.7") for i in range(LIMIT)]
    assert not any(_succeeded(door, r) for r in answers)
    _assert_locked(door, attempt(client, "target", "guess-11", "203.0.113.7"))
    right = attempt(Client(), "target", RIGHT, "203.0.113.7")
    _assert_locked(door, right)
    assert not _succeeded(door, right)
    # From another address with no failures, the owner still gets in: nobody can lock an account from elsewhere.
    assert _succeeded(door, attempt(Client(), "target", RIGHT, "198.51.100.9"))

    # The window passes: the right password works again.
    from axes.models import AccessAttempt

    AccessAttempt.objects.update(attempt_time=F("attempt_time") - WINDOW - timedelta(seconds=1))
    assert _succeeded(door, attempt(Client(), "target", RIGHT, "203.0.113.7"))


@pytest.mark.parametrize("door", DOORS)
def test_an_address_that_guesses_many_accounts_does_not_lock_the_others_behind_it(door, target, bystander):
    """Someone spraying passwords over many usernames from one address (a shared NAT): each username is
    counted there on its own, and a colleague behind the same address still logs in."""
    attempt = DOORS[door]
    for i in range(LIMIT):
        attempt(Client(), f"user{i}", "Winter2026!", "203.0.113.8")
    assert _succeeded(door, attempt(Client(), "bystander", RIGHT, "203.0.113.8"))


@pytest.mark.parametrize("door", DOORS)
def test_a_different_user_from_another_address_is_not_locked(door, target, bystander):
    """Legitimate user while an attacker locks someone else's account (finding: unlimited guessing;
    the lock must not spill over)."""
    attempt = DOORS[door]
    for i in range(LIMIT + 1):
        attempt(Client(), "target", f"guess-{i}", "203.0.113.7")
    assert _succeeded(door, attempt(Client(), "bystander", RIGHT, "198.51.100.20"))


def test_the_lock_survives_a_cache_clear(target):
    """Attacker who can make the cache drop (a Redis restart) to reset the counter (finding: unlimited guessing)."""
    for i in range(LIMIT):
        _login_form(Client(), "target", f"guess-{i}", "203.0.113.7")
    cache.clear()
    _assert_locked("login_form", _login_form(Client(), "target", RIGHT, "203.0.113.7"))


def test_a_forged_forwarded_header_does_not_reset_the_address_count(target):
    """Attacker rotating X-Forwarded-For to look like many clients when no proxy is configured
    (finding: unlimited guessing)."""
    for i in range(LIMIT):
        _login_form(Client(), "target", f"guess-{i}", "203.0.113.9", HTTP_X_FORWARDED_FOR=f"10.0.0.{i}")
    r = _login_form(Client(), "target", RIGHT, "203.0.113.9", HTTP_X_FORWARDED_FOR="10.0.0.200")
    _assert_locked("login_form", r)


def test_behind_a_proxy_the_client_address_comes_from_the_configured_header(target, settings):
    """Two clients behind one reverse proxy: one guessing does not lock the other (finding: unlimited guessing)."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "10.0.0.1"
    for i in range(LIMIT):
        _login_form(Client(), "target", f"guess-{i}", proxy, HTTP_X_FORWARDED_FOR="203.0.113.50")
    _assert_locked("login_form", _login_form(Client(), "target", RIGHT, proxy, HTTP_X_FORWARDED_FOR="203.0.113.50"))
    assert _succeeded("login_form", _login_form(Client(), "target", RIGHT, proxy, HTTP_X_FORWARDED_FOR="203.0.113.51"))


def test_no_password_is_stored_with_a_failed_attempt(target):
    """Operator reading the lockout table: it never holds the guessed passwords."""
    from axes.models import AccessAttempt

    _login_form(Client(), "target", "my-secret-guess", "203.0.113.7")
    _token(Client(), "target", "my-other-guess", "203.0.113.7")
    stored = " ".join(f"{a.get_data} {a.post_data}" for a in AccessAttempt.objects.all())
    assert AccessAttempt.objects.exists()
    assert "my-secret-guess" not in stored and "my-other-guess" not in stored


# --- The delivery PIN -------------------------------------------------------------------------
def _picked_up(assigned_order) -> tuple[int, str]:
    """Moved to picked up; its id and the PIN its tracking page shows (the database holds only a digest)."""
    Order.objects.filter(pk=assigned_order["id"]).update(status=OrderStatus.PICKED_UP)
    token = assigned_order["tracking_url"].rstrip("/").rsplit("/", 1)[1]
    return assigned_order["id"], Client().get(f"/api/track/{token}/").json()["delivery_pin"]


def _wrong(pin: str) -> str:
    return "".join(str((int(c) + 1) % 10) for c in pin)


@pytest.mark.django_db
def test_pin_lock_survives_a_cache_clear(assigned_order, client_for):
    """Rider guessing the customer's PIN, with the cache cleared (a Redis restart) after five tries
    (finding: the PIN lock lives in the cache)."""
    order_id, pin = _picked_up(assigned_order)
    rider = client_for("rider1")
    url = f"/api/rider/orders/{order_id}/deliver/"
    codes = [rider.post(url, {"pin": _wrong(pin)}, format="json").json()["code"] for _ in range(5)]
    assert codes == ["wrong_pin"] * 5
    cache.clear()
    r = rider.post(url, {"pin": pin}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "pin_locked", r.content
    assert Order.objects.get(pk=order_id).status == OrderStatus.PICKED_UP


@pytest.mark.django_db
def test_pickup_failure_limit_survives_a_cache_clear(posted_order, staff1, settings):
    """Store account guessing pickup numbers, with the cache cleared between bursts (finding: the
    pickup failure limits live in the cache)."""
    settings.PICKUP_FAILURE_LIMIT = 4
    for code in ("901", "902", "903", "904"):
        assert staff1.get("/api/pickup/lookup/", {"code": code}).status_code == 404
    cache.clear()
    r = staff1.get("/api/pickup/lookup/", {"code": posted_order["pickup_code"]})
    assert r.status_code == 429 and r.json()["code"] == "rate_limited", r.content


def _restart(stack: LiveStack, i: int = 0) -> None:
    name, port = f"daphne{i}", stack.ports[i]
    stack.stop(name)
    stack.procs = [p for p in stack.procs if p.name != name]  # type: ignore[attr-defined]
    stack._spawn(name, [*SERVER, "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
                 {"PORT": str(port)})
    stack._wait_http(port)


def _picked_up_live(stack: LiveStack) -> tuple[int, str]:
    """A demo order assigned to rider1 and moved to picked up; its id and the PIN its tracking page shows."""
    out = stack.manage("demo_order", "--rider", "rider1").stdout
    order_id = int(out.split("Order ")[1].split(",")[0])
    token = out.rsplit("/t/", 1)[1].split("/")[0]
    pin = httpx.get(f"{stack.url}/api/track/{token}/").json()["delivery_pin"]
    stack.manage("shell", "-c", f"from dispatch.models import Order; "
                                f"Order.objects.filter(pk={order_id}).update(status='picked_up')")
    return order_id, pin


def test_pin_lock_survives_a_server_restart(tmp_path):
    """Rider guessing the customer's PIN, then waiting for a restart of the server (embedded profile)
    (finding: the PIN lock lives in the cache, which a restart clears)."""
    with LiveStack(tmp_path) as stack:
        order_id, pin = _picked_up_live(stack)
        rider = stack.login("rider1")
        url = f"/api/rider/orders/{order_id}/deliver/"
        codes = [rider.post(url, json={"pin": _wrong(pin)}).json()["code"] for _ in range(5)]
        assert codes == ["wrong_pin"] * 5
        _restart(stack)
        started = time.monotonic()
        r = stack.login("rider1").post(url, json={"pin": pin})
        assert r.status_code == 409 and r.json()["code"] == "pin_locked", r.text
        print(f"restarted and refused in {time.monotonic() - started:.2f} s")


@contextlib.contextmanager
def _private_redis(port: int, tmp_path):
    """A redis-server of this test's own (the shared one is never restarted), with no persistence."""
    def start() -> subprocess.Popen:
        proc = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                 "--appendonly", "no", "--dir", str(tmp_path)], stdout=subprocess.DEVNULL)
        client = redis.Redis(port=port)
        for _ in range(100):
            with contextlib.suppress(redis.ConnectionError):
                if client.ping():
                    return proc
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    procs = [start()]

    def restart() -> None:
        procs[0].terminate()
        procs[0].wait(timeout=10)
        procs[0] = start()

    try:
        yield restart
    finally:
        procs[0].terminate()
        procs[0].wait(timeout=10)


@pytest.mark.scale
def test_pin_lock_survives_a_redis_restart(tmp_path):
    """Rider guessing the customer's PIN on the scale profile, then waiting for a Redis restart (the
    cache empties) (finding: the PIN lock lives in the cache, which a Redis restart clears)."""
    database_url, _ = scale_urls()
    if not database_url:
        pytest.skip("DATABASE_URL not set: the scale-profile variant needs PostgreSQL")
    port = free_port()
    with _private_redis(port, tmp_path) as restart_redis, \
            LiveStack(tmp_path / "stack", database_url=database_url, redis_url=f"redis://127.0.0.1:{port}/0") as stack:
        order_id, pin = _picked_up_live(stack)
        rider = stack.login("rider1")
        url = f"/api/rider/orders/{order_id}/deliver/"
        assert [rider.post(url, json={"pin": _wrong(pin)}).json()["code"] for _ in range(5)] == ["wrong_pin"] * 5
        restart_redis()
        assert redis.Redis(port=port).dbsize() == 0
        r = stack.login("rider1").post(url, json={"pin": pin})  # the session too lived in Redis: log in again
        assert r.status_code == 409 and r.json()["code"] == "pin_locked", r.text
