"""The ``[providers]`` table: where media is fetched from, with what credentials and limits.

::

    [providers]
    allowed_hosts = []              # extra "host" or "host:port" media may come from (e.g. a
                                    # Telnyx storage host); the API bases below are implied
    ca_file = ""                    # PEM bundle to verify TLS with instead of the system store
    connect_timeout_seconds = 5
    read_timeout_seconds = 30       # per socket read
    transfer_timeout_seconds = 600  # a whole download (a slow drip is cut here)
    max_bytes = 268435456           # largest media file (Content-Length and real bytes)
    max_duration_seconds = 14400    # longest call, counted from decoded audio
    max_attempts = 5                # then the job is "failed" (callrec jobs list)
    backoff_seconds = 2             # first retry delay; doubles, with jitter, up to:
    backoff_max_seconds = 300
    lease_seconds = 900             # a worker that dies releases its job after this
    delete_after_capture = false    # DELETE the provider's copy once stored durably
    max_redirects = 0               # >0: follow a redirect only to an allow-listed host,
                                    # re-checked and pinned, without the credentials
    allow_loopback_for_tests = false  # tests only: lets the fake provider on 127.0.0.1 in

    [providers.twilio]
    api_base = "https://api.twilio.com"
    account_sid = "AC…"             # recordings of other accounts are refused
    api_key_sid = ""                # optional: basic auth with an API key instead

    [providers.telnyx]
    api_base = "https://api.telnyx.com"

Credentials come from the environment only, never the file: ``CALLREC_TWILIO_AUTH_TOKEN``
(or ``CALLREC_TWILIO_API_SECRET`` with ``api_key_sid``) and ``CALLREC_TELNYX_API_KEY``. A
provider without its table or without credentials is off: its jobs fail with a clear
reason. Errors name the TOML path, never a value.

Why an allow-list of (host, port) rather than of URLs: media URLs are *derived* from the
recording id and the API base here (RELIABILITY S1), so the only URLs ever fetched are
those bases plus, for Telnyx, the download links its API returns, which must be on
``allowed_hosts`` too.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from recorder.config import Config
from recorder.errors import ConfigError

ENV_TWILIO_TOKEN = "CALLREC_TWILIO_AUTH_TOKEN"  # noqa: S105 - a variable name
ENV_TWILIO_API_SECRET = "CALLREC_TWILIO_API_SECRET"  # noqa: S105 - a variable name
ENV_TELNYX_KEY = "CALLREC_TELNYX_API_KEY"

TWILIO_ACCOUNT = re.compile(r"AC[0-9a-f]{32}")
TWILIO_API_KEY = re.compile(r"SK[0-9a-f]{32}")
#: A DNS host name as the allow-list accepts it: lower-case ASCII labels, no IP literals.
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
HOST_NAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ALL_NUMERIC = re.compile(r"[0-9.]+|0x[0-9a-f.x]+")


@dataclass(frozen=True, slots=True)
class Endpoint:
    """An HTTPS origin: host name (lower-case) and port."""

    host: str
    port: int = 443

    def __str__(self) -> str:
        return self.host if self.port == 443 else f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioAccess:
    """Twilio REST access: base origin, account, basic-auth credentials."""

    base: Endpoint
    account_sid: str
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class TelnyxAccess:
    """Telnyx API v2 access: base origin and bearer key."""

    base: Endpoint
    api_key: str = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchSettings:
    """Validated ``[providers]`` settings."""

    twilio: TwilioAccess | None = None
    telnyx: TelnyxAccess | None = None
    extra_hosts: frozenset[Endpoint] = frozenset()
    ca_file: Path | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0
    transfer_timeout: float = 600.0
    max_bytes: int = 256 * 1024 * 1024
    max_duration_seconds: int = 4 * 3600
    max_attempts: int = 5
    backoff_seconds: float = 2.0
    backoff_max_seconds: float = 300.0
    lease_seconds: float = 900.0
    delete_after_capture: bool = False
    max_redirects: int = 0
    allow_loopback_for_tests: bool = False

    @property
    def allowed(self) -> frozenset[Endpoint]:
        """Every origin a connection may go to: the API bases and ``allowed_hosts``."""
        bases = {a.base for a in (self.twilio, self.telnyx) if a is not None}
        return frozenset(bases) | self.extra_hosts


def parse_endpoint(text: Any, where: str, *, with_scheme: bool) -> Endpoint:
    """``https://host[:port]`` (``with_scheme``) or ``host[:port]`` → :class:`Endpoint`.

    Refused: another scheme, userinfo, a path/query/fragment, an IP literal in any
    notation, a name that is not plain lower-case ASCII DNS (IDN must be given as
    ``xn--``), a port outside 1-65535.
    """
    if not isinstance(text, str) or not text or len(text) > 255:
        raise ConfigError(f"{where}: expected a host name")
    raw = text if with_scheme else f"https://{text}"
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        raise ConfigError(f"{where}: not a valid https origin") from None
    host = parts.hostname or ""
    if parts.scheme != "https" or not raw.startswith("https://"):
        raise ConfigError(f"{where}: must be an https:// URL")
    if "@" in parts.netloc or parts.username is not None:
        raise ConfigError(f"{where}: must not contain user info")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(f"{where}: must be an origin without path, query or fragment")
    if not HOST_NAME.fullmatch(host) or _ALL_NUMERIC.fullmatch(host) or host != host.lower():
        raise ConfigError(f"{where}: must be a DNS host name (no IP address, ASCII only)")
    if parts.netloc.split(":")[0] != host:
        raise ConfigError(f"{where}: host must be written in lower case")
    if port is not None and not 1 <= port <= 65535:
        raise ConfigError(f"{where}: port out of range")
    return Endpoint(host=host, port=port or 443)


def _number(table: Mapping[str, Any], key: str, default: float, low: float, high: float) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"providers.{key}: expected a number from {low:g} to {high:g}")
    return float(value)


def _bool(table: Mapping[str, Any], key: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"providers.{key}: expected true or false")
    return value


def _sub(table: Mapping[str, Any], key: str) -> Mapping[str, Any] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise ConfigError(f"[providers.{key}] must be a table")
    return value


def _twilio(raw: Mapping[str, Any] | None, env: Mapping[str, str]) -> TwilioAccess | None:
    if raw is None:
        return None
    base = parse_endpoint(
        raw.get("api_base", "https://api.twilio.com"), "providers.twilio.api_base", with_scheme=True
    )
    account = raw.get("account_sid")
    if not isinstance(account, str) or not TWILIO_ACCOUNT.fullmatch(account):
        raise ConfigError("providers.twilio.account_sid: expected AC followed by 32 hex digits")
    key = raw.get("api_key_sid", "")
    if not isinstance(key, str) or (key and not TWILIO_API_KEY.fullmatch(key)):
        raise ConfigError("providers.twilio.api_key_sid: expected SK followed by 32 hex digits")
    secret = env.get(ENV_TWILIO_API_SECRET if key else ENV_TWILIO_TOKEN, "")
    if not secret:
        return None
    return TwilioAccess(base=base, account_sid=account, username=key or account, password=secret)


def _telnyx(raw: Mapping[str, Any] | None, env: Mapping[str, str]) -> TelnyxAccess | None:
    if raw is None:
        return None
    base = parse_endpoint(
        raw.get("api_base", "https://api.telnyx.com"), "providers.telnyx.api_base", with_scheme=True
    )
    key = env.get(ENV_TELNYX_KEY, "")
    if not key or any(c.isspace() for c in key) or not key.isascii():
        return None
    return TelnyxAccess(base=base, api_key=key)


def parse_providers(
    table: Mapping[str, Any], environ: Mapping[str, str] | None = None
) -> FetchSettings:
    """Validate a ``[providers]`` table; credentials are read from ``environ``."""
    env = os.environ if environ is None else environ
    hosts = table.get("allowed_hosts", [])
    if not isinstance(hosts, list) or len(hosts) > 64:
        raise ConfigError("providers.allowed_hosts: expected a list of host names")
    extra = frozenset(
        parse_endpoint(h, f"providers.allowed_hosts[{i}]", with_scheme=False)
        for i, h in enumerate(hosts)
    )
    ca = table.get("ca_file", "")
    if not isinstance(ca, str):
        raise ConfigError("providers.ca_file: expected a path")
    backoff = _number(table, "backoff_seconds", 2, 0.001, 3600)
    settings = FetchSettings(
        twilio=_twilio(_sub(table, "twilio"), env),
        telnyx=_telnyx(_sub(table, "telnyx"), env),
        extra_hosts=extra,
        ca_file=Path(ca) if ca else None,
        connect_timeout=_number(table, "connect_timeout_seconds", 5, 0.01, 120),
        read_timeout=_number(table, "read_timeout_seconds", 30, 0.01, 600),
        transfer_timeout=_number(table, "transfer_timeout_seconds", 600, 0.01, 4 * 3600),
        max_bytes=int(_number(table, "max_bytes", 256 * 1024 * 1024, 1024, 2**31)),
        max_duration_seconds=int(_number(table, "max_duration_seconds", 4 * 3600, 1, 24 * 3600)),
        max_attempts=int(_number(table, "max_attempts", 5, 1, 100)),
        backoff_seconds=backoff,
        backoff_max_seconds=_number(
            table, "backoff_max_seconds", max(300, backoff), backoff, 86400
        ),
        lease_seconds=_number(table, "lease_seconds", 900, 1, 86400),
        delete_after_capture=_bool(table, "delete_after_capture"),
        max_redirects=int(_number(table, "max_redirects", 0, 0, 3)),
        allow_loopback_for_tests=_bool(table, "allow_loopback_for_tests"),
    )
    if settings.ca_file is not None and not settings.ca_file.is_file():
        raise ConfigError("providers.ca_file: no such file")
    return settings


def fetch_settings(config: Config, environ: Mapping[str, str] | None = None) -> FetchSettings:
    """The ``[providers]`` table of ``config``, validated (defaults when absent)."""
    return parse_providers(config.section("providers"), environ)
