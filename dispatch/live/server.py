"""The web server: daphne's command line (`python -m dispatch.live.server -b HOST -p PORT config.asgi:application`, the same
arguments as `daphne`), with changes that every open socket pays for. Started by tests/harness.py,
config/supervisord.conf and the README's scale profile.

- Each connection's input queue. Daphne gives each connection an `asyncio.Queue` for what the client sends; that
  queue is four deques (its items, getters, putters and its `join` event's waiters) of 760 bytes each on CPython
  3.11, 3 KiB held for as long as a socket is open, of which daphne uses `put_nowait` and the application `get`.
  Here it is a ChannelQueue (dispatch/live/layers.py), with the same FIFO and wake-up rules, at a few hundred
  bytes.
- What a websocket keeps of its opening handshake. Daphne upgrades a connection by handing its transport from the
  HTTP channel to a websocket protocol, but the transport still names the HTTP channel as its producer, so the
  channel, its request, the request's headers and cookies, and the channel's 12-hour idle timer live as long as the
  socket. Autobahn copies some forty protocol options from the factory onto every connection, and keeps the raw
  handshake, its parsed headers and its response. Here the channel is let go when the websocket takes over, the
  options are class attributes of one protocol class per factory, and once the handshake has succeeded only what
  is read afterwards stays: the request's path, for daphne's access log.
"""

from __future__ import annotations

import asyncio  # isort:skip
import os  # isort:skip
import time  # isort:skip
from functools import partial  # isort:skip
from types import FunctionType  # isort:skip

# Before daphne makes the loop that Twisted runs on; only when this runs as the server (`python -m dispatch.live.server`),
# never as a side effect of importing it (a test process would switch every later loop to uvloop).
if __name__ == "__main__" and os.environ.get("SERVER_LOOP", "uvloop") == "uvloop":
    import uvloop  # isort:skip

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

from daphne.cli import CommandLineInterface  # isort:skip - daphne installs Twisted's asyncio reactor first
from daphne.server import Server, logger  # isort:skip
from daphne.ws_protocol import WebSocketProtocol  # isort:skip
from twisted.internet import reactor  # isort:skip
from concurrent.futures import CancelledError  # isort:skip
from twisted.web.http import HTTPChannel  # isort:skip

from dispatch.live import probe as loop_probe  # isort:skip
from dispatch.live.layers import ChannelQueue  # isort:skip

# What autobahn (autobahn/websocket/protocol.py) and daphne (daphne/ws_protocol.py) read only while the handshake is
# processed: autobahn's copies of the request and its response, and daphne's header list (the application's scope
# holds its own, config/middleware.py) and its application-creation deferred, resolved by then.
HANDSHAKE_ONLY = ("http_request_data", "http_status_line", "http_headers", "http_request_uri", "http_request_params",
                  "http_request_path", "http_request_host", "http_response_data", "websocket_extensions",
                  "websocket_protocols", "websocket_origin", "_wskey", "clean_headers", "application_deferred")


class SendQueue(list):
    """Autobahn's queue of frames waiting for the reactor (`append`, `popleft`, `len`), as a list: empty all but
    the moment a chopped or synced frame is sent, where a deque costs 760 bytes for every open socket."""

    __slots__ = ()

    def popleft(self):
        return self.pop(0)


class HandshakePath:
    """What daphne reads of `protocol.request` after the handshake: the path, for its access log."""

    __slots__ = ("path",)

    def __init__(self, path: str):
        self.path = path


class LeanWebSocketProtocol(WebSocketProtocol):
    options_copied = False

    def connectionMade(self):
        cls = type(self)
        if not cls.options_copied:  # once per factory: its options, read through the class from here on
            for name in cls.CONFIG_ATTRS:
                value = getattr(self.factory, name)
                # a function option (perMessageCompressionAccept) stays a plain function, not a method of the protocol
                setattr(cls, name, staticmethod(value) if isinstance(value, FunctionType) else value)
            cls.options_copied = True
        producer = getattr(self.transport, "producer", None)
        if isinstance(producer, HTTPChannel):  # the HTTP channel this connection was upgraded from
            producer.setTimeout(None)
            self.transport.unregisterProducer()
        super().connectionMade()

    def succeedHandshake(self, res):
        super().succeedHandshake(res)
        if self.state == self.STATE_OPEN:
            for name in HANDSHAKE_ONLY:
                self.__dict__.pop(name, None)
            self.request = HandshakePath(self.request.path)
            if not self.send_queue:
                self.send_queue = SendQueue()


