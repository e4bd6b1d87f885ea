"""The live path's settings (dispatch/live): the channel layer, the sockets' access re-check, the server's garbage
collector, the location batch writer, the map's and the tracking pages' batched frames."""

from __future__ import annotations

from .base import REDIS_PREFIX, REDIS_URL, env

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "dispatch.live.layers.CountingRedisChannelLayer",  # counts drops on full channels
            # redis-py 8 reads with a 5 s socket timeout by default, the same as channels-redis's blocking
            # BZPOPMIN: an idle socket's receive then raises TimeoutError and the websocket drops
            # (django/channels_redis#422). Allow the blocking read, still detect a dead connection.
            "CONFIG": {"hosts": [{"address": REDIS_URL, "socket_timeout": 15}], "capacity": 1000, "expiry": 30,
                       "prefix": f"{REDIS_PREFIX}:asgi"},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "dispatch.live.memory_layer.CountingInMemoryChannelLayer",  # counts drops
                                  "CONFIG": {"capacity": 1000}}}

# Events that are written by a process without a shared channel layer (the Celery worker on the
# embedded profile) reach sockets through a relay that tails the event table in the web process.
EVENTS_RELAY = env.bool("EVENTS_RELAY", default=not REDIS_URL)
EVENTS_RELAY_INTERVAL_S = env.float("EVENTS_RELAY_INTERVAL_S", default=0.25)
# How long an open socket trusts its last access check (session, role, order grant) before re-checking.
SOCKET_RECHECK_S = env.float("SOCKET_RECHECK_S", default=30.0)
# The web server's garbage-collector thresholds (config/asgi.py; empty: Python's own, 700, 10, 10). With 10,000
# sockets on the scale profile, ack p99 at 2,500 pings/s 1,095 -> 112 ms and map p99 2,090 -> 560 ms.
GC_THRESHOLDS = env.list("GC_THRESHOLDS", cast=int, default=[50_000, 20, 100])
LOCATION_FIX_BATCH = env.bool("LOCATION_FIX_BATCH", default=True)
LOCATION_FIX_BATCH_MAX = env.int("LOCATION_FIX_BATCH_MAX", default=200)
# --- Faults: a location ack means the fix is durable (dispatch/live/writer.py) ---
# The batch writer commits when idle (what arrives during a write is the next group); this adds a gather
# window before each write. An ack waits for the group commit, so it adds to the ack's latency.
# 10 ms: on the scale profile (2,000 sockets, 1,000 pings/s) server CPU per ping 1.30 -> 0.67 ms (half the
# commits), ack p50 4.1 -> 9.6 ms, p99 19 -> 28 ms (docs/performance.md, "What the live path's design rests on").
LOCATION_FIX_FLUSH_S = env.float("LOCATION_FIX_FLUSH_S", default=0.01)
# On PostgreSQL the socket's fast path writes its groups from the event loop, on an async connection of the
# loop's own (dispatch/live/writer.py LoopWriter); off: the writer thread takes them as the other paths' do.
LOCATION_FIX_LOOP_WRITER = env.bool("LOCATION_FIX_LOOP_WRITER", default=True)
# The dispatch map gets one `rider.positions` frame per POSITION_FLUSH_S per process (off: one frame per ping).
POSITION_BATCH = env.bool("POSITION_BATCH", default=True)
POSITION_FLUSH_S = env.float("POSITION_FLUSH_S", default=0.5)
# On the Redis layer, ephemeral frames (a tracking page's ETA) wait this long to go out in one round trip with
# the others (dispatch/live/publish.py); 0 sends each at once.
EPHEMERAL_FLUSH_S = env.float("EPHEMERAL_FLUSH_S", default=0.1)
# How long an ack waits for the write; after it the ack says accepted=false, code "not_saved" (HTTP: 503).
LOCATION_ACK_TIMEOUT_S = env.float("LOCATION_ACK_TIMEOUT_S", default=5.0)
