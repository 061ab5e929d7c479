"""The ``[web]`` table: sessions, cookies, sign-in throttling, tickets and OpenID Connect.

::

    [web]
    public_base_url = "https://qa.example.com"  # https: cookies get Secure (behind TLS)
    idle_minutes = 15            # a session unused this long is refused and ended
    absolute_hours = 8           # no session lives longer, however busy
    ticket_minutes = 10          # playback tickets (<= 15, recorder.grants)
    page_size = 50               # calls per page
    login_max_failures = 5       # failed sign-ins per name (and 4x per client address) ...
    login_window_minutes = 15    # ... within this window, then 429 until it passes
    local_accounts = true        # false: OpenID Connect is the only way in

    [web.oidc]                   # production sign-in (the bank's identity provider)
    issuer = "https://idp.example.com/realms/contact"
    client_id = "callrec"
    user_claim = "preferred_username"   # must be a user id of the org chart
    roles_claim = "callrec_roles"       # a list of callrec roles; intersected with the chart
    scopes = ["openid", "profile"]

The client secret comes from ``$CALLREC_OIDC_CLIENT_SECRET`` (absent: a public client,
PKCE only). An issuer must be ``https`` except on the loopback address (tests, a local
provider). Errors name the TOML path, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from recorder.config import Config
from recorder.errors import ConfigError
from recorder.grants import MAX_TTL

ENV_OIDC_SECRET = "CALLREC_OIDC_CLIENT_SECRET"  # noqa: S105 - a variable name
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
_KEYS = frozenset(
    {
        "public_base_url",
        "idle_minutes",
        "absolute_hours",
        "ticket_minutes",
        "page_size",
        "login_max_failures",
        "login_window_minutes",
        "local_accounts",
        "oidc",
    }
)
_OIDC_KEYS = frozenset({"issuer", "client_id", "user_claim", "roles_claim", "scopes"})


@dataclass(frozen=True, slots=True, kw_only=True)
class OidcSettings:
    """Where and how to send people to sign in (``[web.oidc]``)."""

    issuer: str
    client_id: str
    client_secret: str | None = field(default=None, repr=False)
    user_claim: str = "preferred_username"
    roles_claim: str = "callrec_roles"
    scopes: tuple[str, ...] = ("openid", "profile")


@dataclass(frozen=True, slots=True, kw_only=True)
class UiSettings:
    """The validated ``[web]`` table."""

    public_base_url: str | None = None
    idle: timedelta = timedelta(minutes=15)
    absolute: timedelta = timedelta(hours=8)
    ticket_ttl: timedelta = timedelta(minutes=10)
    page_size: int = 50
    login_max_failures: int = 5
    login_window: timedelta = timedelta(minutes=15)
    local_accounts: bool = True
    oidc: OidcSettings | None = None

    @property
    def secure_cookies(self) -> bool:
        """Cookies carry ``Secure`` (and the ``__Host-`` prefix) when served over TLS."""
        return self.public_base_url is not None and self.public_base_url.startswith("https://")


def _int(raw: Mapping[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(f"web.{key}: expected a whole number from {low} to {high}")
    return value


def _text(raw: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}.{key}: expected a non-empty string")
    return value.strip()


def checked_issuer(url: str, where: str) -> str:
    """An issuer URL: https, or http on the loopback address only; no query or fragment."""
    parts = urlsplit(url)
    local = parts.scheme == "http" and parts.hostname in _LOOPBACK
    if (parts.scheme != "https" and not local) or not parts.hostname:
        raise ConfigError(f"{where}: expected an https URL (http only on 127.0.0.1)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ConfigError(f"{where}: no query, fragment or user info in the issuer")
    return url.rstrip("/")


def _oidc(raw: Any, environ: Mapping[str, str]) -> OidcSettings | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ConfigError("[web.oidc] must be a table")
    unknown = sorted(set(raw) - _OIDC_KEYS)
    if unknown:
        raise ConfigError(f"web.oidc: unknown key(s) {unknown}")
    scopes = raw.get("scopes", ["openid", "profile"])
    if not isinstance(scopes, list) or "openid" not in scopes:
        raise ConfigError('web.oidc.scopes: expected a list that includes "openid"')
    if not all(isinstance(s, str) and s and " " not in s for s in scopes):
        raise ConfigError("web.oidc.scopes: expected scope names without spaces")
    secret = environ.get(ENV_OIDC_SECRET, "").strip() or None
    return OidcSettings(
        issuer=checked_issuer(_text(raw, "issuer", "web.oidc"), "web.oidc.issuer"),
        client_id=_text(raw, "client_id", "web.oidc"),
        client_secret=secret,
        user_claim=_text(raw, "user_claim", "web.oidc", "preferred_username"),
        roles_claim=_text(raw, "roles_claim", "web.oidc", "callrec_roles"),
        scopes=tuple(scopes),
    )


def ui_settings(config: Config, environ: Mapping[str, str] | None = None) -> UiSettings:
    """Parse ``[web]`` of ``config`` (and ``$CALLREC_OIDC_CLIENT_SECRET``)."""
    env = os.environ if environ is None else environ
    raw = config.section("web")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"web: unknown key(s) {unknown}")
    base = raw.get("public_base_url")
    if base is not None:
        parts = urlsplit(str(base))
        if not isinstance(base, str) or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError("web.public_base_url: expected an http(s) URL")
        base = base.rstrip("/")
    local = raw.get("local_accounts", True)
    if not isinstance(local, bool):
        raise ConfigError("web.local_accounts: expected true or false")
    oidc = _oidc(raw.get("oidc"), env)
    if not local and oidc is None:
        raise ConfigError("web.local_accounts = false needs a [web.oidc] table")
    max_ticket = int(MAX_TTL.total_seconds() // 60)
    return UiSettings(
        public_base_url=base,
        idle=timedelta(minutes=_int(raw, "idle_minutes", 15, 1, 24 * 60)),
        absolute=timedelta(hours=_int(raw, "absolute_hours", 8, 1, 7 * 24)),
        ticket_ttl=timedelta(minutes=_int(raw, "ticket_minutes", 10, 1, max_ticket)),
        page_size=_int(raw, "page_size", 50, 5, 1000),
        login_max_failures=_int(raw, "login_max_failures", 5, 1, 100),
        login_window=timedelta(minutes=_int(raw, "login_window_minutes", 15, 1, 24 * 60)),
        local_accounts=local,
        oidc=oidc,
    )
