"""Lighthouse (npm's, pinned in scripts/lighthouse-npm/package-lock.json) on the customer's tracking page, over CDP
with Debian's Chromium: accessibility and best practices are scores, so they are asserted (100 each); the
performance figures are printed by `make lighthouse`, never asserted here."""

from __future__ import annotations

import re
import shutil

import pytest

pytestmark = pytest.mark.browser


@pytest.mark.skipif(shutil.which("node") is None or shutil.which("npm") is None,
                    reason="node and npm are not installed (apt-get install nodejs npm): Lighthouse runs on Node")
def test_tracking_page_accessibility_and_best_practices_are_100(stack, tmp_path):
    from scripts.lighthouse import chromium_over_cdp, run_once

    out = stack.manage("demo_order", "--rider", "rider1").stdout
    m = re.search(r"Customer tracking: \S+?(/t/\S+)", out)
    assert m, out
    with chromium_over_cdp() as port:
        scores = run_once(port, stack.url + m.group(1), tmp_path / "tracking.json", [])
    print(f"\nLighthouse tracking page: {scores}")
    assert scores["accessibility"] == 1, scores
    assert scores["best-practices"] == 1, scores
