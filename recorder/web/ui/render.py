"""Pages as HTML: the Jinja2 environment (autoescape on), and the headers every answer gets.

- Templates live in ``templates/`` beside this module; autoescaping is on for every
  template and undefined names raise, so a typo never renders as an empty string and no
  value reaches the page unescaped (nothing here uses ``|safe`` on data).
- :class:`SecurityHeaders` (raw ASGI middleware) adds to every response a strict Content
  Security Policy: scripts only from our own origin (no inline script, no ``eval``),
  styles from our origin plus one per-request nonce (the waveform player's shadow-DOM
  style sheet), nothing framed, forms posted only to us; and ``Cache-Control: no-store``
  on everything but ``/static/`` (pages and audio carry personal data), ``Referrer-Policy:
  same-origin`` (ticket URLs never leave for another site, while our own form posts keep a
  real ``Origin``), ``nosniff``, ``frame-ancestors 'none'``.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from recorder import logredact
from recorder.access import agents_of
from storage.models import Rng

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
                   Awaitable[None]]  # fmt: skip

STATIC_PREFIX = "/static/"
NONCE_KEY = "csp_nonce"


def _clock(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%d %H:%M")


def _duration(ms: int | None) -> str:
    if ms is None:
        return ""
    seconds = ms // 1000
    return f"{seconds // 60}:{seconds % 60:02d}"


def _mmss(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


ENV = Environment(
    loader=PackageLoader("recorder.web.ui", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    clock=_clock,
    duration=_duration,
    mmss=_mmss,
    agents=lambda r: ", ".join(agents_of(r)),
    redact=logredact.redact,
)


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """Render ``template`` with ``context`` (plus the request's CSP nonce) as a page."""
    context.setdefault("nonce", nonce_of(request))
    html = ENV.get_template(template).render(**context)
    return HTMLResponse(html, status_code=status)


def nonce_of(request: Request) -> str:
    """The CSP nonce of this request (set by :class:`SecurityHeaders`)."""
    return str(request.scope.get("state", {}).get(NONCE_KEY, ""))


def csp(nonce: str) -> str:
    """The Content-Security-Policy for one response."""
    return "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self'",
            "media-src 'self'",
            "connect-src 'self'",
            "form-action 'self'",
            "base-uri 'none'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """Adds the CSP (with a fresh nonce) and the other headers of the module docstring."""

    def __init__(self, app: ASGIApp, rng: Rng) -> None:
        self.app = app
        self.rng = rng

    async def __call__(
        self,
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = base64.b64encode(self.rng(16)).decode("ascii")
        scope.setdefault("state", {})[NONCE_KEY] = nonce
        static = str(scope.get("path", "")).startswith(STATIC_PREFIX)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"cache-control", b"content-security-policy")
                ]
                headers += [
                    (b"content-security-policy", csp(nonce).encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                    (b"cross-origin-resource-policy", b"same-origin"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cache-control", b"public, max-age=3600" if static else b"no-store"),
                ]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
