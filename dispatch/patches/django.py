"""Model instances loaded for one check, released by reference counting instead of the cycle collector. Reads
Django's private `Model._state.fields_cache` and `_prefetched_objects_cache`, written against Django 5.2.20;
tests/test_patches.py fails when the installed version changes: re-check those two names.

Django caches a one-to-one relation on both sides (`user.rider.user is user`), and a `select_related` across a
reverse one-to-one (an order with its sealed record) does the same, so such instances form reference cycles
and outlive their use until a collection finds them. Under load that is most of what the young generation
collects: on the scale profile at 2,500 pings/s, the socket re-check's accounts and the context loads' orders
made every young collection free 15,000-29,000 objects, and each held the event loop for 20-68 ms (scale
profile, 2026-12, tests/test_cyclic_garbage.py). `release` empties the relation caches of instances nobody will read again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

WRITTEN_FOR = {"Django": "5.2.20"}


def release(instances: Iterable[Any]) -> None:
    """Empty the related-object caches of these model instances and of every instance reached through them.
    Only for instances the caller owns and drops: a later read of a relation would query it again."""
    stack = [i for i in instances if i is not None]
    seen: set[int] = set()
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        state = getattr(obj, "_state", None)
        cache = getattr(state, "__dict__", {}).get("fields_cache")
        if cache:
            stack.extend(v for v in cache.values() if v is not None)
            cache.clear()
        prefetched = getattr(obj, "__dict__", {}).pop("_prefetched_objects_cache", None)
        if prefetched:
            for queryset in prefetched.values():
                stack.extend(getattr(queryset, "_result_cache", None) or ())
