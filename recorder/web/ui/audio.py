"""``GET /calls/{id}/audio?t=TICKET``: the WAV by HTTP Range, the seek hot path, as plain ASGI.

A seek is a new Range request, so this is the request a listener waits on. Like the webhook
server's provider hooks it runs as a plain ASGI handler ahead of Starlette's routing, and it
makes exactly one trip to the database thread: the session check
(:func:`recorder.web.ui.auth.current`), the ticket and the decision
(:func:`recorder.grants.open_granted_playback`: verified for the session's user and this
recording, decided again and its ``recording.play`` entry committed before any byte is
read; a forged, expired or borrowed ticket is refused and audited the same way), the range
opened (:meth:`recorder.playback.Playback.read_bytes`: only the segments it needs are
decrypted) and its first chunk read. The rest streams from worker threads until the range
ends or the browser hangs up (a seek abandons the previous request).

Answers: 200 (no or an ignored ``Range``), 206 with ``Content-Range`` for ``bytes=a-b``,
``a-`` and ``-n``, 416 outside the file, 401 signed out, 403 refused (the reason, never a
token); always ``Cache-Control: no-store``. The security headers come from the middleware
around the whole app. Which artefact plays (original or redacted) is the decision's choice.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import anyio
import anyio.to_thread

from recorder.errors import AccessDenied
from recorder.grants import open_granted_playback
from recorder.playback import ByteRange
from recorder.web.ui import auth
from recorder.web.ui.handlers import Deps
from storage.qa import CatalogAssignments
from storage.vault import Vault

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATH = re.compile(r"/calls/([^/]{1,64})/audio")
_RANGE = re.compile(r"bytes=(\d{0,15})-(\d{0,15})")
_NO_STORE = [(b"cache-control", b"no-store"), (b"accept-ranges", b"bytes")]


def byte_range(header: str | None, size: int) -> tuple[int, int, bool] | None:
    """``(first, last, partial)`` for a ``Range`` header over ``size`` bytes; None: 416.

    One range only; a header that is not a single byte range is ignored (the whole file,
    200), as RFC 9110 allows.
    """
    match = _RANGE.fullmatch((header or "").strip())
    if match is None or not (match[1] or match[2]):
        return 0, size - 1, False
    if not match[1]:
        suffix = int(match[2])
        return None if suffix == 0 else (max(0, size - suffix), size - 1, True)
    first = int(match[1])
    last = int(match[2]) if match[2] else size - 1
    if first >= size or last < first:
        return None
    return first, min(last, size - 1), True


@dataclass(frozen=True, slots=True, kw_only=True)
class _Opened:
    size: int
    span: tuple[int, int, bool] | None
    first: bytes = b""
    chunks: ByteRange | None = None


def _cookie(header: str, name: str) -> str | None:
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name:
            return value
    return None


async def _plain(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [
        *_NO_STORE, *extra, (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]})  # fmt: skip
    await send({"type": "http.response.body", "body": body})


class AudioEndpoint:
    """The ASGI handler (see the module docstring) for one app's :class:`Deps`."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def _open(self, vault: Vault, session: str | None, rid: str, ticket: str,
              wanted: str | None) -> _Opened | auth.Current:  # fmt: skip
        deps = self.deps
        now = deps.clock()
        found = auth.current(vault, deps.config, deps.settings, session, now=now)
        if found.principal is None:
            return found
        playback = open_granted_playback(
            vault, deps.config, found.principal, rid, ticket, now=now,
            assignments=CatalogAssignments(vault.catalog),
        )  # fmt: skip
        span = byte_range(wanted, playback.size)
        if span is None:
            return _Opened(size=playback.size, span=None)
        chunks = playback.read_bytes(span[0], span[1])
        return _Opened(size=playback.size, span=span, first=next(chunks, b""), chunks=chunks)

    async def __call__(self, scope: MutableMapping[str, Any], receive: Receive,
                       send: Send) -> None:  # fmt: skip
        match = PATH.fullmatch(str(scope["path"]))
        assert match is not None  # noqa: S101 - the dispatcher matched PATH already
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        session = _cookie(headers.get("cookie", ""), self.deps.session_cookie)
        ticket = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("t", [""])[0]
        rid, wanted = match.group(1), headers.get("range")
        try:
            opened = await self.deps.db.run(lambda v: self._open(v, session, rid, ticket, wanted))
        except AccessDenied as exc:
            await _plain(send, 403, f"refused: {exc.reason}\n".encode(), [])
            return
        if isinstance(opened, auth.Current):
            target = b"/login?expired=1" if "timeout" in (opened.refused or "") else b"/login"
            await _plain(send, 401, b"", [(b"hx-redirect", target)])
            return
        if opened.span is None or opened.chunks is None:
            await _plain(send, 416, b"", [(b"content-range", f"bytes */{opened.size}".encode())])
            return
        await self._stream(opened, opened.chunks, receive, send)

    async def _stream(self, opened: _Opened, chunks: ByteRange, receive: Receive,
                      send: Send) -> None:  # fmt: skip
        assert opened.span is not None  # noqa: S101 - checked by the caller
        first, last, partial = opened.span
        extra = [(b"content-range", f"bytes {first}-{last}/{opened.size}".encode())]
        await send({"type": "http.response.start", "status": 206 if partial else 200,
                    "headers": [*_NO_STORE, *(extra if partial else []),
                                (b"content-type", b"audio/wav"),
                                (b"content-length", str(last - first + 1).encode())]})  # fmt: skip

        async def until_gone(scope: anyio.CancelScope) -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            scope.cancel()

        try:
            async with anyio.create_task_group() as group:
                group.start_soon(until_gone, group.cancel_scope)
                chunk: bytes | None = opened.first
                while chunk is not None:
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                    chunk = await anyio.to_thread.run_sync(next, chunks, None)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
                group.cancel_scope.cancel()
        finally:
            chunks.close()
