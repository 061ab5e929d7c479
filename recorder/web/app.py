"""The ASGI app: three webhook endpoints and ``/healthz``, on Starlette.

===========================  ==============================================================
``POST /hooks/twilio``       Twilio ``RecordingStatusCallback`` (and call status callbacks)
``POST /hooks/telnyx``       Telnyx call-control events; ``call.recording.saved`` → a job
``POST /hooks/upload``       generic Standard Webhooks signed multipart upload → a recording
``GET /healthz``             job DB, catalog and keyring; 200 or 503, JSON, no secrets
``/hooks/chat``, ``/chats``  chat deliveries and the customer's self-service (issue 17;
``/customers/me/chats``      :mod:`recorder.web.chat`)
===========================  ==============================================================

Answers (the same on every endpoint)::

    200  accepted: job queued, duplicate (already queued), or ignored (nothing to fetch);
         for an upload, the recording id (``duplicate`` true on a retry)
    400  malformed: not the body type, a bad id, a missing field, too many fields or headers
    401  bad signature (Twilio, upload); 403 for Telnyx, as Telnyx documents
    404  endpoint not configured (no secret for it)
    408  the body did not arrive in time: a Twilio/Telnyx body within ``body_timeout_seconds``
         in all; an upload within ``upload.body_deadline_seconds`` in all, and no gap
         between chunks longer than ``body_timeout_seconds`` (a trickle is cut, however
         steady); headers within ``header_timeout_seconds`` (``recorder.web.server``)
    413  body over the limit (64 KiB for Twilio/Telnyx, ``upload.max_bytes`` for uploads)
    422  upload whose audio cannot be decoded safely
    503  our side cannot store it right now (DB/disk/keyring): the provider retries; or
         ``upload.max_concurrent`` uploads are already streaming in (retry later)

An upload is authenticated from its headers before one body byte is read (the early
signature of ``recorder.ingest.verify.upload``): without the secret the answer is 401 and
the body is never taken in. At most ``upload.max_concurrent`` authenticated bodies stream
at once, on their own worker threads, so slow uploads can never starve the provider hooks
(which read their small bodies on the event loop, no thread needed).

Nothing is acknowledged before it is durable: the job insert commits (``synchronous=FULL``)
before the 200 is sent, so a crash before the ack means the provider retries, and the
retry finds either nothing (insert again) or the row (duplicate, no new effect). Bad input
is always 4xx, never 5xx. The handlers only move bytes and headers: verification is
``recorder.ingest.verify`` and decisions are :mod:`recorder.web.adapters`.

The two provider hooks are the hot path (a burst of deliveries): they are plain ASGI
handlers over the raw scope and ``receive`` (no Starlette ``Request``, routing or
middleware per delivery), dispatched before Starlette; every other request, including a
non-POST to a hook path (405), goes through the Starlette app. Same checks, same answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.from_thread
import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recorder.capture import Capturer
from recorder.errors import (
    BadSignature,
    ConfigError,
    InvalidAudio,
    InvalidEvent,
    MalformedRequest,
    RecorderError,
)
from recorder.ingest.verify import begin_upload, verify_telnyx, verify_twilio
from recorder.ingest.verify.query import check_query
from recorder.web.adapters import (
    CallbackQuery,
    Decision,
    Masker,
    NewJob,
    parse_query,
    telnyx_decision,
    twilio_decision,
)
from recorder.web.chat import ChatDeps, chat_routes
from recorder.web.config import WebSettings
from recorder.web.store import StoreThread
from recorder.web.upload import receive_upload
from storage import safejson
from storage.errors import JobError, MalformedJson, StorageError
from storage.jobs import check_payload
from storage.models import Rng
from storage.vault import Vault

log = logging.getLogger(__name__)

RETRY_AFTER = "5"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
#: A hook handler: the raw scope and receive channel in, the response out.
Hook = Callable[[Scope, Receive], Awaitable[Response]]


@dataclass(frozen=True, slots=True, kw_only=True)
class AppDeps:
    """Everything the routes need, built by the CLI (or a test) at start-up."""

    settings: WebSettings
    store: StoreThread
    masker: Callable[[], Masker]
    open_vault: Callable[[], AbstractContextManager[tuple[Vault, Capturer]]]
    clock: Callable[[], datetime]
    rng: Rng
    #: Key of the signed Telnyx callback query (``recorder.ingest.verify.query``).
    query_key: bytes = field(default=b"", repr=False)
    #: The chat endpoints (issue 17; ``recorder.web.chat``); None leaves them out.
    chat: ChatDeps | None = None


class _TooSlow(Exception):
    """The body did not arrive within the configured time."""


def _json(code: int, /, **body: Any) -> JSONResponse:
    headers = {"Retry-After": RETRY_AFTER} if code == 503 else None
    return JSONResponse(body, status_code=code, headers=headers)


def _error(exc: BaseException, *, signature_status: int = 401) -> Response:
    """Map an exception to its documented status. Messages never hold secrets or numbers."""
    if isinstance(exc, BadSignature):
        return _json(signature_status, error="bad signature", detail=str(exc))
    if isinstance(exc, MalformedRequest):
        return _json(413 if exc.too_large else 400, error=str(exc))
    if isinstance(exc, InvalidAudio):
        return _json(422, error=str(exc))
    if isinstance(exc, InvalidEvent):
        return _json(400, error=str(exc))
    if isinstance(exc, _TooSlow | TimeoutError):
        return _json(408, error="request body too slow")
    if isinstance(exc, ClientDisconnect):
        return _json(400, error="client went away")
    if isinstance(exc, StorageError | ConfigError):
        log.warning("cannot store a delivery now: %s", type(exc).__name__)
        return _json(503, error="temporarily unable to store; retry")
    if isinstance(exc, RecorderError):
        return _json(400, error=str(exc))
    log.exception("unexpected error in a webhook handler")
    return _json(500, error="internal error")


def _header_values(scope: Scope, name: bytes) -> list[str]:
    """Every value of the (lower-case) header ``name``, as Starlette decodes them."""
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


def _content_length(scope: Scope, limit: int) -> None:
    values = _header_values(scope, b"content-length")
    if len(values) > 1:
        raise MalformedRequest("content-length: given more than once")
    if values:
        text = values[0].strip()
        if not text.isascii() or not text.isdigit():
            raise MalformedRequest("content-length: not a number")
        if int(text) > limit:
            raise MalformedRequest(f"body larger than {limit} bytes", too_large=True)


async def _read_body(scope: Scope, receive: Receive, limit: int, timeout: float) -> bytes:
    """The whole (small) body, refused at ``limit`` bytes while it streams in.

    Read straight from the ASGI ``receive`` channel; a disconnect is
    :class:`ClientDisconnect`, a body slower than ``timeout`` seconds is ``TimeoutError``.
    """
    _content_length(scope, limit)
    body = bytearray()
    async with asyncio.timeout(timeout):
        while True:
            message = await receive()
            kind = message["type"]
            if kind == "http.request":
                body += message.get("body", b"")
                if len(body) > limit:
                    raise MalformedRequest(f"body larger than {limit} bytes", too_large=True)
                if not message.get("more_body", False):
                    return bytes(body)
            elif kind == "http.disconnect":
                raise ClientDisconnect()


def _query(scope: Scope) -> str:
    """The raw query string as text (percent-escapes still in place)."""
    try:
        return bytes(scope.get("query_string", b"")).decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest("query string: not UTF-8") from None


def _route_path(scope: Scope) -> str:
    """The path below ``root_path``, as Starlette's router matches it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


