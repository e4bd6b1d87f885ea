"""Demo mode comes from its own setting only: DEBUG=1 (a developer's or an operator's debugging) must not
silently turn on the demo's sandbox carrier, generated secrets and plain-http defaults."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.harness import ROOT


def _settings(**env: str) -> dict:
    clean = {k: v for k, v in os.environ.items() if k not in ("TESTING", "DEMO_MODE", "DEBUG", "TELEPHONY_PROVIDER")}
    clean.update(DJANGO_SETTINGS_MODULE="config.settings", PYTHONPATH=str(ROOT), SECRET_KEY="x" * 50,
                 VAULT_MASTER_KEY="A" * 43 + "=", VAULT_DIGEST_KEY="B" * 43 + "=", AUDIT_ANCHOR_KEY="C" * 43,
                 TOKEN_DIGEST_KEY="D" * 43, VAR_DIR=str(ROOT / "var" / "test-prod"), **env)
    code = ("import django, json; django.setup(); from django.conf import settings as s; "
            "print(json.dumps({'debug': s.DEBUG, 'demo': s.DEMO_MODE, 'carrier': s.TELEPHONY_PROVIDER, "
            "'ssl_redirect': s.SECURE_SSL_REDIRECT}))")
    out = subprocess.run([sys.executable, "-c", code], env=clean, cwd=ROOT, capture_output=True, text=True,  # noqa: S603
                         timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_debug_alone_does_not_turn_on_demo_mode():
    debug = _settings(DEBUG="1")
    assert debug["debug"] is True
    assert debug["demo"] is False
    assert debug["carrier"] != "sandbox" and debug["ssl_redirect"] is True


def test_demo_mode_comes_from_its_own_setting():
    assert _settings(DEMO_MODE="1")["demo"] is True
    assert _settings(DEMO_MODE="1", DEBUG="0")["demo"] is True
    assert _settings()["demo"] is False
