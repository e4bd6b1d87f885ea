"""Helpers for the outage tests: the scale profile's cache and session settings, pointed at a Redis that
is not there (a free port nobody listens on: connections are refused at once)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.harness import ROOT, free_port

_PRINT = ("import json, django; django.setup(); from django.conf import settings as s; "
          "print('RESULT ' + json.dumps({'CACHES': s.CACHES, 'SESSION_ENGINE': s.SESSION_ENGINE}))")


def scale_settings(tmp: Path, redis_url: str = "") -> dict:
    """CACHES and SESSION_ENGINE exactly as config.settings builds them for REDIS_URL (default: a dead Redis)."""
    redis_url = redis_url or f"redis://127.0.0.1:{free_port()}/0"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "TESTING")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", DEMO_MODE="1", REDIS_URL=redis_url, VAR_DIR=str(tmp))
    out = subprocess.run([sys.executable, "-c", _PRINT], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    return json.loads(next(line for line in out.splitlines() if line.startswith("RESULT ")).removeprefix("RESULT "))