def _target(scope: Scope) -> bytes:
    """The raw request target as received: root path + raw path + ``?`` + raw query."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    root: str = scope.get("root_path", "")
    if root and not raw_path.startswith(root.encode("utf-8")):
        raw_path = root.encode("utf-8") + raw_path
    query: bytes = scope.get("query_string", b"")
    return raw_path + (b"?" + query if query else b"")


def _raw_headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    return list(scope["headers"])


def _as_route(hook: Hook) -> Callable[[Request], Awaitable[Response]]:
    """A hook as a Starlette endpoint (used when the fast dispatch does not match)."""

    async def endpoint(request: Request) -> Response:
        return await hook(request.scope, request.receive)

    return endpoint


def build_app(deps: AppDeps) -> ASGIApp:
    """The ASGI app over ``deps`` (see the module docstring for the contract)."""
    settings = deps.settings

    async def _store(provider: str, decision: Decision) -> Response:
        if not isinstance(decision, NewJob):
            log.info("%s callback acknowledged, nothing to store: %s", provider, decision.kind)
            return _json(200, ok=True, job="ignored", kind=decision.kind)
        try:  # a refused payload is the event's fault: 400 now, not a 503 retried forever
            check_payload(decision.payload)
        except JobError:
            raise InvalidEvent(f"{provider} event: a field looks like a phone number") from None
        new = await deps.store.enqueue(
            provider=decision.provider,
            recording_id=decision.recording_id,
            payload=decision.payload,
            now=deps.clock(),
        )
        log.info("%s recording %s: %s", provider, decision.recording_id,
                 "job queued" if new else "duplicate")  # fmt: skip
        return _json(200, ok=True, job="queued" if new else "duplicate")

    async def twilio(scope: Scope, receive: Receive) -> Response:
        config = settings.twilio
        if config is None:
            return _json(404, error="twilio endpoint not configured")
        try:
            limit = settings.limits.max_body
            body = await _read_body(scope, receive, limit, settings.body_timeout)
            verified = verify_twilio(body, scope["headers"], target=_target(scope), config=config)
            query = parse_query(parse_qsl(urlsplit(verified.url).query, keep_blank_values=True))
            return await _store("twilio", twilio_decision(verified.params, query))
        except Exception as exc:  # noqa: BLE001 - every error becomes its status
            return _error(exc)

    async def telnyx(scope: Scope, receive: Receive) -> Response:
        config = settings.telnyx
        if config is None:
            return _json(404, error="telnyx endpoint not configured")
        try:
            limit = settings.limits.max_body
            body = await _read_body(scope, receive, limit, settings.body_timeout)
            verify_telnyx(body, scope["headers"], now=deps.clock(), config=config)
            pairs = parse_qsl(_query(scope), keep_blank_values=True)
            check_query(deps.query_key, pairs)  # Telnyx signs the body only
            try:
                document = safejson.loads(body, limits=safejson.JsonLimits(max_bytes=limit))
            except MalformedJson as exc:
                raise InvalidEvent(f"body: malformed ({exc})") from None
            query: CallbackQuery = parse_query(pairs)
            return await _store("telnyx", telnyx_decision(document, query, deps.masker()))
        except Exception as exc:  # noqa: BLE001
            return _error(exc, signature_status=403)

    uploading = [0]  # upload bodies streaming now (the event loop is the only writer)
    limiter: list[anyio.CapacityLimiter] = []  # their worker threads, made on first use

    async def upload(request: Request) -> Response:
        config = settings.upload
        if config is None:
            return _json(404, error="upload endpoint not configured")
        try:  # authenticated from the headers alone: no body byte is read before this
            auth = begin_upload(
                request.scope["headers"], now=deps.clock(), config=config,
                max_bytes=settings.upload_max_bytes,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            return _error(exc)
        if uploading[0] >= settings.upload_concurrent:
            return _json(503, error="too many uploads at once; retry")
        if not limiter:
            limiter.append(anyio.CapacityLimiter(settings.upload_concurrent))
        uploading[0] += 1
        try:
            chunks: AsyncIterator[bytes] = request.stream().__aiter__()
            deadline = anyio.current_time() + settings.upload_deadline

            async def next_chunk() -> bytes:
                left = min(settings.body_timeout, deadline - anyio.current_time())
                if left <= 0:
                    raise _TooSlow()
                with anyio.move_on_after(left) as scope:
                    try:
                        return await chunks.__anext__()
                    except StopAsyncIteration:
                        return b""
                if scope.cancelled_caught:
                    raise _TooSlow()
                return b""  # pragma: no cover - move_on_after either returns or cancels

            def work() -> dict[str, Any]:
                with deps.open_vault() as (vault, capturer):
                    captured = receive_upload(
                        pull=lambda: anyio.from_thread.run(next_chunk),
                        auth=auth,
                        content_type=request.headers.get("content-type"),
                        max_bytes=settings.upload_max_bytes,
                        vault=vault,
                        capturer=capturer,
                        now=deps.clock(),
                        rng=deps.rng,
                    )
                return {
                    "ok": True,
                    "recording_id": captured.recording_id,
                    "duplicate": captured.duplicate,
                    "duration_ms": captured.duration_ms,
                }

            result = await anyio.to_thread.run_sync(work, limiter=limiter[0])
            log.info("upload stored as %s", result["recording_id"])
            return _json(200, **result)
        except Exception as exc:  # noqa: BLE001
            return _error(exc)
        finally:
            uploading[0] -= 1

    async def healthz(request: Request) -> Response:
        checks = await deps.store.health()
        healthy = all(v == "ok" for v in checks.values())
        endpoints = {
            "twilio": settings.twilio is not None,
            "telnyx": settings.telnyx is not None,
            "upload": settings.upload is not None,
        }
        return _json(
            200 if healthy else 503,
            status="ok" if healthy else "unavailable",
            checks=checks,
            endpoints=endpoints,
        )

    routes = Starlette(
        routes=[
            Route("/hooks/twilio", _as_route(twilio), methods=["POST"]),
            Route("/hooks/telnyx", _as_route(telnyx), methods=["POST"]),
            Route("/hooks/upload", upload, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            *(
                []
                if deps.chat is None
                else chat_routes(deps, deps.chat, error=_error, read_body=_read_body)
            ),
        ]
    )
    hooks: dict[str, Hook] = {"/hooks/twilio": twilio, "/hooks/telnyx": telnyx}

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        hook = None
        if scope["type"] == "http" and scope["method"] == "POST":
            hook = hooks.get(_route_path(scope))
        if hook is None:
            await routes(scope, receive, send)
            return
        response = await hook(scope, receive)
        await response(scope, receive, send)

    return app
