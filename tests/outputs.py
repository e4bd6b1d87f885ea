"""Where tests write files: only under var/ (git-ignored) or a tmp dir, never into a tracked path.

The screenshots the README shows are taken by browser tests. By default they land in var/screenshots/;
`make screenshots` runs those tests with DOCS_SCREENSHOTS_DIR=docs/screenshots to refresh the tracked copies.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def docs_screenshots() -> Path:
    """The directory for the README's screenshots (created): var/screenshots/ unless DOCS_SCREENSHOTS_DIR says."""
    configured = os.environ.get("DOCS_SCREENSHOTS_DIR", "")
    path = Path(configured) if configured else VAR / "screenshots"
    if not path.is_absolute():
        path = ROOT / path
    path.mkdir(parents=True, exist_ok=True)
    return path


def docs_page(name: str) -> Path:
    """A tracked page of the docs, for reading only (a test that checks the code a page shows is the code that
    runs, as tests/webhook_receiver.py does with docs/webhooks.md's snippet)."""
    return ROOT.joinpath("docs", name)
