"""channels-redis's Redis layer, with the parts that copy or reach into its private internals: written against
channels-redis 4.3.0's `channels_redis/core.py` (`_group_key`, `consistent_hash`, `_map_channel_keys_to_connection`,
`receive_buffer`, `_layers`, `client_prefix`, its group-send Lua script and its channel names).
tests/test_patches.py fails when the installed version changes: re-check those names and `group_send` against the
new release. What the live path adds on top (the counts, the socket inboxes) is dispatch/live/layers.py."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.asyncio import BlockingConnectionPool

WRITTEN_FOR = {"channels-redis": "4.3.0"}
POOL_MAX_CONNECTIONS = 200  # per Redis host and event loop
POOL_WAIT_S = 5.0
CHANNEL_NAME_RANDOM_BYTES = 8  # per process and per channel: names stay unique (2^-64 a pair), and short


class RedisLayerPatches(RedisChannelLayer):
    """channels-redis 4.x's group_send, with the Lua script's over-capacity count kept and handed to `dropped`
    (upstream only logs it at INFO), `group_send_many` for the ephemeral frames' batches, and a blocking
    connection pool. Its per-channel receive buffers are what `receive_buffers` makes."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.receive_buffer = self.receive_buffers()
        self.client_prefix = secrets.token_hex(CHANNEL_NAME_RANDOM_BYTES)

    def receive_buffers(self) -> Any:
        """The mapping of channel name -> receive buffer (upstream: a defaultdict of bounded queues)."""
        return self.receive_buffer

    def dropped(self, group: str, count: int) -> None:
        """Messages to `group`'s members that did not fit (a full channel)."""

    async def loop_connections_drop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Forget the loop's connections (their server failed): the next reader starts on new ones instead of
        taking a stale pooled one."""
        loop_layer = self._layers.pop(loop, None)
        if loop_layer is not None:
            with contextlib.suppress(Exception):
                await loop_layer.flush()

    async def new_channel(self, prefix="specific"):
        """channels-redis's name, `{prefix}.{process}!{channel}`, on 64 random bits each instead of 128: every
        socket's channel is a member of its groups' sorted sets, and a member longer than Redis's
        `zset-max-listpack-value` (64 bytes by default) turns its set from a listpack of about 130 bytes into a
        skiplist of about 1,000. Upstream's names are 74 bytes; these are 42."""
        return f"{prefix}.{self.client_prefix}!{secrets.token_hex(CHANNEL_NAME_RANDOM_BYTES)}"

    def create_pool(self, index):
        """A pool that makes a burst wait for a free connection (up to POOL_WAIT_S) instead of failing: redis-py
        8's pool holds 100 connections and raises MaxConnectionsError past them, which a connect storm of
        thousands of sockets (two group_adds each) reached, and the layer's error closed every socket of the
        process. A host's own `max_connections` and `timeout` win."""
        host = dict(self.hosts[index])
        if "address" not in host:
            return super().create_pool(index)
        host.setdefault("max_connections", POOL_MAX_CONNECTIONS)
        host.setdefault("timeout", POOL_WAIT_S)
        return BlockingConnectionPool.from_url(host.pop("address"), **host)

    async def group_send(self, group, message):
        assert self.require_valid_group_name(group), "Group name not valid"
        key = self._group_key(group)
        connection = self.connection(self.consistent_hash(group))
        await connection.zremrangebyscore(key, min=0, max=int(time.time()) - self.group_expiry)
        channel_names = [x.decode("utf8") for x in await connection.zrange(key, 0, -1)]
        await self._deliver(group, channel_names, message)

    async def group_send_many(self, items: list[tuple[str, dict]]) -> None:
        """`group_send` for many (group, message) pairs: the groups' members are read in one pipelined round
        trip (one script) per Redis host (upstream: two round trips per group, even for a group nobody is in), then each
        group with members is delivered to as `group_send` does."""
        by_host: dict[int, list[tuple[str, dict]]] = {}
        for group, message in items:
            assert self.require_valid_group_name(group), "Group name not valid"
            by_host.setdefault(self.consistent_hash(group), []).append((group, message))
        cutoff = int(time.time()) - self.group_expiry
        for index, batch in by_host.items():
            keys = [self._group_key(group) for group, _ in batch]
            reply = await self.connection(index).eval(_GROUPS_MEMBERS_LUA, len(keys), *keys, cutoff)
            for position, members in zip(reply[::2], reply[1::2], strict=True):
                group, message = batch[int(position) - 1]
                await self._deliver(group, [x.decode("utf8") for x in members], message)

    async def _deliver(self, group: str, channel_names: list[str], message: dict) -> None:
        if not channel_names:
            return
        to_keys, key_message, key_capacity = self._map_channel_keys_to_connection(channel_names, message)
        dropped = 0
        for index, keys in to_keys.items():
            connection = self.connection(index)
            pipe = connection.pipeline()
            for k in keys:
                pipe.zremrangebyscore(k, min=0, max=int(time.time()) - int(self.expiry))
            await pipe.execute()
            args = [key_message[k] for k in keys] + [key_capacity[k] for k in keys] + [time.time(), self.expiry]
            dropped += int(await connection.eval(_GROUP_SEND_LUA, len(keys), *keys, *args) or 0)
        self.dropped(group, dropped)


# Each group's expired members dropped, then (position, members) for the groups that have any: one command.
_GROUPS_MEMBERS_LUA = """
    local found = {}
    for i=1,#KEYS do
        redis.call('ZREMRANGEBYSCORE', KEYS[i], 0, ARGV[1])
        local members = redis.call('ZRANGE', KEYS[i], 0, -1)
        if #members > 0 then
            found[#found + 1] = i
            found[#found + 1] = members
        end
    end
    return found
"""

_GROUP_SEND_LUA = """
    local over_capacity = 0
    local current_time = ARGV[#ARGV - 1]
    local expiry = ARGV[#ARGV]
    for i=1,#KEYS do
        if redis.call('ZCOUNT', KEYS[i], '-inf', '+inf') < tonumber(ARGV[i + #KEYS]) then
            redis.call('ZADD', KEYS[i], current_time, ARGV[i])
            redis.call('EXPIRE', KEYS[i], expiry)
        else
            over_capacity = over_capacity + 1
        end
    end
    return over_capacity
"""
