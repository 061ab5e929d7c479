"""Request plumbing shared by every page: session → principal, CSRF, errors → pages, cookies.

:func:`signed_in` wraps a page handler: it reads the session cookie, asks
:func:`recorder.web.ui.auth.current` (on the database thread) who that is *now*, checks
the origin and CSRF token of every request that changes something or comes from htmx,
caps the body, and maps the recorder's errors to answers that hold no personal data:

=================================  =====  ========================================
``AccessDenied``                   403    a page saying so (the reason, never data)
``InvalidEvent`` / ``QaError``     400    the field's message (names, never values)
``NotFoundError`` / ``GoneError``  404
not signed in, session expired     303    to ``/login`` (htmx: 401 + ``HX-Redirect``)
bad origin or CSRF token           403
=================================  =====  ========================================
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from recorder.access import Principal
from recorder.config import Config
from recorder.errors import AccessDenied, InvalidEvent, QaError
from recorder.qa_config import QaSettings
from recorder.web.ui import auth
from recorder.web.ui.csrf import FIELD, HEADER, SAFE_METHODS, csrf_token, same_origin, token_matches
from recorder.web.ui.db import VaultThread
from recorder.web.ui.render import nonce_of, render
from recorder.web.ui.settings import UiSettings
from storage.errors import GoneError, NotFoundError
from storage.models import Rng

if TYPE_CHECKING:  # the `oidc` extra is imported only when [web.oidc] is configured
    from recorder.web.ui.oidc import OidcClient

log = logging.getLogger(__name__)

#: Largest request body accepted (a summary edit is at most 20,000 characters).
MAX_BODY = 256 * 1024
MAX_FIELDS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class Deps:
    """Everything the pages need, built at start-up (time and randomness come in here)."""

    config: Config
    settings: UiSettings
    qa: QaSettings
    ai_languages: tuple[str, ...]
    topics: tuple[str, ...]
    db: VaultThread
    clock: Callable[[], datetime]
    rng: Rng = field(repr=False)
    oidc: OidcClient | None = None

    @property
    def session_cookie(self) -> str:
        """``__Host-callrec`` behind TLS (Secure, host-only, path /), else ``callrec``."""
        return "__Host-callrec" if self.settings.secure_cookies else "callrec"

    @property
    def anon_cookie(self) -> str:
        """The pre-sign-in cookie whose CSRF token protects the sign-in form."""
        return "__Host-callrec-pre" if self.settings.secure_cookies else "callrec-pre"

    def origin(self, request: Request) -> str:
        """Our own origin: ``public_base_url``'s, else the one the browser used."""
        base = self.settings.public_base_url
        if base is not None:
            parts = urlsplit(base)
            return f"{parts.scheme}://{parts.netloc}"
        return f"{request.url.scheme}://{request.url.netloc}"


@dataclass(frozen=True, slots=True, kw_only=True)
class Ctx:
    """A signed-in request: who, when, and the tokens the page must carry."""

    request: Request
    deps: Deps
    principal: Principal
    now: datetime
    token: str = field(repr=False)
    csrf: str = field(repr=False)

    def page(self, template: str, *, status: int = 200, **context: Any) -> Response:
        """Render a signed-in page (navigation, CSRF token and nonce included)."""
        return render(
            self.request, template, status=status, user=self.principal, csrf=self.csrf,
            roles=self.principal.roles, **context,
        )  # fmt: skip

    async def form(self) -> FormData:
        """The request's form (already size-checked by :func:`signed_in`)."""
        return await self.request.form(max_files=0, max_fields=MAX_FIELDS)


Handler = Callable[[Ctx], Awaitable[Response]]
Endpoint = Callable[[Request], Awaitable[Response]]


def deps_of(request: Request) -> Deps:
    """The app's :class:`Deps` (``app.state.deps``)."""
    deps: Deps = request.app.state.deps
    return deps


