"""An ASGI app for tests/test_server.py: a websocket echo, and `GET /probe`, which reports what the server process
holds for its open websockets (found through the garbage collector after a collection, by type, so that no lazy
object is woken)."""

from __future__ import annotations

import gc
import json


def probe() -> dict:
    import asyncio

    from autobahn.websocket.protocol import WebSocketServerProtocol
    from daphne.http_protocol import WebRequest
    from twisted.web.http import HTTPChannel

    gc.collect()
    objects = gc.get_objects()
    sockets = [o for o in objects if issubclass(type(o), WebSocketServerProtocol) and o.state == o.STATE_OPEN]
    return {
        "sockets": len(sockets),
        "http_channels": sum(issubclass(type(o), HTTPChannel) for o in objects),
        "http_requests": sum(issubclass(type(o), WebRequest) for o in objects),
        "attributes_per_socket": max((len(vars(s)) for s in sockets), default=0),
        "options_per_socket": max((sum(n in vars(s) for n in s.CONFIG_ATTRS) for s in sockets), default=0),
        "handshake_copies": sum(any(n in vars(s) for n in ("http_request_data", "http_headers", "clean_headers", "_wskey"))
                                for s in sockets),
        "send_queues": sorted({type(s.send_queue).__name__ for s in sockets}),
        "paths": sorted({s.request.path for s in sockets}),
        "loop": type(asyncio.get_running_loop()).__module__,
    }


async def application(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                return
            await send({"type": "websocket.send", "text": message.get("text") or ""})
    elif scope["type"] == "http":
        await receive()
        body = json.dumps(probe()).encode() if scope["path"] == "/probe" else b"ok"
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": body})
