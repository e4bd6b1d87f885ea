"""`make run`'s rules: static files are collected only when something they come from changed, and `make urls`
prints the demo's URLs and logins again. Read through `make -n` (what make would run) or a real `make urls`."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def make(*args: str, **env: str) -> str:
    return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, check=True, timeout=120).stdout


def static_plan(tmp_path: Path) -> str:
    """What `make static` would run with its output in tmp_path (the venv taken as installed)."""
    return make("-n", "static", "-o", ".venv/.installed", STATIC_ROOT=str(tmp_path))


def test_static_is_collected_when_never_collected(tmp_path):
    assert "collectstatic" in static_plan(tmp_path)


def test_static_is_not_collected_again_when_nothing_changed(tmp_path):
    stamp = tmp_path / ".collected"
    stamp.touch()
    future = 4_102_444_800  # 2100-01-01: newer than every file the rule reads
    os.utime(stamp, (future, future))
    assert "collectstatic" not in static_plan(tmp_path)


def test_static_is_collected_again_when_a_file_under_static_is_newer(tmp_path):
    stamp = tmp_path / ".collected"
    stamp.touch()
    os.utime(stamp, (0, 0))  # 1970: older than any file under static/
    assert "collectstatic" in static_plan(tmp_path)


def test_make_urls_prints_the_demo_logins():
    out = make("-o", ".venv/.installed", "urls", PORT="8123")
    assert "http://127.0.0.1:8123/dispatch/" in out
    for login in ("rider1", "store1", "dispatcher1", "merchant1"):
        assert login in out
    assert "deliver-privately" in out
