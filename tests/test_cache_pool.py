"""The Redis cache shares one connection pool per process and URL (config.cache), so an ASGI server
does not open a connection per request. Pools are built lazily: no Redis server is needed here."""

from __future__ import annotations

from django.core.cache.backends.redis import RedisCache

from config.cache import SharedConnectionPool

OPTIONS = {"OPTIONS": {"pool_class": "config.cache.SharedConnectionPool"}}


def pool_of(location: str):
    return RedisCache(location, OPTIONS)._cache._get_connection_pool(write=True)


def test_every_cache_object_of_a_process_gets_the_same_pool():
    first, second = pool_of("redis://127.0.0.1:6390/3"), pool_of("redis://127.0.0.1:6390/3")
    assert first is second and isinstance(first, SharedConnectionPool)


def test_another_server_or_database_gets_its_own_pool():
    assert pool_of("redis://127.0.0.1:6390/3") is not pool_of("redis://127.0.0.1:6390/4")
    assert pool_of("redis://127.0.0.1:6390/3") is not pool_of("redis://127.0.0.1:6391/3")


def test_without_the_shared_pool_each_cache_object_builds_its_own():
    """The control: Django's default pool class, which is what made every ASGI request reconnect."""
    plain = [RedisCache("redis://127.0.0.1:6390/3", {})._cache._get_connection_pool(write=True) for _ in range(2)]
    assert plain[0] is not plain[1]
