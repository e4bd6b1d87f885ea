"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per async context, and under ASGI every request runs in a context of its
own: each request would build a new RedisCache, a new pool and a new TCP connection (with its
HELLO and health check). The pool class below hands every RedisCache of the process the same pool
for the same URL and options; redis-py's pools are thread-safe and reset themselves after a fork.

ResilientRedisCache turns an unreachable Redis into cache misses (logged, rate-limited): the cache is
an accelerator here, never the only copy of anything a request needs."""

from __future__ import annotations

import logging
import os
import threading
import time

import redis
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple, redis.ConnectionPool] = {}
    _shared_lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs):
        key = (url, os.getpid(), tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with cls._shared_lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
            return pool


log = logging.getLogger(__name__)
OUTAGE = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class OutageLog:
    """Logs a failing dependency at WARNING at most once every `every_s` seconds per process, with how
    many failures were absorbed since the last line."""

    def __init__(self, logger: logging.Logger, what: str, every_s: float = 10.0) -> None:
        self.logger, self.what, self.every_s = logger, what, every_s
        self._last = float("-inf")
        self._absorbed = 0
        self._lock = threading.Lock()

    def __call__(self, operation: str, exc: BaseException | None) -> None:
        now = time.monotonic()
        with self._lock:
            self._absorbed += 1
            if now - self._last < self.every_s:
                return
            absorbed, self._absorbed, self._last = self._absorbed, 0, now
        self.logger.warning("%s unavailable (%s: %s); %s call(s) degraded since the last warning",
                            self.what, operation, "skipped after a recent failure" if exc is None
                            else f"{type(exc).__name__}: {exc}", absorbed)


class ResilientRedisCache(RedisCache):
    """Django's RedisCache, except that a Redis that cannot be reached is a cache miss, not an error.

    Contract while Redis is unreachable: reads return the default (`get_many` an empty dict, `has_key`
    False), `add` returns False, writes and deletes do nothing and return False, `incr` returns `delta`
    (a counter starts again). Each such call counts towards a rate-limited WARNING. Other Redis errors
    (a wrong command, a full memory) still raise."""

    outage_log = OutageLog(log, "cache (Redis)")
    # After a failure, calls skip Redis for this long (per process and location): a Redis that drops
    # packets would otherwise cost every cache call its connect timeout.
    skip_after_failure_s = 1.0
    _down_until: dict[str, float] = {}

    def _absorb(self, operation: str, default, call, *args, **kwargs):
        if time.monotonic() < self._down_until.get(self._location, 0.0):
            self.outage_log(operation, None)
            return default
        try:
            return call(*args, **kwargs)
        except OUTAGE as exc:
            self._down_until[self._location] = time.monotonic() + self.skip_after_failure_s
            self.outage_log(operation, exc)
            return default

    def __init__(self, server, params):
        super().__init__(server, params)
        self._location = ",".join(self._servers)  # type: ignore[attr-defined]  # set by RedisCache.__init__

    def validate_key(self, key):
        """Nothing to check: Redis takes any key. Django's default warns about keys that memcached would refuse,
        testing each character in Python: about 7 µs a key on this machine, so 35 of the 42 ms that the context
        version check (dispatch/services/delivery.py) took for 5,000 riders, holding the GIL in its thread
        while the event loop waited (scale profile, 2026-12)."""

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._absorb("add", False, super().add, key, value, timeout, version)

    def get(self, key, default=None, version=None):
        return self._absorb("get", default, super().get, key, default, version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._absorb("set", None, super().set, key, value, timeout, version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._absorb("touch", False, super().touch, key, timeout, version)

    def delete(self, key, version=None):
        return self._absorb("delete", False, super().delete, key, version)

    def strict_delete(self, key, version=None):
        """`delete` that raises when Redis is unreachable, for callers that must know (config.sessions)."""
        return super().delete(key, version)

    def get_many(self, keys, version=None):
        return self._absorb("get_many", {}, super().get_many, keys, version)

    def has_key(self, key, version=None):
        return self._absorb("has_key", False, super().has_key, key, version)

    def incr(self, key, delta=1, version=None):
        return self._absorb("incr", delta, super().incr, key, delta, version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._absorb("set_many", list(data), super().set_many, data, timeout, version)

    def delete_many(self, keys, version=None):
        return self._absorb("delete_many", None, super().delete_many, keys, version)

    def clear(self):
        return self._absorb("clear", False, super().clear)
