"""The sockets' bulk access re-check: one sweep per process and second re-checks the sockets falling due, in
bulk (one cache round trip for their sessions, one query for their accounts per role), so the cost does not
grow with a query per socket (dispatch/live/sockets.py says when a socket is checked)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from importlib import import_module
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth

from ..auth import users_prefetched
from .loops import PerLoop, task_running

log = logging.getLogger("dispatch.live.sockets")  # one log for the socket path's access checks
EventConsumer = Any  # a dispatch.live.sockets.EventConsumer (which imports this module)
SWEEP_EVERY_S = 1.0  # the bulk re-check's period: it takes the sockets due within the next SWEEP_AHEAD_S
SWEEP_AHEAD_S = 1.5 * SWEEP_EVERY_S
SWEPT_FROM_S = 2.0  # a SOCKET_RECHECK_S below this is checked by each socket itself, per frame
_LOAD = object()  # `_verify`: read the session now (the per-socket path)


class _Sweeper:
    """One loop's sweep: every SWEEP_EVERY_S, the loop's sockets falling due are re-checked together. It ends
    with the loop's last socket, and starts again with the next.

    Sockets wait in slots by the second their verdict runs out (`trusted_until`), so a sweep reads only the
    slots falling due, not every open socket: with 5,000 sockets a process, scanning them all each second held
    the loop for 11-28 ms (scale profile, 2026-12, dispatch/live/probe.py). A socket whose verdict was renewed meanwhile
    (by its own check) is put back in its new slot when its old one comes round; an ended one is let go."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task | None = None
        self.slots: dict[int, list[weakref.ref]] = {}

    def add(self, sock: EventConsumer) -> None:
        self._put(sock)
        if not task_running(self.task):
            self.task = self.loop.create_task(self._run())

    def _put(self, sock: EventConsumer) -> None:
        self.slots.setdefault(int(sock.trusted_until // SWEEP_EVERY_S), []).append(weakref.ref(sock))

    def due(self, now: float) -> list[EventConsumer]:
        """The sockets of every slot that ends within SWEEP_AHEAD_S, taken out of their slots."""
        upto = int((now + SWEEP_AHEAD_S) // SWEEP_EVERY_S)
        picked = []
        for slot in [slot for slot in self.slots if slot <= upto]:
            for ref in self.slots.pop(slot):
                sock = ref()
                if sock is not None and not sock.ended:
                    picked.append(sock)
        return picked

    async def _run(self) -> None:
        while self.slots:
            await asyncio.sleep(SWEEP_EVERY_S)
            picked = self.due(time.monotonic())
            try:
                await access_sweep(picked)
            except Exception:  # each socket falls back to its own check before its next frame
                log.warning("socket access sweep failed", exc_info=True)
            for sock in picked:  # checked, renewed by its own check, or not checked: due again at its verdict's end
                if not sock.ended:
                    self._put(sock)


_sweepers = PerLoop(_Sweeper)


async def access_sweep(sockets: list[EventConsumer]) -> int:
    """Re-check, in one database thread call, the sockets whose verdict runs out within SWEEP_AHEAD_S; end
    those whose access ended. Returns how many were checked."""
    now = time.monotonic()
    due = [s for s in sockets if not s.ended and s.recheck_s >= SWEPT_FROM_S and s.trusted_until - now <= SWEEP_AHEAD_S]
    if not due:
        return 0
    ends_before = [s.access_ends_at for s in due]
    verdicts = await database_sync_to_async(verify_many)(due)
    for sock, ok, ends_at in zip(due, verdicts, ends_before, strict=True):
        if sock._swept(ok, ends_at):
            await sock.end()
    return len(due)


def verify_many(sockets: list[EventConsumer]) -> list[bool | None]:
    """`_verify` for many sockets: their sessions in one cache round trip (and one query for the cache's
    misses), their accounts in one query per set of role rows. None where a socket's check failed."""
    engine = import_module(settings.SESSION_ENGINE).SessionStore
    keyed = {s: s._session_key() for s in sockets if s.uses_session and s.scope.get("session") is not None}
    stores = engine.load_many([k for k in keyed.values() if k]) if hasattr(engine, "load_many") else None
    groups: dict[tuple[str, ...], list[EventConsumer]] = {}
    for sock in sockets:
        groups.setdefault(sock.role_relations, []).append(sock)
    verdicts: dict[EventConsumer, bool | None] = {}
    for relations, members in groups.items():
        ids = set()
        for sock in members:
            store = stores.get(keyed.get(sock) or "") if stores is not None else None
            if store is not None:
                with contextlib.suppress(Exception):
                    ids.add(auth.get_user_model()._meta.pk.to_python(store[auth.SESSION_KEY]))
        with users_prefetched(ids, relations):
            for sock in members:
                arg = _LOAD if stores is None or sock not in keyed else stores.get(keyed[sock] or "")
                try:
                    verdicts[sock] = sock._verify(arg)
                except Exception:
                    log.warning("socket access check failed", exc_info=True)
                    verdicts[sock] = None
    return [verdicts[s] for s in sockets]
