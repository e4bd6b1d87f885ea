"""What autobahn keeps for every open websocket, made lean (and daphne's part of the same protocol object): written
against autobahn 26.11.1's `autobahn/websocket/protocol.py` and daphne 4.2.3's `daphne/ws_protocol.py`, whose private
attributes it names (`CONFIG_ATTRS`, `send_queue`, the handshake's `http_*` attributes, `_wskey`,
`application_deferred`). tests/test_patches.py fails when the installed versions change: re-check those names.

- What a websocket keeps of its opening handshake. Daphne upgrades a connection by handing its transport from the
  HTTP channel to a websocket protocol, but the transport still names the HTTP channel as its producer, so the
  channel, its request, the request's headers and cookies, and the channel's 12-hour idle timer live as long as the
  socket. Autobahn copies some forty protocol options from the factory onto every connection, and keeps the raw
  handshake, its parsed headers and its response. Here the channel is let go when the websocket takes over, the
  options are class attributes of one protocol class per factory, and once the handshake has succeeded only what
  is read afterwards stays: the request's path, for daphne's access log.
"""

from __future__ import annotations

from types import FunctionType

from daphne.ws_protocol import WebSocketProtocol
from twisted.web.http import HTTPChannel

WRITTEN_FOR = {"autobahn": "26.11.1", "daphne": "4.2.3"}

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
