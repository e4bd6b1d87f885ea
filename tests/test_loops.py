"""dispatch.live.loops: the socket path's per-loop state (the access sweep, the ephemeral batch, the context loader, the
map batch's task) is one object per running loop, and a task left on a loop that stopped does not count."""

from __future__ import annotations

import asyncio
import threading

from dispatch.live.loops import PerLoop, task_running


def _in_new_loop(coro_fn):
    loop = asyncio.new_event_loop()
    try:
        return loop, loop.run_until_complete(coro_fn())
    finally:
        loop.close()


def test_one_object_per_running_loop_made_on_first_use():
    made: list[asyncio.AbstractEventLoop] = []
    per_loop = PerLoop(lambda loop: made.append(loop) or object())

    async def twice():
        return per_loop.get(), per_loop.get()

    loop_a, (a1, a2) = _in_new_loop(twice)
    loop_b, (b1, b2) = _in_new_loop(twice)
    assert a1 is a2 and b1 is b2
    assert a1 is not b1
    assert made == [loop_a, loop_b]


def test_a_loop_that_no_longer_runs_loses_its_object_when_the_next_loop_s_is_made():
    per_loop = PerLoop(lambda loop: object())

    async def get():
        return per_loop.get()

    for _ in range(100):  # the suite and async_to_sync make many loops, one after another
        _in_new_loop(get)
    assert len(per_loop) == 1


def test_loops_running_at_once_in_two_threads_keep_their_own_objects():
    per_loop = PerLoop(lambda loop: loop)
    both_in = threading.Barrier(2)
    seen: dict[str, tuple] = {}

    def run(name: str) -> None:
        async def main():
            first = per_loop.get()
            await asyncio.get_running_loop().run_in_executor(None, both_in.wait)
            return first, per_loop.get(), asyncio.get_running_loop()

        seen[name] = asyncio.run(main())

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for first, again, loop in seen.values():
        assert first is loop and again is loop  # the other loop's get() did not drop this running loop's object
    assert seen["a"][2] is not seen["b"][2]


def test_a_task_left_pending_on_a_stopped_loop_is_not_running():
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(asyncio.sleep(3600))

        async def probe():
            return task_running(task), task_running(asyncio.current_task())

        pending_elsewhere, current = loop.run_until_complete(probe())
        assert pending_elsewhere is True and current is True
        assert not task.done()  # the loop stopped with the task pending
        assert task_running(task) is False
        assert task_running(None) is False
    finally:
        task.cancel()
        loop.run_until_complete(asyncio.sleep(0))
        loop.close()
