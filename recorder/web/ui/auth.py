"""Signing in and out of the web app, and what a session cookie is worth on each request.

- **Sign-in** with a local account (:func:`sign_in_password`): the name must be a user of
  the org chart with a password set (``callrec users set-password``); the argon2id check
  runs even for unknown names (same time, same answer). Failed attempts are counted per
  name and per client address under keyed MACs (the name typed is never stored); after
  ``login_max_failures`` for a name (4x that for an address) within ``login_window``, sign-in
  is refused without checking the password until the window passes (HTTP 429).
  OpenID Connect (:func:`sign_in_oidc`) arrives here with a verified user id and roles.
- **Sessions** (:func:`current`): the cookie is 256 random bits; the catalog keeps only its
  SHA-256. A session is refused, ended and audited when unused for ``idle``, older than
  ``absolute``, or its user left the org chart; its roles are those granted at sign-in
  that the org chart still gives the user, so removing a role takes effect at once.
  Activity is written at most once a minute (:data:`TOUCH_EVERY`), so reading pages and
  seeking audio do not each cost a commit.
- **Sign-out** (:func:`sign_out`) ends the session server-side: the cookie is dead even if
  a copy survives.

Every sign-in (allowed or refused), sign-out, expiry and password change is audited
(``web.*``). Time and randomness come in (``now=``, ``rng=``).
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from recorder.access import Principal, principal_for
from recorder.audit_events import AuditAction, record
from recorder.config import Config
from recorder.errors import ConfigError, SignInFailed
from recorder.web.ui.passwords import hash_password, needs_rehash, verify_password
from recorder.web.ui.settings import UiSettings
from storage.crypto import derive_mac_key, mac
from storage.models import Rng
from storage.vault import Vault
from storage.web_auth import WebAuthStore, WebSession

TOKEN_BYTES = 32
TOUCH_EVERY = timedelta(minutes=1)
UNKNOWN = "(unknown)"
WRONG = "wrong user or password"
THROTTLED = "too many failed attempts; try again later"
#: A client address may fail this many times the per-name limit (shared offices, NAT).
ADDRESS_FACTOR = 4
_THROTTLE_INFO = b"callrec web sign-in throttle v1"
_MAX_NAME = 64
_OIDC_FLOW_LIFE = timedelta(minutes=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedIn:
    """A new session: the cookie value (shown once, never stored) and who it is for."""

    token: str = field(repr=False)
    principal: Principal


@dataclass(frozen=True, slots=True, kw_only=True)
class Current:
    """What a request's session cookie is worth: the principal, or why it is refused."""

    principal: Principal | None
    refused: str | None = None


def token_digest(token: str) -> str:
    """The SHA-256 (hex) under which a session token is stored."""
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def new_token(rng: Rng) -> str:
    """A fresh 256-bit token, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(rng(TOKEN_BYTES)).rstrip(b"=").decode("ascii")


def _throttle_key(vault: Vault, kind: str, value: str) -> str:
    kek = vault.keyring.kek(vault.keyring.active_kek_version())
    return mac(derive_mac_key(kek, info=_THROTTLE_INFO), f"{kind}:{value}".encode()).hex()


def _actor(config: Config, name: str) -> tuple[str, str]:
    user = config.users.get(name)
    if user is None:
        return UNKNOWN, "none"
    return user.id, Principal(user_id=user.id, roles=user.roles).role


def _refuse(vault: Vault, actor: tuple[str, str], reason: str, method: str, now: datetime) -> None:
    record(
        vault.audit, actor, AuditAction.WEB_SIGNIN, now=now, outcome="denied", reason=reason,
        detail={"method": method},
    )  # fmt: skip


def sign_in_password(
    vault: Vault,
    config: Config,
    settings: UiSettings,
    name: str,
    password: str,
    *,
    client: str,
    now: datetime,
    rng: Rng,
) -> SignedIn:
    """Check a local account's password and start a session; :class:`SignInFailed` if not."""
    name = name.strip()[:_MAX_NAME]
    actor = _actor(config, name)
    if not settings.local_accounts:
        _refuse(vault, actor, "local accounts are off", "password", now)
        raise SignInFailed("local accounts are off")
    store = WebAuthStore(vault.catalog)
    keys = (_throttle_key(vault, "user", name.casefold()), _throttle_key(vault, "addr", client))
    since = now - settings.login_window
    limit = settings.login_max_failures
    if (
        store.failures_since(keys[0], since) >= limit
        or store.failures_since(keys[1], since) >= limit * ADDRESS_FACTOR
    ):
        _refuse(vault, actor, "too many failed attempts", "password", now)
        raise SignInFailed(THROTTLED, throttled=True)
    user = config.users.get(name)
    stored = None if user is None else store.password_hash(user.id)
    if user is None or stored is None or not verify_password(stored, password):
        if user is None or stored is None:
            verify_password(None, password)  # the same work as a real check
        with vault.catalog.transaction():
            for key in keys:
                store.add_failure(key, at=now)
            _refuse(vault, actor, WRONG, "password", now)
        raise SignInFailed(WRONG)
    if needs_rehash(stored):
        store.set_password_hash(user.id, hash_password(password), now=now)
    store.clear_failures(keys[0])
    return start_session(
        vault, settings, principal_for(config, user.id), "password", now=now, rng=rng
    )


