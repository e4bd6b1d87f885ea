"""Daphne's server with its two periodic passes over every connection spread out, and the application's input
queue chosen by a subclass: copies of daphne 4.2.3's `Server.application_checker` and `Server.create_application`
(`daphne/server.py`), and its `ws_factory` attribute. tests/test_patches.py fails when the installed version
changes: re-check those two methods against the new release.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import CancelledError
from functools import partial

from daphne.server import Server, logger
from twisted.internet import reactor

from .autobahn import LeanWebSocketProtocol

WRITTEN_FOR = {"daphne": "4.2.3"}


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
    up to 500 a pass, a 70-127 ms stall every 2 s (scale profile, 5,000 sockets a process, 2026-12, dispatch/live/probe.py)."""

    input_queue_class: type = asyncio.Queue  # each connection's input queue: daphne's own unless a subclass says

    def application_starting(self) -> None:
        """Called before each connection's application is made (a subclass starts its loop's probe here)."""

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
        """daphne 4.2's create_application, on an `input_queue_class` queue, after `application_starting()`."""
        self.application_starting()
        assert "application_instance" not in self.connections[protocol]
        input_queue = self.input_queue_class()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(scope=scope, receive=input_queue.get,
                                                send=partial(self.handle_reply, protocol))
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance, loop=asyncio.get_event_loop())
        return input_queue
