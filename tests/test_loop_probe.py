"""dispatch/live/probe.py names what held the event loop, and for how long."""

import asyncio
import json
import time

from dispatch.live import probe as loop_probe


def hold_the_loop_until_seen(probe) -> None:
    """Hold the loop's thread on a core, as a slow callback does, until the probe's watcher has sampled it
    holding (however long that takes on a busy machine; a guard gives up after a minute)."""
    give_up = time.monotonic() + 60
    while time.monotonic() < give_up:
        if "hold_the_loop_until_seen" in " ".join(list(probe.stacks)):
            return


def test_a_stall_is_recorded_and_named(tmp_path, monkeypatch):
    """What is measurable without timing luck: the stall is recorded, named by the function that held the loop,
    with its on-core and waiting times present and not negative. No bound on any time: a busy machine stretches
    them all."""
    monkeypatch.setenv("LOOP_PROBE", str(tmp_path))
    monkeypatch.setenv("LOOP_PROBE_STALL_MS", "0")  # every late tick is written: the test picks the held one by name

    async def main():
        probe = loop_probe.ensure_started()
        assert loop_probe.ensure_started() is probe  # one per loop
        await asyncio.sleep(0.05)
        hold_the_loop_until_seen(probe)
        await asyncio.sleep(0.05)
        return probe

    loop = asyncio.new_event_loop()
    try:
        probe = loop.run_until_complete(main())
        probe.flush()
    finally:
        loop.close()
    stalls = [json.loads(line) for line in probe.out.read_text().splitlines()]
    held = [s for s in stalls if any("hold_the_loop_until_seen" in where for where, _ in s["stacks"])]
    assert len(held) == 1, stalls
    stall = held[0]
    named = [(where, samples) for where, samples in stall["stacks"]
             if where.startswith("test_loop_probe.py:hold_the_loop_until_seen < test_loop_probe.py:main")]
    assert named and all(samples >= 1 for _, samples in named), stall["stacks"]
    assert set(stall) >= {"t", "ms", "run_ms", "wait_ms", "gc_ms", "stacks", "busy"}
    for field in ("ms", "run_ms", "wait_ms"):
        assert isinstance(stall[field], float | int) and stall[field] >= 0, (field, stall)
    assert isinstance(stall["gc_ms"], list) and isinstance(stall["busy"], list)


def test_off_unless_asked(monkeypatch):
    monkeypatch.delenv("LOOP_PROBE", raising=False)

    async def main():
        return loop_probe.ensure_started(), len(asyncio.get_running_loop()._scheduled)

    loop = asyncio.new_event_loop()
    try:
        assert loop.run_until_complete(main()) == (None, 0)
    finally:
        loop.close()
