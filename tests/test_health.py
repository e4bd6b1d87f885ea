"""GET /healthz and GET /readyz (dispatch/services/health.py, config.middleware.HealthProbeMiddleware) for a load
balancer: liveness touches nothing; readiness names each failing part and never a secret."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from dispatch.models import AuditEvent
from dispatch.services import health
from dispatch.services.audit import _anchor_write, audit_checkpoint, audit_record

ROOT = Path(__file__).resolve().parent.parent
SECRET_SETTINGS = ("VAULT_MASTER_KEY", "VAULT_DIGEST_KEY", "TOKEN_DIGEST_KEY", "AUDIT_ANCHOR_KEY", "SECRET_KEY")


@pytest.fixture(autouse=True)
def _no_cached_migrations_result():
    health.forget()
    yield
    health.forget()


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again once the socket is: nothing listens there


def _readyz(settings=None):
    response = Client().get("/readyz")
    body = response.content.decode()
    if settings is not None:
        for name in SECRET_SETTINGS:
            value = getattr(settings, name, "")
            assert not value or value not in body, name
    return response


def test_healthz_answers_with_database_access_blocked(client):
    """No django_db mark: pytest-django refuses any database access here, so a query would raise."""
    assert client.get("/healthz").status_code == 200


@pytest.mark.django_db
def test_healthz_answers_without_touching_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response and "Vary" not in response


@pytest.mark.django_db
def test_readyz_is_ready_in_the_test_setup(settings):
    response = _readyz(settings)
    assert response.status_code == 200, response.content
    assert response.json() == {"ok": True}
    assert response["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_probes_skip_the_host_check_the_https_redirect_and_csrf(settings):
    """A load balancer probes the backend by address over plain HTTP; the rest of the site refuses both."""
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["delivery.example"]
    probe = Client(HTTP_HOST="10.0.0.7:8000", enforce_csrf_checks=True)
    assert probe.get("/healthz").status_code == 200
    assert probe.get("/readyz").status_code == 200
    assert probe.head("/healthz").status_code == 200
    assert probe.get("/accounts/login/").status_code == 400  # the control: the host check applies elsewhere
    assert Client(HTTP_HOST="delivery.example").get("/accounts/login/").status_code == 301  # and the redirect


@pytest.mark.django_db
def test_readyz_names_the_database_when_it_does_not_answer(settings, monkeypatch):
    from django.db import OperationalError

    def refuse(*args, **kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(connections["default"], "cursor", refuse)
    response = _readyz(settings)
    assert response.status_code == 503
    assert response.json() == {"ok": False, "failing": ["database"]}  # migrations, anchor: not run without it


@pytest.mark.django_db
def test_readyz_names_redis_and_the_broker_at_a_closed_port(settings):
    url = f"redis://127.0.0.1:{closed_port()}/0"
    settings.REDIS_URL = url
    settings.CELERY_BROKER_URL = url
    settings.CACHES = {"default": {"BACKEND": "config.cache.ResilientRedisCache", "LOCATION": url,
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    response = _readyz(settings)
    assert response.status_code == 503
    assert response.json()["failing"] == ["redis", "broker"]


@pytest.mark.django_db
def test_readyz_names_the_broker_when_its_queue_folder_is_gone(settings, tmp_path):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS,
                                                "data_folder_in": str(tmp_path / "nowhere")}
    assert _readyz(settings).json() == {"ok": False, "failing": ["broker"]}


@pytest.mark.django_db
def test_readyz_names_pending_migrations(settings, monkeypatch):
    monkeypatch.setattr(health, "pending_migrations", lambda: ["dispatch.9999_not_yet"])
    response = _readyz(settings)
    assert response.status_code == 503
    assert response.json() == {"ok": False, "failing": ["migrations"]}
    assert "9999" not in response.content.decode()  # the reason is for the preflight command and logs


@pytest.mark.django_db
def test_a_passing_migrations_check_is_trusted_for_a_few_seconds(monkeypatch):
    calls = []
    monkeypatch.setattr(health, "pending_migrations", lambda: calls.append(1) or [])
    assert health.check_migrations(now=100.0) == ""
    assert health.check_migrations(now=100.0 + health.MIGRATIONS_OK_CACHE_S - 1) == ""
    assert len(calls) == 1
    assert health.check_migrations(now=100.0 + health.MIGRATIONS_OK_CACHE_S + 1) == ""
    assert len(calls) == 2


@pytest.mark.django_db
@pytest.mark.parametrize("name, value", [
    ("VAULT_MASTER_KEY", "not-base64-and-too-short!"),
    ("VAULT_MASTER_KEY", ""),
    ("VAULT_DIGEST_KEY", "c2hvcnQ"),  # base64 of 5 bytes
    ("TOKEN_DIGEST_KEY", "tiny"),
])
def test_readyz_names_malformed_keys_and_never_prints_them(settings, caplog, name, value):
    setattr(settings, name, value)
    response = _readyz(settings)
    assert response.status_code == 503
    assert response.json() == {"ok": False, "failing": ["keys"]}
    if value:
        assert value not in response.content.decode() and value not in caplog.text
    assert name in health.check_keys()


@pytest.mark.django_db
def test_readyz_names_the_anchor_key_missing(settings):
    settings.AUDIT_ANCHOR_KEY = ""
    assert _readyz(settings).json() == {"ok": False, "failing": ["keys", "audit_anchor"]}


@pytest.mark.django_db
def test_readyz_names_the_anchor_file_missing_once_events_should_have_been_anchored(settings):
    audit_record(action="test.event", data={})
    assert _readyz(settings).status_code == 200  # a new event: beat has not had the time to anchor it
    AuditEvent.objects.update(at=timezone.now() - timedelta(seconds=3 * settings.AUDIT_CHECKPOINT_S + 60))
    assert not Path(settings.AUDIT_ANCHOR_PATH).exists()
    assert _readyz(settings).json() == {"ok": False, "failing": ["audit_anchor"]}


@pytest.mark.django_db
def test_readyz_checks_the_anchor_signature_and_that_it_matches_the_chain(settings):
    event = audit_record(action="test.event", data={})
    assert audit_checkpoint().ok
    assert _readyz(settings).status_code == 200
    key = settings.AUDIT_ANCHOR_KEY
    settings.AUDIT_ANCHOR_KEY = "another-key-of-at-least-32-characters-long"
    assert _readyz(settings).json() == {"ok": False, "failing": ["audit_anchor"]}  # forged, or the key changed
    settings.AUDIT_ANCHOR_KEY = key
    _anchor_write(last_id=event.pk + 1000, hash=event.hash, count=1)  # names an event the chain no longer has
    assert _readyz(settings).json() == {"ok": False, "failing": ["audit_anchor"]}
    _anchor_write(last_id=event.pk, hash="0" * 64, count=1)  # the event was rewritten since
    assert _readyz(settings).json() == {"ok": False, "failing": ["audit_anchor"]}
    _anchor_write(last_id=event.pk, hash=event.hash, count=1)
    assert _readyz(settings).status_code == 200


def test_passing_probe_lines_are_left_out_of_the_access_log_failing_ones_kept():
    from config.logs import is_probe_line

    assert is_probe_line('10.0.0.2 - - [07/Dec/2026:19:00:00] "GET /healthz" 200 11')
    assert is_probe_line("HTTP GET /readyz 200 [0.01, 10.0.0.2:5000]")
    assert not is_probe_line('10.0.0.2 - - [07/Dec/2026:19:00:00] "GET /readyz" 503 52')
    assert not is_probe_line('10.0.0.2 - - [07/Dec/2026:19:00:00] "GET /healthz/../admin/" 200 11')
    assert not is_probe_line('10.0.0.2 - - [07/Dec/2026:19:00:00] "GET /api/dispatch/orders/" 200 11')


def test_daphnes_access_log_drops_passing_probes_and_keeps_failing_ones():
    import io
    import logging
    from datetime import datetime

    from config.logs import AccessLog, QuietProbes

    stream = io.StringIO()
    log = AccessLog(stream)
    when = datetime(2026, 12, 7, 19, 0, 0)
    log.write_entry("10.0.0.2", when, "GET /healthz", 200, 11)
    log.write_entry("10.0.0.2", when, "GET /readyz", 200, 11)
    log.write_entry("10.0.0.2", when, "GET /readyz", 503, 52)
    log.write_entry("10.0.0.2", when, "GET /accounts/login/", 200, 900)
    assert [line.split('"')[1] for line in stream.getvalue().splitlines()] == ["GET /readyz", "GET /accounts/login/"]
    for name in ("daphne.access", "django.server", "django.channels.server"):
        assert any(isinstance(f, QuietProbes) for f in logging.getLogger(name).filters), name


def _readyz_in_a_process(tmp_path, database_url: str, redis_url: str) -> tuple[str, dict, str]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "TESTING": "1", "VAR_DIR": str(tmp_path),
           "DATABASE_URL": database_url, "REDIS_URL": redis_url}
    script = ("import django; django.setup(); from django.test import Client; "
              "r = Client().get('/readyz'); print(r.status_code, r.content.decode())")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    status, body = done.stdout.strip().splitlines()[-1].split(" ", 1)
    return status, json.loads(body), done.stdout + done.stderr


def test_a_real_process_on_the_scale_profile_names_what_it_cannot_reach(tmp_path):
    """The real settings (not the test settings) with PostgreSQL and Redis URLs at closed ports, in a process of its
    own: psycopg's and redis-py's own refusals, through the real middleware chain."""
    port = closed_port()
    status, body, output = _readyz_in_a_process(tmp_path, f"postgres://postgres:pw-not-printed@127.0.0.1:{port}/x",
                                                f"redis://:pw-not-printed@127.0.0.1:{port}/0")
    assert (status, body) == ("503", {"ok": False, "failing": ["database", "redis", "broker"]})
    assert "pw-not-printed" not in output


def test_a_real_process_with_the_real_servers_names_only_what_is_missing(tmp_path):
    """CI (DATABASE_URL, REDIS_URL): the real Redis answers, a new empty PostgreSQL database answers but has no
    migration applied; and the real PostgreSQL with Redis at a closed port."""
    from tests.harness import create_pg_database, drop_pg_database, scale_urls

    database_url, redis_url = scale_urls()
    if not (database_url and redis_url):
        pytest.skip("needs DATABASE_URL and REDIS_URL (the scale profile's servers)")
    url, name = create_pg_database(database_url)
    try:
        status, body, _ = _readyz_in_a_process(tmp_path, url, redis_url)
        assert (status, body) == ("503", {"ok": False, "failing": ["migrations"]})
        status, body, _ = _readyz_in_a_process(tmp_path, url, f"redis://127.0.0.1:{closed_port()}/0")
        assert (status, body) == ("503", {"ok": False, "failing": ["redis", "broker", "migrations"]})
    finally:
        drop_pg_database(database_url, name)


# --- manage.py preflight ------------------------------------------------------------------------------------------

def _key32() -> str:
    import base64
    import secrets

    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def _production_env(tmp_path, **extra) -> dict[str, str]:
    """A production configuration (no DEMO_MODE, no TESTING) on the embedded profile, every key set."""
    import secrets

    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DEMO_MODE", "TESTING")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "VAR_DIR": str(tmp_path),
                "SECRET_KEY": secrets.token_urlsafe(50), "VAULT_MASTER_KEY": _key32(), "VAULT_DIGEST_KEY": _key32(),
                "TOKEN_DIGEST_KEY": secrets.token_urlsafe(32), "AUDIT_ANCHOR_KEY": secrets.token_urlsafe(32),
                "ALLOWED_HOSTS": "delivery.example", "PUBLIC_BASE_URL": "https://delivery.example",
                "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https", "TRUSTED_PROXY_COUNT": "1",
                "TILE_URL": f"http://127.0.0.1:{closed_port()}/{{z}}/{{x}}/{{y}}.png",
                "ICE_SERVERS": '[{"urls": ["stun:stun.example.net:3478", "turn:turn.example.net:3478"]}]',
                "TURN_SECRET": secrets.token_urlsafe(24)})
    env.update(extra)
    return env


def _preflight(env: dict[str, str]) -> tuple[int, dict[str, tuple[str, str]], str]:
    done = subprocess.run([sys.executable, "manage.py", "preflight", "--no-color"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    lines = {}
    for line in done.stdout.splitlines():
        parts = line.split(None, 2)
        if len(parts) == 3 and parts[0] in ("OK", "WARN", "FAIL"):
            lines[parts[1]] = (parts[0], parts[2])
    return done.returncode, lines, done.stdout + done.stderr


def _assert_no_secret(env: dict[str, str], output: str) -> None:
    for name in (*SECRET_SETTINGS, "TURN_SECRET"):
        if env.get(name):
            assert env[name] not in output, name


def test_preflight_passes_a_demo_configuration_with_warnings_only(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TESTING")}
    env.update({"DJANGO_SETTINGS_MODULE": "config.settings", "DEMO_MODE": "1", "VAR_DIR": str(tmp_path),
                "TILE_URL": f"http://127.0.0.1:{closed_port()}/{{z}}/{{x}}/{{y}}.png"})
    code, lines, output = _preflight(env)
    assert code == 0, output
    assert set(lines) == {"keys", "deploy", "tls", "ice_servers", "tiles", "database", "redis", "broker",
                          "migrations", "audit_anchor"}
    assert lines["keys"][0] == "OK" and lines["database"][0] == "OK" and lines["broker"][0] == "OK"
    assert lines["tiles"][0] == "WARN"  # unreachable tiles warn, never fail
    assert "FAIL" not in {level for level, _ in lines.values()}
    assert "preflight: OK" in output
    demo_keys = [(tmp_path / name).read_text().strip() for name in ("secret_key", "vault.key", "vault_digest.key",
                                                                  "token_digest.key", "audit_anchor.key")]
    assert all(key and key not in output for key in demo_keys)


def test_preflight_passes_a_complete_production_configuration_with_warnings_only(tmp_path):
    env = _production_env(tmp_path)
    code, lines, output = _preflight(env)
    assert code == 0, output
    assert {n: level for n, (level, _) in lines.items() if level != "OK"} == {
        "tiles": "WARN", "migrations": "WARN", "audit_anchor": "WARN"}, output  # a new database: migrate comes next
    _assert_no_secret(env, output)


@pytest.mark.parametrize("overrides, check, words", [
    ({"VAULT_DIGEST_KEY": "dGhpcyBpcyBub3QgMzIgYnl0ZXM"}, "check_keys", "VAULT_DIGEST_KEY is not urlsafe base64"),
    ({"SECURE_PROXY_SSL_HEADER": None}, "check_tls", "redirected forever"),
    ({"SECURE_PROXY_SSL_HEADER": ("X_FORWARDED_PROTO", "https")}, "check_tls", "starting HTTP_"),
    ({"SECURE_SSL_REDIRECT": False, "SESSION_COOKIE_SECURE": False}, "check_tls", "must be on outside the demo"),
    ({"PUBLIC_BASE_URL": "http://delivery.example"}, "check_tls", "PUBLIC_BASE_URL is http://"),
    ({"ICE_SERVERS": [{"urls": "turn:turn.example.net"}], "TURN_SECRET": ""}, "check_ice_servers", "no TURN_SECRET"),
    ({"ICE_SERVERS": [{"url": "stun:x"}]}, "check_ice_servers", "needs `urls`"),
    ({"ICE_SERVERS": {"urls": "stun:x"}}, "check_ice_servers", "JSON list"),
])
def test_preflight_fails_an_incoherent_production_configuration(settings, overrides, check, words):
    from dispatch.management.commands import preflight

    settings.DEMO_MODE, settings.TESTING = False, False
    settings.SECURE_SSL_REDIRECT = settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.SECURE_PROXY_SSL_HEADER, settings.TRUSTED_PROXY_COUNT = ("HTTP_X_FORWARDED_PROTO", "https"), 1
    settings.PUBLIC_BASE_URL = "https://delivery.example"
    settings.ICE_SERVERS, settings.TURN_SECRET = [{"urls": ["stun:stun.example.net", "turn:turn.example.net"]}], "s" * 30
    for name in ("check_keys", "check_tls", "check_ice_servers"):
        assert getattr(preflight, name)()[0] == "OK", name  # the control: coherent as set up
    for name, value in overrides.items():
        setattr(settings, name, value)
    level, reason = getattr(preflight, check)()
    assert level == "FAIL" and words in reason, reason
    assert "dGhpcyBpcyBub3QgMzIgYnl0ZXM" not in reason


def test_preflight_fails_without_the_master_key_and_prints_the_servers_versions_or_what_it_cannot_reach(tmp_path):
    """A production configuration missing VAULT_MASTER_KEY: FAIL and exit 1, no secret printed. With DATABASE_URL and
    REDIS_URL (CI) it prints the real servers' versions; without, closed ports fail by name, no password printed."""
    from tests.harness import scale_urls

    database_url, redis_url = scale_urls()
    port = closed_port()
    env = _production_env(tmp_path, VAULT_MASTER_KEY="",
                          DATABASE_URL=database_url or f"postgres://postgres:pw-not-printed@127.0.0.1:{port}/x",
                          REDIS_URL=redis_url or f"redis://:pw-not-printed@127.0.0.1:{port}/0")
    code, lines, output = _preflight(env)
    assert code == 1, output
    assert lines["keys"] == ("FAIL", "VAULT_MASTER_KEY is not set")
    assert lines["deploy"][0] == "OK" and lines["tls"][0] == "OK" and lines["ice_servers"][0] == "OK", output
    assert "preflight: FAIL" in output
    if database_url:
        assert lines["database"][0] == "OK" and lines["database"][1].startswith("PostgreSQL "), output
    else:
        assert lines["database"][0] == "FAIL" and lines["migrations"][0] == "FAIL", output
    if redis_url:
        assert lines["redis"][0] == "OK" and lines["redis"][1].startswith("Redis "), output
    else:
        assert lines["redis"] == ("FAIL", f"Redis at redis://127.0.0.1:{port} does not answer (ConnectionError)")
    assert "pw-not-printed" not in output
    _assert_no_secret(env, output)
