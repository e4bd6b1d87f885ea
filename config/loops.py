"""Per-event-loop state for the socket path's background work (a sweep, a batch, a queue of loads).

A server process runs one event loop; the test suite runs many, one after another. Each such piece of state
belongs to the loop that made it (its tasks and futures cannot cross loops), so it is looked up by the running
loop, and what belonged to a closed loop is dropped."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class PerLoop(Generic[T]):
    def __init__(self, factory: Callable[[asyncio.AbstractEventLoop], T]) -> None:
        self._factory = factory
        self._items: dict[int, tuple[asyncio.AbstractEventLoop, T]] = {}

    def get(self) -> T:
        """The running loop's object, made on first use."""
        loop = asyncio.get_running_loop()
        entry = self._items.get(id(loop))
        if entry is None or entry[0] is not loop:
            self._items = {key: item for key, item in self._items.items() if not item[0].is_closed()}
            entry = self._items[id(loop)] = (loop, self._factory(loop))
        return entry[1]


def task_running(task: asyncio.Task | None) -> bool:
    """Whether `task` is alive on a loop that is still open."""
    return task is not None and not task.done() and not task.get_loop().is_closed()
