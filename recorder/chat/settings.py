"""The ``[chat]`` table: platforms, classes per phase, redaction, IP, self-service, history.

::

    [chat]
    platforms = ["webchat"]        # what a delivery may name as its "platform"
    languages = ["no", "en"]       # number words redacted (plus each chat's own language)
    topics = ["card", "loan"]      # topic names a delivery may give (others count as "other")
    ip = "truncated"               # "truncated" (/24, /48) or "none"; never the full address
    max_bytes = 262144             # largest delivery or chat file
    max_messages = 5000            # largest conversation
    [chat.classes]                 # retention class per phase (each must apply to "chat")
    bot = "chat_bot_1m"
    advisor = "chat_advisor_18m"
    complaint = "chat_complaint_42m"
    [chat.selfservice]
    secret_days = 30               # a secret works this long (never past the chat's expiry)
    per_minute = 10                # requests per client address and per chat
    [chat.history]                 # the online bank's chat history (off when absent)
    visible_months = 36
    audience = "callrec-chat-history"
    public_keys = ["<base64 of the bank's 32-byte Ed25519 public key>"]   # none: all refused
    max_age_seconds = 300

The chat webhook's Standard Webhooks secret is ``[webhooks.chat] secrets`` or, better,
``CALLREC_CHAT_SECRET`` (and ``CALLREC_CHAT_SECRET_PREVIOUS`` while rotating); the bank's
key may come from ``CALLREC_CHAT_HISTORY_KEY``. Errors name the TOML path, never a value.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from recorder.config import Config
from recorder.errors import ConfigError
from recorder.ingest.verify import Secret, StandardWebhooksConfig
from recorder.retention import RetentionClass, load_classes

PHASES: Final = ("bot", "advisor", "complaint")
LANGUAGES: Final = ("en", "no", "sv", "da", "fi")
IP_MODES: Final = ("truncated", "none")
DEFAULT_CLASSES: Final = {
    "bot": "chat_bot_1m",
    "advisor": "chat_advisor_18m",
    "complaint": "chat_complaint_42m",
}
ENV_SECRET: Final = ("CALLREC_CHAT_SECRET", "CALLREC_CHAT_SECRET_PREVIOUS")
ENV_HISTORY_KEY: Final = "CALLREC_CHAT_HISTORY_KEY"
_KEYS: Final = frozenset(
    {
        "platforms",
        "languages",
        "topics",
        "ip",
        "max_bytes",
        "max_messages",
        "classes",
        "selfservice",
        "history",
    }
)
_HISTORY_KEYS: Final = frozenset({"visible_months", "audience", "public_keys", "max_age_seconds"})
_TOPIC_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyz_")


@dataclass(frozen=True, slots=True, kw_only=True)
class HistorySettings:
    """The logged-in history: how long a chat stays visible and whose assertions count."""

    visible_months: int
    audience: str
    public_keys: tuple[bytes, ...] = field(repr=False)
    max_age_seconds: int = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatSettings:
    """The validated ``[chat]`` table (and the chat webhook's secret)."""

    platforms: tuple[str, ...] = ("webchat",)
    languages: tuple[str, ...] = ("en",)
    topics: tuple[str, ...] = ()
    ip: str = "truncated"
    max_bytes: int = 256 * 1024
    max_messages: int = 5000
    classes: Mapping[str, RetentionClass] = field(default_factory=dict)
    secret_days: int = 30
    per_minute: int = 10
    history: HistorySettings | None = None
    webhook: StandardWebhooksConfig | None = field(default=None, repr=False)

    def class_for(self, phase: str) -> RetentionClass:
        """The retention class of a chat in ``phase`` (``bot``, ``advisor``, ``complaint``)."""
        return self.classes[phase]


def _table(
    raw: Mapping[str, Any], key: str, where: str, known: frozenset[str] | None = None
) -> Mapping[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{where}.{key}] must be a table")
    unknown = sorted(set(value) - known) if known is not None else []
    if unknown:
        raise ConfigError(f"{where}.{key}.{unknown[0]}: unknown key")
    return value


def _names(raw: Mapping[str, Any], key: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = raw.get(key, list(default))
    ok = isinstance(value, list) and all(
        isinstance(v, str) and 1 <= len(v) <= 32 and set(v) <= _TOPIC_CHARS for v in value
    )
    if not ok:
        raise ConfigError(f"chat.{key}: expected a list of lower-case names (a-z, _)")
    return tuple(dict.fromkeys(value))


def _int(raw: Mapping[str, Any], key: str, where: str, default: int, high: int) -> int:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise ConfigError(f"{where}.{key}: expected a whole number from 1 to {high}")
    return value


def _classes(config: Config, raw: Mapping[str, Any]) -> dict[str, RetentionClass]:
    known = load_classes(config)
    out: dict[str, RetentionClass] = {}
    for phase in PHASES:
        name = raw.get(phase, DEFAULT_CLASSES[phase])
        cls = known.get(name) if isinstance(name, str) else None
        if cls is None:
            raise ConfigError(f"chat.classes.{phase}: not a configured retention class")
        if "chat" not in cls.applies_to:
            raise ConfigError(f"chat.classes.{phase}: class does not apply to chats")
        out[phase] = cls
    unknown = sorted(set(raw) - set(PHASES))
    if unknown:
        raise ConfigError(f"chat.classes.{unknown[0]}: unknown phase (known: {list(PHASES)})")
    return out


def _keys(values: list[str], where: str) -> tuple[bytes, ...]:
    keys = []
    for text in values:
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise ConfigError(f"{where}: expected base64 of a 32-byte Ed25519 public key")
        keys.append(raw)
    return tuple(keys)


def _history(raw: Mapping[str, Any], env: Mapping[str, str]) -> HistorySettings | None:
    where = "chat.history"
    if not raw:
        return None
    months = _int(raw, "visible_months", where, 36, 120)
    audience = raw.get("audience", "callrec-chat-history")
    if not isinstance(audience, str) or not 1 <= len(audience) <= 128:
        raise ConfigError(f"{where}.audience: expected a short string")
    env_key = env.get(ENV_HISTORY_KEY, "").strip()
    listed = [k for k in env_key.split(",") if k.strip()] if env_key else raw.get("public_keys")
    if listed is None:
        listed = []  # no key yet: every assertion is refused until one is configured
    if not isinstance(listed, list) or not all(isinstance(k, str) for k in listed):
        raise ConfigError(f"{where}.public_keys: expected a list of base64 keys")
    return HistorySettings(
        visible_months=months,
        audience=audience,
        public_keys=_keys(listed, f"{where}.public_keys"),
        max_age_seconds=_int(raw, "max_age_seconds", where, 300, 3600),
    )


def _webhook(config: Config, env: Mapping[str, str]) -> StandardWebhooksConfig | None:
    section = config.section("webhooks").get("chat", {})
    if not isinstance(section, Mapping):
        raise ConfigError("[webhooks.chat] must be a table")
    found = [env[n].strip() for n in ENV_SECRET if env.get(n, "").strip()]
    listed = section.get("secrets", [])
    if not found:
        if not isinstance(listed, list) or not all(isinstance(s, str) and s for s in listed):
            raise ConfigError("webhooks.chat.secrets: expected a list of whsec_ secrets")
        found = list(listed)
    if not found:
        return None
    try:
        return StandardWebhooksConfig(secrets=tuple(Secret(s) for s in found))
    except ConfigError as exc:
        raise ConfigError(f"[webhooks.chat]: {exc}") from None


def load_chat_settings(config: Config, environ: Mapping[str, str] | None = None) -> ChatSettings:
    """Parse ``[chat]`` (and ``[webhooks.chat]``) of ``config``; :class:`ConfigError` if bad."""
    env = os.environ if environ is None else environ
    raw = config.section("chat")
    unknown = sorted(set(raw) - _KEYS)
    if unknown:
        raise ConfigError(f"chat.{unknown[0]}: unknown key")
    languages = raw.get("languages", ["en"])
    if not isinstance(languages, list) or any(lang not in LANGUAGES for lang in languages):
        raise ConfigError(f"chat.languages: expected a list of {list(LANGUAGES)}")
    ip = raw.get("ip", "truncated")
    if ip not in IP_MODES:
        raise ConfigError(f"chat.ip: expected one of {list(IP_MODES)}")
    selfservice = _table(raw, "selfservice", "chat", frozenset({"secret_days", "per_minute"}))
    return ChatSettings(
        platforms=_names(raw, "platforms", ("webchat",)),
        languages=tuple(dict.fromkeys(languages)) or ("en",),
        topics=_names(raw, "topics", ()),
        ip=ip,
        max_bytes=_int(raw, "max_bytes", "chat", 256 * 1024, 16 * 1024 * 1024),
        max_messages=_int(raw, "max_messages", "chat", 5000, 100_000),
        classes=_classes(config, _table(raw, "classes", "chat")),
        secret_days=_int(selfservice, "secret_days", "chat.selfservice", 30, 3650),
        per_minute=_int(selfservice, "per_minute", "chat.selfservice", 10, 10_000),
        history=_history(_table(raw, "history", "chat", _HISTORY_KEYS), env),
        webhook=_webhook(config, env),
    )
