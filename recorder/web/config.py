"""The ``[webhooks]`` table: which endpoints are on, their secrets, and the HTTP limits.

::

    [webhooks]
    public_base_url = "https://hooks.example.com"  # what Twilio was told (no trailing /)
    trust_forwarded = false        # true only behind a proxy that sets X-Forwarded-*
    max_body = 65536               # bytes, Twilio/Telnyx bodies (W7)
    max_fields = 100               # form fields
    max_header = 8192              # bytes, one header
    max_headers = 128
    body_timeout_seconds = 30      # a whole Twilio/Telnyx body, and each upload chunk (408)
    header_timeout_seconds = 10    # a request's headers must be complete within this
    max_connections = 1000         # open connections at most; more are answered 503

    [webhooks.twilio]
    auth_tokens = ["..."]          # primary, then the previous one during rotation
    [webhooks.telnyx]
    public_keys = ["base64 of 32 bytes"]   # from the Telnyx portal; two during rotation
    [webhooks.upload]
    secrets = ["whsec_..."]        # Standard Webhooks secret(s) of your PBX uploader
    max_bytes = 268435456          # largest upload (metadata + audio)
    body_deadline_seconds = 600    # a whole upload body, however it trickles in (408)
    max_concurrent = 4             # upload bodies read at once; more are answered 503

Secrets should come from the environment rather than the file; an environment variable,
when set, replaces the file's list:

=====================================  ============================================
``CALLREC_TWILIO_AUTH_TOKEN``          Twilio auth token (primary)
``CALLREC_TWILIO_AUTH_TOKEN_PREVIOUS`` the token being rotated out (optional)
``CALLREC_TELNYX_PUBLIC_KEY``          Telnyx public key (comma-separated for two)
``CALLREC_UPLOAD_SECRET``              Standard Webhooks secret (primary)
``CALLREC_UPLOAD_SECRET_PREVIOUS``     the secret being rotated out (optional)
=====================================  ============================================

An endpoint without a secret is off (404). Errors name the TOML path, never a value.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from recorder.config import Config
from recorder.errors import ConfigError
from recorder.ingest.verify import (
    Limits,
    Secret,
    StandardWebhooksConfig,
    TelnyxConfig,
    TwilioConfig,
)

#: Largest generic upload by default: the audio decoder's own cap (256 MiB).
DEFAULT_UPLOAD_MAX = 256 * 1024 * 1024
DEFAULT_BODY_TIMEOUT = 30.0
DEFAULT_HEADER_TIMEOUT = 10.0
DEFAULT_UPLOAD_DEADLINE = 600.0
DEFAULT_UPLOAD_CONCURRENT = 4
DEFAULT_MAX_CONNECTIONS = 1000

ENV_TWILIO = ("CALLREC_TWILIO_AUTH_TOKEN", "CALLREC_TWILIO_AUTH_TOKEN_PREVIOUS")
ENV_TELNYX = "CALLREC_TELNYX_PUBLIC_KEY"
ENV_UPLOAD = ("CALLREC_UPLOAD_SECRET", "CALLREC_UPLOAD_SECRET_PREVIOUS")


@dataclass(frozen=True, slots=True, kw_only=True)
class WebSettings:
    """Validated webhook settings; ``None`` means that endpoint is off."""

    twilio: TwilioConfig | None = field(default=None, repr=False)
    telnyx: TelnyxConfig | None = None
    upload: StandardWebhooksConfig | None = field(default=None, repr=False)
    limits: Limits = field(default_factory=Limits)
    upload_max_bytes: int = DEFAULT_UPLOAD_MAX
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    header_timeout: float = DEFAULT_HEADER_TIMEOUT
    upload_deadline: float = DEFAULT_UPLOAD_DEADLINE
    upload_concurrent: int = DEFAULT_UPLOAD_CONCURRENT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


def _table(raw: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{where}.{key}] must be a table")
    return value


def _int(raw: Mapping[str, Any], key: str, where: str, default: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}.{key}: expected a positive integer")
    return value


def _seconds(raw: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 86400:
        raise ConfigError(f"{where}.{key}: expected a number of seconds (0 to 86400)")
    return float(value)


def _strings(raw: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ConfigError(f"{where}.{key}: expected a list of non-empty strings")
    return list(value)


def _from_env(names: tuple[str, ...], environ: Mapping[str, str]) -> list[str] | None:
    found = [environ[n].strip() for n in names if environ.get(n, "").strip()]
    return found or None


def load_web_settings(config: Config, environ: Mapping[str, str] | None = None) -> WebSettings:
    """Parse ``[webhooks]`` of ``config`` (and the secret environment variables)."""
    env = os.environ if environ is None else environ
    raw = config.section("webhooks")
    where = "webhooks"
    default = Limits()
    limits = Limits(
        max_body=_int(raw, "max_body", where, default.max_body),
        max_fields=_int(raw, "max_fields", where, default.max_fields),
        max_header=_int(raw, "max_header", where, default.max_header),
        max_headers=_int(raw, "max_headers", where, default.max_headers),
    )
    timeout = _seconds(raw, "body_timeout_seconds", where, DEFAULT_BODY_TIMEOUT)
    base = raw.get("public_base_url")
    if base is not None and not isinstance(base, str):
        raise ConfigError(f"{where}.public_base_url: expected a string")
    forwarded = raw.get("trust_forwarded", False)
    if not isinstance(forwarded, bool):
        raise ConfigError(f"{where}.trust_forwarded: expected true or false")

    twilio_raw = _table(raw, "twilio", where)
    tokens = _from_env(ENV_TWILIO, env) or _strings(twilio_raw, "auth_tokens", f"{where}.twilio")
    twilio = None
    if tokens:
        try:
            twilio = TwilioConfig(
                auth_tokens=tuple(Secret(t) for t in tokens),
                public_base_url=base,
                trust_forwarded=forwarded,
                limits=limits,
            )
        except ConfigError as exc:
            raise ConfigError(f"[{where}.twilio]: {exc}") from None

    telnyx_raw = _table(raw, "telnyx", where)
    env_keys = env.get(ENV_TELNYX, "").strip()
    keys = [k.strip() for k in env_keys.split(",") if k.strip()] if env_keys else None
    keys = keys or _strings(telnyx_raw, "public_keys", f"{where}.telnyx")
    telnyx = None
    if keys:
        try:
            telnyx = TelnyxConfig(public_keys=tuple(keys), limits=limits)
        except ConfigError as exc:
            raise ConfigError(f"[{where}.telnyx]: {exc}") from None

    upload_raw = _table(raw, "upload", where)
    secrets = _from_env(ENV_UPLOAD, env) or _strings(upload_raw, "secrets", f"{where}.upload")
    upload = None
    if secrets:
        try:
            upload = StandardWebhooksConfig(
                secrets=tuple(Secret(s) for s in secrets), limits=limits
            )
        except ConfigError as exc:
            raise ConfigError(f"[{where}.upload]: {exc}") from None
    return WebSettings(
        twilio=twilio,
        telnyx=telnyx,
        upload=upload,
        limits=limits,
        upload_max_bytes=_int(upload_raw, "max_bytes", f"{where}.upload", DEFAULT_UPLOAD_MAX),
        body_timeout=timeout,
        header_timeout=_seconds(raw, "header_timeout_seconds", where, DEFAULT_HEADER_TIMEOUT),
        upload_deadline=_seconds(
            upload_raw, "body_deadline_seconds", f"{where}.upload", DEFAULT_UPLOAD_DEADLINE
        ),
        upload_concurrent=_int(
            upload_raw, "max_concurrent", f"{where}.upload", DEFAULT_UPLOAD_CONCURRENT
        ),
        max_connections=_int(raw, "max_connections", where, DEFAULT_MAX_CONNECTIONS),
    )
