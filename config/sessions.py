"""Sessions in the database, read through the cache when the cache answers.

Django's cached_db absorbs a failing cache read, but not the cache write that follows it on a miss,
nor `exists` or `delete` (login cycles the key): with Redis down every logged-in request failed.
Here any cache error is a miss or a skipped write (logged, rate-limited); the database row stays the
only source of truth. SESSION_ENGINE = "config.sessions".

A delete that fails (logout while Redis is unreachable but may still hold the session) is remembered by
the process: the key reads as a miss here from then on, and the delete is retried on the next cache
use until it succeeds, so a Redis that comes back does not bring a logged-out session back with it.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.sessions.backends import cached_db
from django.utils import timezone

from .cache import OutageLog

log = logging.getLogger(__name__)


class OptionalCache:
    """The session cache, with every error absorbed (a miss for reads, nothing for writes)."""

    outage_log = OutageLog(log, "session cache")
    _undeleted: set[str] = set()  # this process's session keys whose cache delete has not succeeded yet
    _lock = threading.Lock()

    def __init__(self, cache: Any) -> None:
        self._cache = cache
        self._strict_delete = getattr(cache, "strict_delete", cache.delete)

    def _retry_deletes(self) -> None:
        with self._lock:
            keys = list(self._undeleted)
        for key in keys:
            try:
                self._strict_delete(key)
            except Exception:
                return
            with self._lock:
                self._undeleted.discard(key)

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
        if self._undeleted:
            self._retry_deletes()
            if key in self._undeleted:
                return None
        return self._call("get", None, self._cache.get, key)

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """The keys the cache holds (none when it is away); a key whose delete has not succeeded is a miss."""
        if self._undeleted:
            self._retry_deletes()
        found = self._call("get_many", {}, self._cache.get_many, keys)
        return {k: v for k, v in found.items() if k not in self._undeleted}

    def set(self, key: str, value: Any, timeout: Any) -> None:
        self._call("set", None, self._cache.set, key, value, timeout)

    def delete(self, key: str) -> None:
        try:
            self._strict_delete(key)
        except Exception as exc:
            self.outage_log("delete", exc)
            with self._lock:
                self._undeleted.add(key)

    def __contains__(self, key: str) -> bool:
        if key in self._undeleted:
            return False
        return self._call("has_key", False, self._cache.has_key, key)

    async def aget(self, key: str) -> Any:
        if self._undeleted:
            return await sync_to_async(self.get)(key)
        return await self._acall("get", None, self._cache.aget, key)

    async def aset(self, key: str, value: Any, timeout: Any) -> None:  # noqa: ASYNC109 - the cache API's expiry
        await self._acall("set", None, self._cache.aset, key, value, timeout)

    async def adelete(self, key: str) -> None:
        await sync_to_async(self.delete)(key)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = OptionalCache(self._cache)

    @classmethod
    def load_many(cls, keys: list[str]) -> dict[str, SessionStore]:
        """The live sessions among `keys`, loaded: one cache round trip for all, one query for the cache's
        misses (what `load` does per key, in bulk; a miss is not written back to the cache). A key that is
        absent, expired or deleted is left out."""
        stores = {key: cls(session_key=key) for key in dict.fromkeys(keys) if key}
        if not stores:
            return {}
        by_cache_key = {store.cache_key: key for key, store in stores.items()}
        found: dict[str, dict] = {}
        for cache_key, data in next(iter(stores.values()))._cache.get_many(list(by_cache_key)).items():
            if data is not None:
                found[by_cache_key[cache_key]] = data
        missing = [key for key in stores if key not in found]
        if missing:
            rows = cls.get_model_class().objects.filter(session_key__in=missing, expire_date__gt=timezone.now())
            for row in rows:
                found[row.session_key] = stores[row.session_key].decode(row.session_data)
        loaded = {}
        for key, data in found.items():
            store = stores[key]
            store._session_cache = data
            loaded[key] = store
        return loaded
