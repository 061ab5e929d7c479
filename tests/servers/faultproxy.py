"""An HTTP proxy that forwards to a server on loopback, or fails on purpose.

For fault tests against the real object store: point the S3 client at
``proxy.endpoint`` instead of the server, then make the next requests (or those that match
a method and path) answer an HTTP error, or cut the connection with no answer - the
faults a client sees from a load balancer or an overloaded store, which SeaweedFS cannot
be asked to produce itself. Everything else is forwarded unchanged, ``Host`` header
included, so SigV4 signatures made for the proxy's address still verify upstream.
"""

from __future__ import annotations

import http.client
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: Hop-by-hop headers (RFC 9110 7.6.1) that a proxy must not forward.
_HOP = {"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"}


@dataclass
class Fault:
    """What to do with matching requests: answer ``status`` or, if ``status`` is None, drop.

    ``count`` is how many matching requests it applies to (None: all until cleared);
    ``method`` and ``path`` (a regex searched in the path and query) narrow the match.
    """

    status: int | None
    count: int | None = 1
    method: str | None = None
    path: str | None = None
    body: bytes = b""

    def matches(self, method: str, path: str) -> bool:
        """Whether a request with ``method`` and ``path`` is hit by this fault."""
        if self.method is not None and method.upper() != self.method.upper():
            return False
        return self.path is None or re.search(self.path, path) is not None


@dataclass
class Seen:
    """One request the proxy handled and what the client got (status, or None if dropped)."""

    method: str
    path: str
    status: int | None
    injected: bool


@dataclass
class _State:
    faults: list[Fault] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, method: str, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    if fault.count is not None:
                        fault.count -= 1
                        if fault.count <= 0:
                            self.faults.remove(fault)
                    return fault
        return None


class FaultProxy:
    """A threaded forwarding proxy on a free 127.0.0.1 port in front of ``host:port``."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self._state = _State()
        handler = _make_handler(upstream_host, upstream_port, self._state)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="fault-proxy", daemon=True
        )

    @property
    def endpoint(self) -> str:
        """The proxy's URL (give it to the client instead of the server's)."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def seen(self) -> list[Seen]:
        """A copy of the requests handled so far, in order."""
        with self._state.lock:
            return list(self._state.seen)

    def start(self) -> FaultProxy:
        """Start serving (on a daemon thread)."""
        self._thread.start()
        return self

    def fail(
        self,
        status: int = 503,
        *,
        count: int | None = 1,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (an S3-style error)."""
        code = "ServiceUnavailable" if status == 503 else "InternalError"
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code>'
            f"<Message>injected by FaultProxy</Message></Error>"
        ).encode()
        with self._state.lock:
            self._state.faults.append(Fault(status, count, method, path, body))

    def drop(
        self, *, count: int | None = 1, method: str | None = None, path: str | None = None
    ) -> None:
        """Close the connection of the next ``count`` matching requests without an answer."""
        with self._state.lock:
            self._state.faults.append(Fault(None, count, method, path))

    def clear(self) -> None:
        """Forget every pending fault: forward everything again."""
        with self._state.lock:
            self._state.faults.clear()

    def close(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread.is_alive():
            self._server.shutdown()
            self._thread.join(timeout=10)
        self._server.server_close()


def _make_handler(
    upstream_host: str, upstream_port: int, state: _State
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            """Quiet: the test reads :attr:`FaultProxy.seen` instead."""

        def _body(self) -> Iterator[bytes] | bytes | None:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                return self._chunks()
            length = int(self.headers.get("Content-Length") or 0)
            return self.rfile.read(length) if length else None

        def _chunks(self) -> Iterator[bytes]:
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return
                data = self.rfile.read(size)
                self.rfile.readline()
                yield data

        def _handle(self) -> None:
            method, path = self.command, self.path
            fault = state.take(method, path)
            if fault is not None:
                self._body_drain()
                with state.lock:
                    state.seen.append(Seen(method, path, fault.status, True))
                if fault.status is None:
                    # shutdown, not close: the handler's file objects would keep it open.
                    self.close_connection = True
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.send_response(fault.status)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(fault.body)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(fault.body)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            chunked = headers.get("Transfer-Encoding", "").lower() == "chunked"
            headers.pop("Transfer-Encoding", None)
            upstream = http.client.HTTPConnection(upstream_host, upstream_port, timeout=60)
            try:
                upstream.request(
                    method, path, body=self._body(), headers=headers, encode_chunked=chunked
                )
                response = upstream.getresponse()
                data = response.read()
                self.send_response(response.status, response.reason)
                for key, value in response.getheaders():
                    if key.lower() not in _HOP | {"transfer-encoding", "content-length"}:
                        self.send_header(key, value)
                length = response.getheader("Content-Length") if method == "HEAD" else None
                self.send_header("Content-Length", length or str(len(data)))
                self.end_headers()
                if method != "HEAD":
                    self.wfile.write(data)
                with state.lock:
                    state.seen.append(Seen(method, path, response.status, False))
            finally:
                upstream.close()

        def _body_drain(self) -> None:
            body = self._body()
            if body is not None and not isinstance(body, bytes):
                for _ in body:
                    pass

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _handle

    return Handler
