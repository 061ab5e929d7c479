"""The web app: routes, static files and the security middleware, over a :class:`Deps`.

:func:`build_deps` wires the app from the configuration and a vault opener, with the
clock and randomness passed in (tests drive session expiry and ticket expiry with them);
:func:`build_ui_app` returns the Starlette app. Routes (see each ``pages_*`` module):

==========================  ========================================================
``/login`` ``/logout``      sign-in (local, OpenID Connect), sign-out
``/calls`` ``/calls/{id}``  Calls list, number search, Call page, summary review
``/calls/{id}/audio``       audio by HTTP Range (plain ASGI, :mod:`.audio`)
``/calls/{id}/peaks`` …     waveform peaks, fresh tickets
``/review`` …               the QA reviewer's queue, review page, scorecard
``/reports/team`` …         the supervisor's team report and its CSV
``/access`` …               the DPO's access log and data-subject consultation report
``/static/…``               CSS, our JS and the vendored htmx / wavesurfer.js
==========================  ========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from recorder.ai_config import ai_settings
from recorder.config import Config
from recorder.qa_config import qa_settings
from recorder.web.ui import (
    pages_access,
    pages_audio,
    pages_auth,
    pages_calls,
    pages_reports,
    pages_review,
)
from recorder.web.ui.audio import PATH as AUDIO_PATH
from recorder.web.ui.audio import AudioEndpoint
from recorder.web.ui.db import VaultThread
from recorder.web.ui.handlers import Deps
from recorder.web.ui.render import SecurityHeaders, render
from recorder.web.ui.settings import UiSettings
from storage.models import Rng
from storage.vault import Vault

STATIC = Path(__file__).resolve().parent / "static"


def build_deps(
    config: Config,
    settings: UiSettings,
    open_vault: Callable[[], Vault],
    *,
    clock: Callable[[], datetime],
    rng: Rng,
    redirect_base: str | None = None,
) -> Deps:
    """Everything the pages need. ``redirect_base`` (our own base URL) is where the identity
    provider sends people back; it defaults to ``[web] public_base_url``."""
    oidc = None
    if settings.oidc is not None:
        from recorder.web.ui.oidc import OidcClient  # the `oidc` extra, only when configured

        base = redirect_base or settings.public_base_url or "http://127.0.0.1:8090"
        oidc = OidcClient(settings.oidc, f"{base.rstrip('/')}/login/oidc/callback")
    qa = qa_settings(config)
    ai = ai_settings(config)
    return Deps(
        config=config,
        settings=settings,
        qa=qa,
        ai_languages=ai.redact_languages,
        topics=tuple(t.name for t in ai.topics),
        db=VaultThread(open_vault),
        clock=clock,
        rng=rng,
        oidc=oidc,
    )


async def home(request: Request) -> Response:
    """``/`` → the Calls list (which sends a signed-out browser to sign in)."""
    return RedirectResponse("/calls", status_code=303)


async def no_icon(request: Request) -> Response:
    """``/favicon.ico``: nothing (browsers ask for it on every page)."""
    return Response(status_code=204)


async def not_found(request: Request, exc: Exception) -> Response:
    """A plain 404 page (no data, no stack)."""
    return render(request, "error.html", status=404, title="Not found",
                  message="There is no such page.")  # fmt: skip


async def server_error(request: Request, exc: Exception) -> Response:
    """A plain 500 page; the exception is logged by Starlette, never shown."""
    return render(request, "error.html", status=500, title="Something went wrong",
                  message="The server could not answer. The error was logged.")  # fmt: skip


class _Dispatch:
    """The seek hot path (``GET /calls/{id}/audio``) straight to :class:`AudioEndpoint`,
    everything else to Starlette (so any other method on that path is still a 405)."""

    def __init__(self, pages: Starlette, audio: AudioEndpoint) -> None:
        self.pages = pages
        self.audio = audio

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and AUDIO_PATH.fullmatch(scope["path"])
        ):
            await self.audio(scope, receive, send)
        else:
            await self.pages(scope, receive, send)


def build_ui_app(deps: Deps) -> SecurityHeaders:
    """The ASGI app (Starlette and the audio endpoint inside :class:`SecurityHeaders`)."""
    routes = [
        Route("/", home, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
        *pages_auth.ROUTES,
        *pages_audio.ROUTES,
        *pages_calls.ROUTES,
        *pages_review.ROUTES,
        *pages_reports.ROUTES,
        *pages_access.ROUTES,
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, exception_handlers={404: not_found, 500: server_error})
    app.state.deps = deps
    return SecurityHeaders(_Dispatch(app, AudioEndpoint(deps)), deps.rng)
