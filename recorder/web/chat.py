"""The chat endpoints: the platform's signed webhook, the customer's self-service, the bank's
history. HTTP only: every decision is in :mod:`recorder.chat`.

===============================  ============================================================
``POST /hooks/chat``             a delivery (finished conversation or message batch), signed
                                 with Standard Webhooks; 200 ``{"chat_id", "status", ...,
                                 "secret"}`` (``secret`` only when one is issued)
``GET /chats/{id}/transcript``   the customer's chat (``?format=json|text``), with
                                 ``Authorization: Bearer cs1_…`` (the secret)
``DELETE /chats/{id}``           delete it: 200 ``erased``/``pending`` (bot chat), 202
                                 ``requested`` (advisor chat: the DPO acts), with a receipt
``GET /customers/me/chats``      a logged-in customer's history: ``Authorization: Bearer
``GET /customers/me/chats/{id}`` cba1…`` (the online bank's signed assertion)
===============================  ============================================================

Answers: 400 malformed (bad JSON, too deep, unknown field, unknown advisor ...), 401 bad
signature or assertion, 404 endpoint off or -- for every self-service refusal alike --
"no such chat, or the secret is not valid", 413 too large, 429 rate-limited (with
``Retry-After``), 503 cannot store now. Secrets travel only in headers, never in a URL, and
self-service answers carry ``Cache-Control: no-store``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from recorder.chat import history, selfservice
from recorder.chat.ingest import ingest_delivery
from recorder.chat.parse import read_delivery
from recorder.chat.ratelimit import RateLimit
from recorder.chat.settings import ChatSettings
from recorder.config import Config
from recorder.errors import BadAssertion, RateLimited, SecretRefused
from recorder.ingest.verify import begin_standard_webhook
from storage.vault import Vault

ErrorMap = Callable[[BaseException], Response]
ReadBody = Callable[[Any, Any, int, float], Awaitable[bytes]]
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatDeps:
    """What the chat endpoints need besides the app's own dependencies."""

    settings: ChatSettings
    config: Config
    limit: RateLimit


def _bearer(request: Request) -> str | None:
    values = request.headers.getlist("authorization")
    if len(values) != 1:
        return None
    scheme, _, token = values[0].partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _client(request: Request) -> str:
    return "ip:" + (request.client.host if request.client else "unknown")


def chat_routes(deps: Any, chat: ChatDeps, *, error: ErrorMap, read_body: ReadBody) -> list[Route]:
    """The routes above, over the app's ``deps`` (:class:`recorder.web.app.AppDeps`)."""
    settings = chat.settings

    def fail(exc: BaseException) -> Response:
        if isinstance(exc, SecretRefused):
            return JSONResponse({"error": str(exc)}, status_code=404, headers=_NO_STORE)
        if isinstance(exc, BadAssertion):
            return JSONResponse(
                {"error": "sign-in assertion refused"}, status_code=401, headers=_NO_STORE
            )
        if isinstance(exc, RateLimited):
            return JSONResponse(
                {"error": str(exc)},
                status_code=429,
                headers={"Retry-After": str(exc.retry_after), **_NO_STORE},
            )
        return error(exc)

    async def hook(request: Request) -> Response:
        if settings.webhook is None:
            return JSONResponse({"error": "chat endpoint not configured"}, status_code=404)
        try:
            body = await read_body(
                request.scope, request.receive, settings.max_bytes, deps.settings.body_timeout
            )
            now = deps.clock()
            stream = begin_standard_webhook(
                request.scope["headers"],
                now=now,
                config=settings.webhook,
                max_bytes=settings.max_bytes,
            )
            stream.update(body)
            delivered = stream.verify()
            delivery = read_delivery(body, settings, chat.config)

            def work() -> dict[str, Any]:
                with deps.open_vault() as (vault, _):
                    result = ingest_delivery(
                        vault,
                        chat.config,
                        settings,
                        delivery,
                        source="webhook",
                        now=now,
                        rng=deps.rng,
                        delivery_id=delivered.msg_id,
                    )
                return {"ok": True, **result.as_dict()}

            answer = await anyio.to_thread.run_sync(work)
            return JSONResponse(answer, headers=_NO_STORE)
        except Exception as exc:  # noqa: BLE001 - every error becomes its status
            return fail(exc)

    async def _self(
        request: Request, run: Callable[[Vault, str, str | None], Response]
    ) -> Response:
        try:
            chat_id = str(request.path_params.get("chat_id", ""))[:64]
            chat.limit.hit([_client(request), "chat:" + chat_id])
            token = _bearer(request)

            def work() -> Response:
                with deps.open_vault() as (vault, _):
                    return run(vault, chat_id, token)

            return await anyio.to_thread.run_sync(work)
        except Exception as exc:  # noqa: BLE001
            return fail(exc)

    async def transcript(request: Request) -> Response:
        fmt = request.query_params.get("format", "json")

        def run(vault: Vault, chat_id: str, token: str | None) -> Response:
            kind, body = selfservice.download(vault, chat_id, token, fmt=fmt, now=deps.clock())
            return Response(body, media_type=kind, headers=_NO_STORE)

        return await _self(request, run)

    async def delete(request: Request) -> Response:
        def run(vault: Vault, chat_id: str, token: str | None) -> Response:
            receipt = selfservice.delete(
                vault, chat.config, chat_id, token, now=deps.clock(), rng=deps.rng
            )
            code = 202 if receipt.status == "requested" else 200
            return JSONResponse(
                {"ok": True, "status": receipt.status, "receipt": receipt.receipt},
                status_code=code,
                headers=_NO_STORE,
            )

        return await _self(request, run)

    async def mine(request: Request) -> Response:
        def run(vault: Vault, chat_id: str, token: str | None) -> Response:
            if chat_id:
                doc: Mapping[str, Any] = history.history_chat(
                    vault, settings, token, chat_id, now=deps.clock()
                )
                return JSONResponse(dict(doc), headers=_NO_STORE)
            items = history.list_history(vault, settings, token, now=deps.clock())
            return JSONResponse({"chats": [i.as_dict() for i in items]}, headers=_NO_STORE)

        return await _self(request, run)

    return [
        Route("/hooks/chat", hook, methods=["POST"]),
        Route("/chats/{chat_id}/transcript", transcript, methods=["GET"]),
        Route("/chats/{chat_id}", delete, methods=["DELETE"]),
        Route("/customers/me/chats", mine, methods=["GET"]),
        Route("/customers/me/chats/{chat_id}", mine, methods=["GET"]),
    ]