def set_cookie(deps: Deps, response: Response, name: str, value: str, *, max_age: int) -> None:
    """A cookie as the app sets them: HttpOnly, SameSite=Strict, path /, Secure behind TLS."""
    response.set_cookie(
        name, value, max_age=max_age, path="/", httponly=True, samesite="strict",
        secure=deps.settings.secure_cookies,
    )  # fmt: skip


def is_htmx(request: Request) -> bool:
    """True for a request made by htmx."""
    return request.headers.get("hx-request") == "true"


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    """A plain error page (no navigation: the principal may be unknown)."""
    return render(request, "error.html", status=status, title=title, message=message)


#: Paths that answer data, not pages: a signed-out request gets a bare 401.
API_SUFFIXES = ("/audio", "/peaks", "/ticket")


def to_login(request: Request, reason: str | None) -> Response:
    """Send a signed-out browser to the sign-in page (htmx and data: 401, ``HX-Redirect``)."""
    expired = reason is not None and "timeout" in reason
    target = "/login?expired=1" if expired else "/login"
    if is_htmx(request) or request.url.path.endswith(API_SUFFIXES):
        return Response(status_code=401, headers={"HX-Redirect": target})
    if request.method in SAFE_METHODS and not expired:
        target = "/login?next=" + quote(request.url.path, safe="/")
    return RedirectResponse(target, status_code=303)


def local_path(value: str | None, default: str = "/calls") -> str:
    """``value`` if it is a path on this site (never ``//host`` or a URL), else ``default``."""
    if value and value.startswith("/") and not value.startswith(("//", "/\\")):
        return value
    return default


async def check_request(deps: Deps, request: Request, secret: str | None) -> Response | None:
    """The origin, body-size and CSRF checks; an answer when the request is refused."""
    unsafe = request.method not in SAFE_METHODS
    if not unsafe and not is_htmx(request):
        return None
    if not same_origin(request.headers, deps.origin(request)):
        log.warning("refused a cross-site %s to %s", request.method, request.url.path)
        return error_page(request, 403, "Refused", "This request came from another site.")
    if unsafe:
        length = request.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > MAX_BODY:
            return error_page(request, 413, "Too large", "The form is too large.")
    presented = request.headers.get(HEADER)
    if presented is None and unsafe:
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        value = form.get(FIELD)
        presented = value if isinstance(value, str) else None
    if not token_matches(secret, presented):
        log.warning("refused a %s to %s without a valid CSRF token", request.method,
                    request.url.path)  # fmt: skip
        return error_page(request, 403, "Refused", "The form had expired. Reload and retry.")
    return None


def signed_in(handler: Handler) -> Endpoint:
    """Wrap a page handler with the session, CSRF and error handling of the docstring."""

    async def endpoint(request: Request) -> Response:
        deps = deps_of(request)
        now = deps.clock()
        token = request.cookies.get(deps.session_cookie)
        found = await deps.db.run(
            lambda v: auth.current(v, deps.config, deps.settings, token, now=now)
        )
        if found.principal is None or token is None:
            return to_login(request, found.refused)
        refused = await check_request(deps, request, token)
        if refused is not None:
            return refused
        ctx = Ctx(
            request=request, deps=deps, principal=found.principal, now=now, token=token,
            csrf=csrf_token(token),
        )  # fmt: skip
        try:
            return await handler(ctx)
        except AccessDenied as exc:
            return ctx.page("denied.html", status=403, reason=exc.reason)
        except (InvalidEvent, QaError) as exc:
            return ctx.page("denied.html", status=400, reason=str(exc))
        except (NotFoundError, GoneError):
            return ctx.page("denied.html", status=404, reason="not found, or gone")

    endpoint.__name__ = handler.__name__
    endpoint.__doc__ = handler.__doc__
    return endpoint


def client_address(request: Request) -> str:
    """The peer address (for sign-in throttling only; never stored in clear)."""
    return request.client.host if request.client is not None else "?"


__all__ = ["Ctx", "Deps", "nonce_of", "signed_in"]
