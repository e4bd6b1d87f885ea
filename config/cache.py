"""One Redis connection pool per process for Django's cache.

Django keeps a cache object per async context, and under ASGI every request runs in a context of its
own: each request would build a new RedisCache, a new pool and a new TCP connection (with its
HELLO and health check). The pool class below hands every RedisCache of the process the same pool
for the same URL and options; redis-py's pools are thread-safe and reset themselves after a fork."""

from __future__ import annotations

import os
import threading

import redis


class SharedConnectionPool(redis.ConnectionPool):
    _shared: dict[tuple, redis.ConnectionPool] = {}
    _lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, **kwargs):
        key = (url, os.getpid(), tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
        with cls._lock:
            pool = cls._shared.get(key)
            if pool is None:
                pool = cls._shared[key] = super().from_url(url, **kwargs)
            return pool
