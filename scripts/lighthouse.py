"""Lighthouse scores for the five screens (rider list, rider order, tracking, store console, dispatch board).

`make lighthouse` runs npm's `lighthouse` (pinned in scripts/lighthouse-npm/package-lock.json, installed by `npm ci`
into the git-ignored var/node: no global install, no CDN) over CDP against Debian's Chromium, logged in as each
screen's role, and prints the median of 3 runs per screen: performance, accessibility, best practices and CLS.

    make lighthouse                          # a fresh LiveStack (the one the browser tests use)
    URL=http://127.0.0.1:8000 make lighthouse  # a running `make run` (orders made with manage.py demo_order)
    LH_ARGS="--preset=desktop" RUNS=1 SCREENS="dispatch board" make lighthouse
    make lighthouse-board                    # the board alone, busy: BOARD_SCENE=100,50 (open orders, riders)

The full JSON reports go to var/lighthouse/.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.harness import CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD, LiveStack, free_port  # noqa: E402

PINNED = ROOT / "scripts" / "lighthouse-npm"
NODE_DIR = ROOT / "var" / "node"
LIGHTHOUSE = NODE_DIR / "node_modules" / ".bin" / "lighthouse"
REPORTS = ROOT / "var" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices")


class NodeMissing(RuntimeError):
    pass


def node_available() -> bool:
    return shutil.which("node") is not None and shutil.which("npm") is not None


def ensure_lighthouse() -> Path:
    """npm ci the pinned lighthouse into var/node (again only when the lockfile changed)."""
    if not node_available():
        raise NodeMissing("node and npm are not installed (Debian: apt-get install nodejs npm)")
    lock = (PINNED / "package-lock.json").read_text()
    installed = NODE_DIR / "package-lock.json"
    if LIGHTHOUSE.exists() and installed.exists() and installed.read_text() == lock:
        return LIGHTHOUSE
    NODE_DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(PINNED / name, NODE_DIR / name)
    subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],  # noqa: S607
                   cwd=NODE_DIR, check=True)
    return LIGHTHOUSE


@contextlib.contextmanager
def chromium_over_cdp() -> Iterator[int]:
    """Debian's Chromium, headless, with a remote-debugging port; yields the port."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="lh-profile-") as profile:
        proc = subprocess.Popen(  # noqa: S603 - our own binary and flags
            [CHROMIUM, "--headless=new", f"--remote-debugging-port={port}", f"--user-data-dir={profile}",
             *CHROMIUM_ARGS, "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/json/version", timeout=1).raise_for_status()
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise RuntimeError("chromium did not open its debugging port") from None
                    time.sleep(0.2)
            yield port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def log_in(cdp_port: int, base: str, username: str | None) -> None:
    """Log the browser's default context in as `username` (or out, for None): Lighthouse's tab shares its cookies."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.connect_over_cdp(f"http://127.0.0.1:{cdp_port}")
        context = browser.contexts[0]
        context.clear_cookies()
        if username:
            page = context.new_page()
            page.goto(f"{base}/accounts/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", DEMO_PASSWORD)
            with page.expect_navigation():
                page.click("button[type=submit]")
            if "/accounts/login/" in page.url:
                raise RuntimeError(f"login failed for {username}")
            page.close()


def run_once(cdp_port: int, url: str, out: Path, extra: list[str]) -> dict:
    cmd = [str(ensure_lighthouse()), url, f"--port={cdp_port}", "--output=json", f"--output-path={out}",
           "--quiet", f"--only-categories={','.join(CATEGORIES)}", *extra]
    for attempt in (1, 2):  # Lighthouse now and then loses the trace (NO_NAVSTART): once more, then give up
        done = subprocess.run(cmd, check=attempt == 2, cwd=ROOT, timeout=300)  # noqa: S603 - the pinned binary
        if done.returncode == 0:
            break
    report = json.loads(out.read_text())
    scores = {c: report["categories"][c]["score"] for c in CATEGORIES}
    scores["cls"] = report["audits"]["cumulative-layout-shift"]["numericValue"]
    scores["errors"] = [i.get("description", "") for i in
                        report["audits"].get("errors-in-console", {}).get("details", {}).get("items", [])]
    return scores


def measure(cdp_port: int, base: str, username: str | None, path: str, name: str, runs: int,
            extra: list[str]) -> dict:
    REPORTS.mkdir(parents=True, exist_ok=True)
    results = []
    for i in range(runs):
        log_in(cdp_port, base, username)  # again each run: Lighthouse may end the page's session state
        results.append(run_once(cdp_port, base + path, REPORTS / f"{name}-{i + 1}.json", extra))
    median = {k: statistics.median(r[k] for r in results) for k in (*CATEGORIES, "cls")}
    median["errors"] = sorted({e for r in results for e in r["errors"]})
    return median


def demo_order(manage, rider: str) -> tuple[int, str]:
    out = manage("demo_order", "--rider", rider)
    m = re.search(r"Order (\d+), pickup number \S+\. Customer tracking: \S+?(/t/\S+)", out)
    if not m:
        raise RuntimeError(out)
    return int(m.group(1)), m.group(2)


def screens(manage) -> list[tuple[str, str | None, str]]:
    """(name, username, path) per screen, after making the orders they show."""
    _, tracking = demo_order(manage, "rider1")  # rider1 has one order: the app opens it by itself
    demo_order(manage, "rider2")
    demo_order(manage, "rider2")  # rider2 has two: the list
    scene = os.environ.get("BOARD_SCENE", "")
    if scene:  # "orders,riders": a busy board (manage.py board_scene)
        orders, riders = (int(n) for n in scene.split(","))
        print(manage("board_scene", "--orders", str(orders), "--riders", str(riders)).strip(), flush=True)
    return [("rider list", "rider2", "/rider/"), ("rider order", "rider1", "/rider/"),
            ("tracking", None, tracking), ("store console", "store1", "/pickup/"),
            ("dispatch board", "dispatcher1", "/dispatch/")]


def table(rows: list[tuple[str, dict]]) -> str:
    lines = ["| screen | performance | accessibility | best practices | CLS |", "| --- | --- | --- | --- | --- |"]
    for name, s in rows:
        lines.append(f"| {name} | {round(s['performance'] * 100)} | {round(s['accessibility'] * 100)} "
                     f"| {round(s['best-practices'] * 100)} | {s['cls']:.3f} |")
    return "\n".join(lines)


def main() -> int:
    try:
        ensure_lighthouse()
    except NodeMissing as exc:
        print(f"lighthouse: {exc}", file=sys.stderr)
        return 2
    runs = int(os.environ.get("RUNS", "3"))
    extra = shlex.split(os.environ.get("LH_ARGS", ""))
    base = os.environ.get("URL", "").rstrip("/")
    with contextlib.ExitStack() as stack:
        if base:
            def manage(*args: str) -> str:
                return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, check=True,  # noqa: S603
                                      capture_output=True, text=True).stdout
        else:
            live = stack.enter_context(LiveStack(Path(stack.enter_context(tempfile.TemporaryDirectory())),
                                                 workers=True, beat=True))
            base = live.url

            def manage(*args: str) -> str:
                return live.manage(*args).stdout
        only = [n.strip() for n in os.environ.get("SCREENS", "").split(",") if n.strip()]
        todo = [t for t in screens(manage) if not only or t[0] in only]
        cdp_port = stack.enter_context(chromium_over_cdp())
        rows = []
        for name, username, path in todo:
            scores = measure(cdp_port, base, username, path, name.replace(" ", "-"), runs, extra)
            print(f"{name}: perf {scores['performance']:.2f} a11y {scores['accessibility']:.2f} "
                  f"bp {scores['best-practices']:.2f} cls {scores['cls']:.3f}"
                  + (f" console errors: {scores['errors']}" if scores["errors"] else ""), flush=True)
            rows.append((name, scores))
    print(f"\nLighthouse {json.loads((PINNED / 'package.json').read_text())['dependencies']['lighthouse']}, "
          f"median of {runs} per screen (mobile emulation unless LH_ARGS says otherwise):\n")
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
