"""Deployment settings: outside demo mode HTTPS is on by default (HSTS, SSL redirect, secure cookies), each
setting can be overridden from the environment, and `check --deploy` is clean. Each run is a subprocess
with a clean environment, as a server would start."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys

from tests.harness import ROOT

PROBE = ("import django, json; django.setup(); from django.conf import settings as s; print(json.dumps({k: getattr(s, k) "
         "for k in ('SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_SSL_REDIRECT', "
         "'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_PROXY_SSL_HEADER')}))")


def _production_env(tmp_path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DEMO_MODE": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "VAULT_MASTER_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "VAULT_DIGEST_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "AUDIT_ANCHOR_KEY": secrets.token_urlsafe(32),
        "TOKEN_DIGEST_KEY": secrets.token_urlsafe(32),
        "ALLOWED_HOSTS": "delivery.example.com",
        "VAR_DIR": str(tmp_path / "var"),
        **extra,
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def _settings(env: dict[str, str]) -> dict:
    done = _run(["-c", PROBE], env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    """Operator deploying with production settings (finding: `check --deploy` gives 4 warnings)."""
    done = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], _production_env(tmp_path))
    print(done.stdout, done.stderr)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_https_is_the_default_outside_demo_mode(tmp_path):
    """Network attacker on the customer's or rider's Wi-Fi (finding: none of the HTTPS settings is on or settable)."""
    assert _settings(_production_env(tmp_path)) == {
        "SECURE_HSTS_SECONDS": 31_536_000, "SECURE_HSTS_INCLUDE_SUBDOMAINS": True, "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True, "CSRF_COOKIE_SECURE": True, "SECURE_PROXY_SSL_HEADER": None,
    }


def test_each_https_setting_can_be_set_from_the_environment(tmp_path):
    """Operator behind a TLS-terminating proxy (finding: none of these settings can be set from the environment)."""
    env = _production_env(tmp_path, SECURE_HSTS_SECONDS="600", SECURE_HSTS_INCLUDE_SUBDOMAINS="0",
                          SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="0", CSRF_COOKIE_SECURE="0",
                          SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https")
    assert _settings(env) == {
        "SECURE_HSTS_SECONDS": 600, "SECURE_HSTS_INCLUDE_SUBDOMAINS": False, "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }
    done = _run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], env)
    assert done.returncode != 0 and "security.W008" in done.stderr  # turning one off is reported


def test_demo_mode_keeps_plain_http(tmp_path):
    """The embedded demo on http://127.0.0.1: no redirect to https, cookies that work over http."""
    env = _production_env(tmp_path, DEMO_MODE="1")
    assert _settings(env) == {
        "SECURE_HSTS_SECONDS": 0, "SECURE_HSTS_INCLUDE_SUBDOMAINS": False, "SECURE_SSL_REDIRECT": False,
        "SESSION_COOKIE_SECURE": False, "CSRF_COOKIE_SECURE": False, "SECURE_PROXY_SSL_HEADER": None,
    }
