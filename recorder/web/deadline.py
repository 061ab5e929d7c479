"""uvicorn's h11 protocol with a deadline for request headers (slow-header clients).

uvicorn (0.55) arms no timer while a request's headers arrive: ``data_received`` even
cancels the keep-alive timer at the first byte, so a client that sends one header byte
every few seconds holds its connection for ever, and a few hundred of them hold the
server. :func:`header_deadline_protocol` returns an ``H11Protocol`` subclass that starts a
deadline when a connection opens and again when a response completes (the next request of
a keep-alive connection), and cancels it as soon as h11 has parsed a complete request
head. When it fires, the client gets ``408 Request Timeout`` and the connection is closed.

Bodies have their own deadlines in :mod:`recorder.web.app`; this covers the part before
the application sees the request at all.
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 29\r\nconnection: close\r\n\r\nrequest headers took too long"
)


def header_deadline_protocol(seconds: float) -> type[H11Protocol]:
    """An ``H11Protocol`` whose request heads must be complete within ``seconds``."""
    if seconds <= 0:
        raise ValueError("the header deadline must be positive")

    class HeaderDeadlineProtocol(H11Protocol):
        _header_timer: asyncio.TimerHandle | None = None

        def _arm(self) -> None:
            self._disarm()
            self._header_timer = self.loop.call_later(seconds, self._headers_too_slow)

        def _disarm(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_too_slow(self) -> None:
            self._header_timer = None
            if not self.transport.is_closing():
                self.transport.write(_TIMEOUT_RESPONSE)
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def handle_events(self) -> None:
            cycle = self.cycle
            super().handle_events()
            if self.cycle is not cycle:  # a complete request head was parsed
                self._disarm()

        def on_response_complete(self) -> None:
            # A keep-alive connection: the next head has the same deadline. Armed first,
            # because the call below parses a pipelined head at once (and so disarms).
            if not self.transport.is_closing():
                self._arm()
            super().on_response_complete()

    return HeaderDeadlineProtocol
