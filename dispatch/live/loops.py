"""Per-event-loop state for the socket path's background work: the access sweep, the ephemeral batch, the
context loader and the map batch's task.

A server process runs one event loop; the test suite and `async_to_sync` make many, one after another. Each
such piece of state belongs to the loop that made it (its tasks and futures cannot cross loops), so it is
looked up by the running loop. What belongs to a loop that no longer runs is dropped when the next loop's is
made; a task already started keeps its own object alive until it ends."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    """One `T` per running event loop, made by `factory(loop)` on first use in that loop."""

    def __init__(self, factory: Callable[[asyncio.AbstractEventLoop], T]) -> None:
        self._factory = factory
        self._items: dict[int, tuple[asyncio.AbstractEventLoop, T]] = {}

    def get(self) -> T:
        """The running loop's object (call from a coroutine or a callback of that loop)."""
        loop = asyncio.get_running_loop()
        entry = self._items.get(id(loop))
        if entry is None or entry[0] is not loop:  # new, or an id reused by a new loop
            self._items = {key: item for key, item in self._items.items() if item[0].is_running()}
            entry = self._items[id(loop)] = (loop, self._factory(loop))
        return entry[1]

    def __len__(self) -> int:
        return len(self._items)


def task_running(task: asyncio.Task | None) -> bool:
    """Whether `task` is alive on a loop that runs: not one left pending on a loop that stopped without closing
    (an `async_to_sync` call's, a test's), where the work it was started for would wait forever."""
    return task is not None and not task.done() and task.get_loop().is_running()