class RoundRobin:
    """Visits each item of a changing collection once per round of `ticks` calls, a slice per call. A round's
    items are the collection as it was when the round began: an item added later waits for the next round."""

    def __init__(self, ticks: int) -> None:
        self.ticks = ticks
        self.tick = 0
        self.pending: list = []
        self.per_tick = 1

    def take(self, source) -> list:
        if self.tick == 0:
            self.pending = list(source)
            self.per_tick = max(1, -(-len(self.pending) // self.ticks))
        self.tick = (self.tick + 1) % self.ticks
        batch = self.pending[-self.per_tick:]
        del self.pending[-self.per_tick:]
        return batch


CHECK_TICK_S = 0.1


class LeanServer(Server):
    """Daphne's server. Its two periodic passes over every connection (`application_checker` each second: reap
    finished applications; `timeout_checker` every 2 s: timeouts and the websocket keep-alive pings) run here a
    slice every CHECK_TICK_S, with the same period per connection. A connection opened during a round is first
    visited in the next, so a finished one is forgotten within two seconds, not one. Each whole pass held the
    event loop for 10-34 ms at 5,000 sockets a process, and the keep-alive pings it sends went out in one burst:
    up to 500 a pass, a 70-127 ms stall every 2 s (#10's ninth pass, dispatch/live/probe.py)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.application_round = RoundRobin(ticks=round(1.0 / CHECK_TICK_S))
        self.timeout_round = RoundRobin(ticks=round(2.0 / CHECK_TICK_S))

    @property
    def ws_factory(self):
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory):
        """Daphne's factory, building protocols of a class of its own (its options become that class's)."""
        factory.protocol = type("LeanWebSocketProtocol", (LeanWebSocketProtocol,), {})
        self._ws_factory = factory

    def application_checker(self):
        for protocol in self.application_round.take(self.connections):
            details = self.connections.get(protocol)
            if details is not None:
                self.check_application(protocol, details)
        reactor.callLater(CHECK_TICK_S, self.application_checker)

    def check_application(self, protocol, details) -> None:
        """daphne 4.2's application_checker, for one connection."""
        disconnected = details.get("disconnected", None)
        application_instance = details.get("application_instance", None)
        # An application that outlives its connection's close by application_close_timeout is cancelled.
        if disconnected and time.time() - disconnected > self.application_close_timeout:
            if application_instance and not application_instance.done():
                logger.warning("Application instance %r for connection %s took too long to shut down and was killed.",
                               application_instance, repr(protocol))
                application_instance.cancel()
        # A finished application is reaped, and its exception logged.
        if application_instance and application_instance.done():
            try:
                exception = application_instance.exception()
            except (CancelledError, asyncio.CancelledError):
                pass
            else:
                if exception:
                    if isinstance(exception, KeyboardInterrupt):
                        self.stop()  # the protocol asks the server to exit (likely during a test)
                    else:
                        logger.error("Exception inside application: %s", exception, exc_info=exception)
                        if not disconnected:
                            protocol.handle_exception(exception)
            del self.connections[protocol]["application_instance"]
            application_instance = None
        # A closed connection whose application ended is forgotten.
        if not application_instance and disconnected:
            del self.connections[protocol]

    def timeout_checker(self):
        for protocol in self.timeout_round.take(self.connections):
            if protocol in self.connections:
                protocol.check_timeouts()
        reactor.callLater(CHECK_TICK_S, self.timeout_checker)

    def create_application(self, protocol, scope):
        """daphne 4.2's create_application, on a ChannelQueue."""
        loop_probe.ensure_started()
        assert "application_instance" not in self.connections[protocol]
        input_queue = ChannelQueue()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(scope=scope, receive=input_queue.get,
                                                send=partial(self.handle_reply, protocol))
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop())
        return input_queue


class LeanCommandLine(CommandLineInterface):
    server_class = LeanServer


if __name__ == "__main__":
    LeanCommandLine.entrypoint()
