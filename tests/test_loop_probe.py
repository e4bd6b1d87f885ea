"""dispatch/live/probe.py names what held the event loop, and for how long."""

import asyncio
import json
import time

from dispatch.live import probe as loop_probe


def hold_the_loop_for(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:  # on a core, as a slow callback is
        pass


def test_a_stall_is_timed_and_named(tmp_path, monkeypatch):
    monkeypatch.setenv("LOOP_PROBE", str(tmp_path))

    async def main():
        probe = loop_probe.ensure_started()
        assert loop_probe.ensure_started() is probe  # one per loop
        await asyncio.sleep(0.05)
        hold_the_loop_for(0.06)
        await asyncio.sleep(0.05)
        return probe

    loop = asyncio.new_event_loop()
    try:
        probe = loop.run_until_complete(main())
        probe.flush()
    finally:
        loop.close()
    stalls = [json.loads(line) for line in probe.out.read_text().splitlines()]
    held = [s for s in stalls if s["ms"] >= 50]
    assert len(held) == 1, stalls
    assert held[0]["ms"] < 200
    assert held[0]["run_ms"] >= 40  # on a core, not waiting for one
    assert held[0]["stacks"][0][0].startswith("test_loop_probe.py:hold_the_loop_for < test_loop_probe.py:main")


def test_off_unless_asked(monkeypatch):
    monkeypatch.delenv("LOOP_PROBE", raising=False)

    async def main():
        return loop_probe.ensure_started(), len(asyncio.get_running_loop()._scheduled)

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(main()) == (None, 0)
    finally:
        loop.close()
