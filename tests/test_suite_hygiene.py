"""The suite writes only under var/ or a tmp dir: never into a tracked path such as docs/screenshots/ (which
`make screenshots` refreshes on purpose, with DOCS_SCREENSHOTS_DIR)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from tests import outputs
from tests.browser.conftest import screenshot

ROOT = Path(__file__).resolve().parent.parent


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def ignored(path: Path) -> bool:
    """True when git ignores `path` (check-ignore exits 0), so a write there leaves the checkout clean."""
    return subprocess.run(["git", "check-ignore", "-q", str(path)], cwd=ROOT).returncode == 0


class FakePage:
    """What the screenshot helpers need of a Playwright page: a PNG written where they say."""

    def evaluate(self, script: str) -> None:
        pass

    def screenshot(self, *, path: str, full_page: bool = False) -> None:
        Path(path).write_bytes(b"\x89PNG\r\n\x1a\n")


def test_the_readme_screenshots_go_to_var_by_default(monkeypatch):
    monkeypatch.delenv("DOCS_SCREENSHOTS_DIR", raising=False)
    where = outputs.docs_screenshots()
    assert where.is_relative_to(ROOT / "var")
    assert ignored(where / "dispatch.png")


def test_make_screenshots_points_them_at_docs(monkeypatch):
    monkeypatch.setenv("DOCS_SCREENSHOTS_DIR", "docs/screenshots")
    assert outputs.docs_screenshots() == ROOT / "docs" / "screenshots"


def test_the_screenshot_helpers_leave_the_checkout_as_it_was(monkeypatch):
    monkeypatch.delenv("DOCS_SCREENSHOTS_DIR", raising=False)
    before = git("status", "--porcelain", "--untracked-files=all")
    shots = [screenshot(FakePage(), "suite-hygiene"), outputs.docs_screenshots() / "suite-hygiene.png"]
    FakePage().screenshot(path=str(shots[1]))
    try:
        assert git("status", "--porcelain", "--untracked-files=all") == before
    finally:
        for shot in shots:
            shot.unlink(missing_ok=True)


def test_no_test_module_builds_a_path_into_docs():
    """A test that wants a file for the docs asks tests/outputs.py; it never spells docs/ itself."""
    spelt = re.compile(r"""/\s*["']docs["']|["']docs/""")
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "tests").rglob("*.py"))
                 if p.name != Path(__file__).name and spelt.search(p.read_text())]
    assert offenders == []
