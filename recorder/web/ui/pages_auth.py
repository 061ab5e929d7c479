"""Sign-in and sign-out pages: local accounts, OpenID Connect, and the server-side logout.

=====================================  ====================================================
``GET  /login``                        the form (and "Sign in with your bank account" when
                                       ``[web.oidc]`` is set); sets the pre-sign-in cookie
                                       whose CSRF token the form carries
``POST /login``                        :func:`recorder.web.ui.auth.sign_in_password`; 401 on
                                       a wrong name or password, 429 when throttled
``GET  /login/oidc``                   to the identity provider (state, nonce, PKCE S256)
``GET  /login/oidc/callback``          code → verified ID token → session
``POST /logout``                       ends the session in the catalog, clears the cookie
=====================================  ====================================================

The OIDC callback answers with a small page that moves on to ``/calls`` itself (a meta
refresh): the callback is reached from the provider's site, and a browser withholds
``SameSite=Strict`` cookies from every request of a navigation that started on another
site, redirects included; the next page, requested from our own, carries the cookie.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from recorder.errors import SignInFailed
from recorder.web.ui import auth
from recorder.web.ui.csrf import csrf_token, same_origin, token_matches
from recorder.web.ui.handlers import (
    MAX_FIELDS,
    Ctx,
    Deps,
    client_address,
    deps_of,
    local_path,
    set_cookie,
    signed_in,
)
from recorder.web.ui.render import render
from storage.web_auth import OidcFlow, WebAuthStore

FLOW_COOKIE = "callrec-oidc"
_PRE_AGE = 3600
_FLOW_AGE = 600


def _login_page(
    request: Request, deps: Deps, pre: str, *, status: int = 200, error: str | None = None
) -> Response:
    response = render(
        request, "login.html", status=status, csrf=csrf_token(pre), error=error,
        local=deps.settings.local_accounts, oidc=deps.oidc is not None,
        expired=request.query_params.get("expired") == "1",
        next=local_path(request.query_params.get("next")),
    )  # fmt: skip
    set_cookie(deps, response, deps.anon_cookie, pre, max_age=_PRE_AGE)
    return response


async def login_form(request: Request) -> Response:
    """The sign-in page."""
    deps = deps_of(request)
    pre = request.cookies.get(deps.anon_cookie) or auth.new_token(deps.rng)
    return _login_page(request, deps, pre)


def _signed_in(deps: Deps, signed: auth.SignedIn, target: str) -> Response:
    response = RedirectResponse(target, status_code=303)
    set_cookie(
        deps, response, deps.session_cookie, signed.token,
        max_age=int(deps.settings.absolute.total_seconds()),
    )  # fmt: skip
    response.delete_cookie(deps.anon_cookie, path="/")
    return response


async def login(request: Request) -> Response:
    """Check the password; start a session (a new token: no session fixation)."""
    deps = deps_of(request)
    pre = request.cookies.get(deps.anon_cookie)
    length = request.headers.get("content-length", "")
    if not same_origin(request.headers, deps.origin(request)) or not length.isdigit():
        return render(request, "error.html", status=403, title="Refused",
                      message="This request came from another site.")  # fmt: skip
    if int(length) > 16 * 1024:
        return render(request, "error.html", status=413, title="Too large",
                      message="The form is too large.")  # fmt: skip
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    presented = form.get("csrf")
    if pre is None or not token_matches(pre, presented if isinstance(presented, str) else None):
        fresh = pre or auth.new_token(deps.rng)
        return _login_page(request, deps, fresh, status=403,
                           error="The form had expired. Please sign in again.")  # fmt: skip
    name, password = form.get("user"), form.get("password")
    target = form.get("next")
    if not isinstance(name, str) or not isinstance(password, str):
        return _login_page(request, deps, pre, status=400, error="Give your user id and password.")
    now, client = deps.clock(), client_address(request)
    try:
        signed = await deps.db.run(
            lambda v: auth.sign_in_password(
                v,
                deps.config,
                deps.settings,
                name,
                password,
                client=client,
                now=now,
                rng=deps.rng,
            )  # fmt: skip
        )
    except SignInFailed as exc:
        message = auth.THROTTLED if exc.throttled else "Sign-in failed: wrong user or password."
        return _login_page(request, deps, pre, status=429 if exc.throttled else 401,
                           error=message)  # fmt: skip
    return _signed_in(deps, signed, local_path(target if isinstance(target, str) else None))


def _state_digest(state: str) -> str:
    return hashlib.sha256(state.encode("ascii", "replace")).hexdigest()


async def oidc_start(request: Request) -> Response:
    """Send the browser to the identity provider."""
    deps = deps_of(request)
    client = deps.oidc
    if client is None:
        return render(request, "error.html", status=404, title="Not here",
                      message="Single sign-on is not configured.")  # fmt: skip
    try:
        started = await run_in_threadpool(client.begin, deps.rng)
    except SignInFailed as exc:
        return render(request, "error.html", status=502, title="Sign-in unavailable",
                      message=exc.reason)  # fmt: skip
    now = deps.clock()
    flow = OidcFlow(nonce=started.nonce, code_verifier=started.code_verifier, created_at=now)
    await deps.db.run(
        lambda v: WebAuthStore(v.catalog).add_flow(_state_digest(started.state), flow)
    )
    response = RedirectResponse(started.url, status_code=303)
    # Lax, not Strict: it must come back on the provider's top-level redirect to us.
    response.set_cookie(
        FLOW_COOKIE, started.state, max_age=_FLOW_AGE, path="/login/oidc", httponly=True,
        samesite="lax", secure=deps.settings.secure_cookies,
    )  # fmt: skip
    return response


async def oidc_callback(request: Request) -> Response:
    """Finish an OpenID Connect sign-in (every refusal audited, nothing of the token shown)."""
    deps = deps_of(request)
    client = deps.oidc
    state = request.query_params.get("state", "")
    code = request.query_params.get("code", "")
    now = deps.clock()

    async def refuse(reason: str) -> Response:
        await deps.db.run(lambda v: auth.refuse_oidc(v, reason, now=now))
        return render(request, "error.html", status=401, title="Sign-in refused",
                      message=f"Single sign-on failed: {reason}.")  # fmt: skip

    if client is None:
        return await refuse("single sign-on is not configured")
    cookie = request.cookies.get(FLOW_COOKIE, "")
    if not state or not cookie or not hmac.compare_digest(state.encode(), cookie.encode()):
        return await refuse("the sign-in did not start in this browser")
    flow = await deps.db.run(lambda v: WebAuthStore(v.catalog).take_flow(_state_digest(state)))
    if flow is None or (now - flow.created_at).total_seconds() > _FLOW_AGE:
        return await refuse("the sign-in expired or was already used")
    if request.query_params.get("error") or not code:
        return await refuse("the identity provider did not sign you in")
    try:
        identity = await run_in_threadpool(
            lambda: client.finish(
                code, nonce=flow.nonce, code_verifier=flow.code_verifier, now=now
            )  # fmt: skip
        )
    except SignInFailed as exc:
        return await refuse(exc.reason)
    try:
        signed = await deps.db.run(
            lambda v: auth.sign_in_oidc(
                v,
                deps.config,
                deps.settings,
                identity.user_id,
                identity.roles,
                now=now,
                rng=deps.rng,
            )  # fmt: skip
        )
    except SignInFailed as exc:  # audited with the user by sign_in_oidc
        return render(request, "error.html", status=403, title="Sign-in refused",
                      message=f"Single sign-on failed: {exc.reason}.")  # fmt: skip
    response = render(request, "signed_in.html", target="/calls")
    set_cookie(
        deps, response, deps.session_cookie, signed.token,
        max_age=int(deps.settings.absolute.total_seconds()),
    )  # fmt: skip
    response.delete_cookie(FLOW_COOKIE, path="/login/oidc")
    return response


@signed_in
async def logout(ctx: Ctx) -> Response:
    """End the session server-side; the cookie is cleared too."""
    deps = ctx.deps
    await deps.db.run(lambda v: auth.sign_out(v, ctx.principal, ctx.token, now=ctx.now))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(deps.session_cookie, path="/")
    return response


ROUTES = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/oidc", oidc_start, methods=["GET"]),
    Route("/login/oidc/callback", oidc_callback, methods=["GET"]),
    Route("/logout", logout, methods=["POST"]),
]
