"""When a socket's access is checked, and how (dispatch/live/sockets.py says why): the verdict held in memory and
renewed every SOCKET_RECHECK_S, the session's and the access's known ends compared on every frame, and the
check itself (the session read afresh, the account with its role rows)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib import auth

from ..auth import RoleBackend, role_relations, users_prefetching
from ..patches.django import release
from .sweep import _LOAD, SWEPT_FROM_S

log = logging.getLogger("dispatch.live.sockets")  # one log for the socket path's access checks
CLOSE_ACCESS_ENDED = 4403
CLOSE_CHECK_FAILED = 1011  # the access check itself failed (database or cache down): the client reconnects


class SocketAccess:
    """The access half of `EventConsumer`, which sets these attributes in `connect`."""

    scope: Any
    uses_session: bool
    role_relations: tuple[str, ...]
    session_expires_at: float | None
    access_ends_at: float | None
    ended: bool
    expiry_task: asyncio.Task | None
    recheck_s: float
    trusted_until: float

    async def end(self, code: int = CLOSE_ACCESS_ENDED) -> None:
        raise NotImplementedError

    def still_allowed(self, user) -> bool:
        raise NotImplementedError

    async def allowed(self, *, force: bool = False) -> bool:
        """Whether frames may flow now; closes the socket if not. Cheap unless the verdict is stale."""
        if self.ended:
            return False
        if self.access_ends_at is not None and time.time() >= self.access_ends_at:
            await self.end()
            return False
        if not force and time.monotonic() < self.trusted_until \
                and (self.session_expires_at is None or time.time() < self.session_expires_at):
            return True
        ends_at = self.access_ends_at
        try:
            ok = await database_sync_to_async(self._verify)()
        except Exception:
            log.warning("socket access check failed; closing", exc_info=True)
            await self.end(CLOSE_CHECK_FAILED)
            return False
        if not ok:
            await self.end()
            return False
        self.trusted_until = time.monotonic() + self.recheck_s
        if self.access_ends_at != ends_at:
            self._arm_expiry()
        return True

    def _verify(self, store: Any = _LOAD) -> bool:
        """`store`: the session as the bulk sweep loaded it (None: not among the live ones), or _LOAD to read it."""
        if not self.uses_session:
            return self.still_allowed(None)
        user = self._fresh_user(store)
        try:
            return user is not None and self.still_allowed(user)
        finally:
            if not users_prefetching():  # loaded for this check alone (the bulk block releases its own at its end)
                release([user])  # the account and its role rows cache each other: freed now, not by a collection

    def _session_key(self) -> str | None:
        session = self.scope.get("session")
        return session.session_key if session is not None else None

    def _fresh_user(self, store: Any = _LOAD):
        """The connection's account as its session shows it now, or None if the session ended (logout,
        flush, expiry, password change) or now belongs to someone else."""
        user = self.scope.get("user")
        if not getattr(user, "is_authenticated", False):
            return None
        if self.scope.get("session") is None:  # mounted without the session middleware (a benchmark)
            with role_relations(self.role_relations):
                return RoleBackend().get_user(user.pk)
        key = self._session_key()
        if not key:
            return None
        if store is _LOAD:
            store = import_module(settings.SESSION_ENGINE).SessionStore(session_key=key)
        elif store is None:  # the sweep found no live session under this key
            return None
        with role_relations(self.role_relations):
            fresh = auth.get_user(SimpleNamespace(session=store))  # type: ignore[arg-type]
        if not (fresh.is_authenticated and fresh.pk == user.pk):
            return None
        self.session_expires_at = store.get_expiry_date().timestamp()
        return fresh

    def _session_expiry(self) -> float | None:
        session = self.scope.get("session")
        return session.get_expiry_date().timestamp() if session is not None and session.session_key else None

    def _arm_expiry(self) -> None:
        if self.expiry_task is not None:
            self.expiry_task.cancel()
            self.expiry_task = None
        if self.access_ends_at is not None and not self.ended:
            self.expiry_task = asyncio.get_running_loop().create_task(self._expire(self.access_ends_at))

    async def _expire(self, at: float) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(max(0.0, at - time.time()))
            await self.end()

    def _first_recheck_s(self) -> float:
        """The first verdict's term. A swept socket's is drawn from half to all of `recheck_s`, so that sockets
        opened together (a reconnect storm, a fleet starting its shift) fall due over half a period, a share in
        each sweep, and stay spread (each renewal is a full period from its own sweep), instead of all in one
        sweep every period, whose checks of thousands of sessions at once held the event loop for a second
        (the scale bench, 10,000 sockets, 2026-12: its first step's ack p95 went from 636-1,020 ms to 41 ms). Sooner,
        never later, than a full period."""
        if self.recheck_s < SWEPT_FROM_S:
            return self.recheck_s
        return self.recheck_s * random.uniform(0.5, 1.0)  # noqa: S311 - a spread in time, no secret

    def _swept(self, ok: bool | None, ends_at: float | None) -> bool:
        """The bulk sweep's verdict (None: it could not check; the socket checks itself before its next
        frame). Returns whether the socket must be ended."""
        if ok is None or self.ended:
            return False
        if not ok:
            return True
        self.trusted_until = time.monotonic() + self.recheck_s
        if self.access_ends_at != ends_at:
            self._arm_expiry()
        return False
