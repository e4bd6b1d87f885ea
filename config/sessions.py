"""Sessions in the database, read through the cache when the cache answers.

Django's cached_db absorbs a failing cache read, but not the cache write that follows it on a miss,
nor `exists` or `delete` (login cycles the key): with Redis down every logged-in request failed.
Here any cache error is a miss or a skipped write (logged, rate-limited); the database row stays the
only source of truth. SESSION_ENGINE = "config.sessions".
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends import cached_db

from .cache import OutageLog

log = logging.getLogger(__name__)


class OptionalCache:
    """The session cache, with every error absorbed (a miss for reads, nothing for writes)."""

    outage_log = OutageLog(log, "session cache")

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def __str__(self) -> str:
        return str(self._cache)

    def _call(self, operation: str, default: Any, call, *args: Any) -> Any:
        try:
            return call(*args)
        except Exception as exc:
            self.outage_log(operation, exc)
            return default

    async def _acall(self, operation: str, default: Any, call, *args: Any) -> Any:
        try:
            return await call(*args)
        except Exception as exc:
            self.outage_log(operation, exc)
            return default

    def get(self, key: str) -> Any:
        return self._call("get", None, self._cache.get, key)

    def set(self, key: str, value: Any, timeout: Any) -> None:
        self._call("set", None, self._cache.set, key, value, timeout)

    def delete(self, key: str) -> None:
        self._call("delete", None, self._cache.delete, key)

    def __contains__(self, key: str) -> bool:
        return self._call("has_key", False, self._cache.has_key, key)

    async def aget(self, key: str) -> Any:
        return await self._acall("get", None, self._cache.aget, key)

    async def aset(self, key: str, value: Any, timeout: Any) -> None:  # noqa: ASYNC109 - the cache API's expiry
        await self._acall("set", None, self._cache.aset, key, value, timeout)

    async def adelete(self, key: str) -> None:
        await self._acall("delete", None, self._cache.adelete, key)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = OptionalCache(self._cache)
