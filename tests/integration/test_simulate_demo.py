"""`manage.py simulate --demo` against a running server (one daphne, embedded profile): the dispatcher's
map comes alive with moving sim riders within 30 s, while the demo rider1 stays free for a person."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.harness import BIN, ROOT, LiveStack
from tests.integration.conftest import Socket


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    with LiveStack(tmp_path_factory.mktemp("simdemo")) as s:
        yield s


def test_demo_riders_move_on_the_dispatch_map_within_30s(stack):
    """Plays the dispatcher watching the board during the demo: sim riders' positions arrive and move."""
    board = stack.login("dispatcher1")
    riders_before = {r["id"] for r in board.get("/api/dispatch/riders/").json()}
    sim = subprocess.Popen([str(BIN / "python"), "manage.py", "simulate", "--demo", "--riders", "2", "--every", "1",
                            "--url", stack.url], cwd=ROOT, env=stack.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    positions: dict[int, set[tuple[float, float]]] = {}
    try:
        ws = Socket(stack.url, "/ws/dispatch/", board)
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and sum(len(p) >= 3 for p in positions.values()) < 2:
                frame = ws._recv(deadline - time.monotonic())
                # One position a frame, or (the default) a batch a second of every rider that moved.
                items = [frame] if frame and frame.get("type") == "rider.position" else \
                    frame.get("riders", []) if frame and frame.get("type") == "rider.positions" else []
                for item in items:
                    positions.setdefault(item["rider"], set()).add((item["lat"], item["lng"]))
        finally:
            ws.close()
    finally:
        sim.terminate()
        out = sim.communicate(timeout=20)[0]
    moving = [r for r, p in positions.items() if len(p) >= 3]
    assert len(moving) == 2, f"positions seen: { {r: len(p) for r, p in positions.items()} }\n{out}"
    assert not set(moving) & riders_before  # dedicated sim accounts, not rider1-3
    rider1 = stack.token_client("rider1").get("/api/rider/orders/")
    assert rider1.status_code == 200 and rider1.json() == []
    assert "sim-demo-rider" in out  # the command says which accounts it drives
