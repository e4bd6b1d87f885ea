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


def test_a_real_process_on_the_scale_profile_names_what_it_cannot_reach(tmp_path):
    """The real settings (not the test settings) with PostgreSQL and Redis URLs at closed ports, in a process of its
    own: psycopg's and redis-py's own refusals, through the real middleware chain."""
    port = closed_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "TESTING": "1", "VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"postgres://postgres:pw-not-printed@127.0.0.1:{port}/postgres",
           "REDIS_URL": f"redis://:pw-not-printed@127.0.0.1:{port}/0"}
    script = ("import django; django.setup(); from django.test import Client; "
              "r = Client().get('/readyz'); print(r.status_code, r.content.decode())")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    status, body = done.stdout.strip().splitlines()[-1].split(" ", 1)
    assert status == "503"
    assert json.loads(body) == {"ok": False, "failing": ["database", "redis", "broker"]}
    assert "pw-not-printed" not in done.stdout + done.stderr