def sign_in_oidc(
    vault: Vault,
    config: Config,
    settings: UiSettings,
    user_id: str,
    roles: frozenset[str],
    *,
    now: datetime,
    rng: Rng,
) -> SignedIn:
    """Start a session for an identity provider's verified user, if the org chart knows
    them; the session's roles are the token's roles that the org chart also gives them."""
    actor = _actor(config, user_id)
    user = config.users.get(user_id)
    if user is None:
        _refuse(vault, actor, "user is not in the org chart", "oidc", now)
        raise SignInFailed("user is not in the org chart")
    granted = roles & user.roles
    if not granted:
        _refuse(vault, actor, "no callrec role in the token", "oidc", now)
        raise SignInFailed("no callrec role in the token")
    principal = Principal(user_id=user.id, roles=granted)
    return start_session(vault, settings, principal, "oidc", now=now, rng=rng)


def refuse_oidc(vault: Vault, reason: str, *, now: datetime) -> None:
    """Audit an OpenID Connect sign-in refused before a user was known (bad token)."""
    _refuse(vault, (UNKNOWN, "none"), reason, "oidc", now)


def start_session(
    vault: Vault,
    settings: UiSettings,
    principal: Principal,
    method: str,
    *,
    now: datetime,
    rng: Rng,
) -> SignedIn:
    """Store a new session for ``principal`` (audited ``web.signin``); stale rows are purged."""
    token = new_token(rng)
    store = WebAuthStore(vault.catalog)
    with vault.catalog.transaction():
        store.create_session(
            WebSession(
                id_sha256=token_digest(token),
                user_id=principal.user_id,
                roles=principal.roles,
                method=method,
                created_at=now,
                seen_at=now,
            )  # fmt: skip
        )
        record(
            vault.audit, principal, AuditAction.WEB_SIGNIN, now=now, outcome="ok",
            reason="signed in", detail={"method": method},
        )  # fmt: skip
        store.purge_sessions(
            ended_before=now - timedelta(days=1), started_before=now - settings.absolute * 2
        )
        store.purge_failures(before=now - settings.login_window)
        store.purge_flows(before=now - _OIDC_FLOW_LIFE)
    return SignedIn(token=token, principal=principal)


def _expire(vault: Vault, session: WebSession, reason: str, now: datetime) -> Current:
    with vault.catalog.transaction():
        if WebAuthStore(vault.catalog).end_session(session.id_sha256, now=now, reason=reason):
            record(
                vault.audit, (session.user_id, "none"), AuditAction.WEB_SESSION_EXPIRE, now=now,
                outcome="ok", reason=reason,
            )  # fmt: skip
    return Current(principal=None, refused=reason)


def current(
    vault: Vault, config: Config, settings: UiSettings, token: str | None, *, now: datetime
) -> Current:
    """The principal a session cookie stands for now, or why it is refused (see above)."""
    if not token or len(token) > 128:
        return Current(principal=None, refused="not signed in")
    store = WebAuthStore(vault.catalog)
    session = store.session(token_digest(token))
    if session is None or session.ended_at is not None:
        return Current(principal=None, refused="not signed in")
    if now - session.seen_at >= settings.idle:
        return _expire(vault, session, "idle timeout", now)
    if now - session.created_at >= settings.absolute:
        return _expire(vault, session, "absolute timeout", now)
    user = config.users.get(session.user_id)
    roles = frozenset() if user is None else session.roles & user.roles
    if not roles:
        return _expire(vault, session, "user or roles left the org chart", now)
    if now - session.seen_at >= TOUCH_EVERY:
        store.touch(session.id_sha256, now=now)
    return Current(principal=Principal(user_id=session.user_id, roles=roles))


def sign_out(vault: Vault, principal: Principal, token: str, *, now: datetime) -> None:
    """End the session server-side (audited ``web.signout``)."""
    with vault.catalog.transaction():
        if WebAuthStore(vault.catalog).end_session(
            token_digest(token), now=now, reason="signed out"
        ):
            record(
                vault.audit, principal, AuditAction.WEB_SIGNOUT, now=now, outcome="ok",
                reason="signed out",
            )  # fmt: skip


def set_password(
    vault: Vault, config: Config, user_id: str, password: str, *, now: datetime
) -> tuple[bool, int]:
    """Set a local account's password (audited); the user's live sessions end.

    Returns (an earlier password was replaced, sessions ended). :class:`ConfigError` when
    the user is not in the org chart or the password is unfit.
    """
    if user_id not in config.users:
        raise ConfigError("user: not a user of the org chart (add them to [[users]] first)")
    hashed = hash_password(password)
    store = WebAuthStore(vault.catalog)
    with vault.catalog.transaction():
        replaced = store.set_password_hash(user_id, hashed, now=now)
        ended = store.end_user_sessions(user_id, now=now, reason="password changed")
        record(
            vault.audit, ("cli", "admin"), AuditAction.WEB_PASSWORD_SET, now=now, outcome="ok",
            detail={"user": user_id, "replaced": replaced, "sessions_ended": ended},
        )  # fmt: skip
    return replaced, ended
