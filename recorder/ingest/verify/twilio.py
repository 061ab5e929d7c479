"""Twilio ``X-Twilio-Signature``, computed exactly as Twilio's own ``RequestValidator``.

Signed string = the full public URL Twilio requested, then - for a form-encoded POST -
every parameter name followed by its value, names sorted, a repeated name's distinct
values sorted (``sorted(set(values))``, as the validator does). HMAC-SHA1 with the auth
token (or HMAC-SHA256 with a SharedKey when ``X-Twilio-Webhooks-Signature-Settings``
names that algorithm), base64. Both the URL with and without its port are tried
(``:443``/``:80`` added when absent, any port removed when present), because Twilio's own
signing is inconsistent about it. A JSON body is not in the signed string: the URL then
carries ``bodySHA256`` (signed as part of the URL) and the body's SHA-256 hex must match.

The public URL is ``public_base_url`` + the request target, or, with
``trust_forwarded=True`` (only behind a proxy that sets these headers itself),
``X-Forwarded-Proto`` :// ``X-Forwarded-Host`` (else ``Host``) [``:X-Forwarded-Port``] +
target. The right-most item of each list header is used: the one the nearest proxy set.

Twilio signatures carry no timestamp: a replay verifies (W4); deduplication is the job
table's business, keyed by the recording id.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from urllib.parse import ParseResult, parse_qs, parse_qsl, urlparse, urlsplit

from recorder.errors import BadSignature, ConfigError, MalformedRequest
from recorder.ingest.verify._common import (
    HeaderInput,
    Headers,
    Limits,
    Secret,
    b64_exact,
    require,
    secrets_tuple,
)

SIGNATURE_HEADER = "x-twilio-signature"
SETTINGS_HEADER = "x-twilio-webhooks-signature-settings"
HMAC_SHA1 = "HMAC_SHA1"
HMAC_SHA256 = "HMAC_SHA256"
FORM_TYPE = "application/x-www-form-urlencoded"

_ALGORITHMS = {HMAC_SHA1: ("sha1", 20), HMAC_SHA256: ("sha256", 32)}
_HOST = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.\-]{0,252})(?::[0-9]{1,5})?")
_PORT = re.compile(r"[0-9]{1,5}")
_TARGET = re.compile(r"/[!-\"$-~]*")  # origin-form, printable ASCII, no '#'
_FORM = re.compile(r"[!-~]*")  # urlencoded bodies are printable ASCII, no raw spaces
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioConfig:
    """Twilio verification settings.

    ``auth_tokens``: the primary and, during rotation, the secondary auth token (a
    SharedKey secret may be listed too). ``public_base_url``: scheme://host[:port][/prefix]
    as configured in Twilio, without a trailing slash. ``trust_forwarded``: rebuild the
    URL from ``X-Forwarded-*`` (falls back to ``public_base_url`` when no
    ``X-Forwarded-Proto`` came). At least one of the two must be set.
    """

    auth_tokens: tuple[Secret, ...] = field(repr=False)
    public_base_url: str | None = None
    trust_forwarded: bool = False
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        object.__setattr__(self, "auth_tokens", secrets_tuple(self.auth_tokens, "twilio"))
        if self.public_base_url is not None:
            object.__setattr__(self, "public_base_url", _base_url(self.public_base_url))
        elif not self.trust_forwarded:
            raise ConfigError("twilio: set public_base_url, or trust_forwarded behind a proxy")


@dataclass(frozen=True, slots=True, kw_only=True)
class TwilioRequest:
    """A verified Twilio request: use these params, never a re-parse of the body."""

    url: str
    params: tuple[tuple[str, str], ...]
    algorithm: str


def _base_url(value: object) -> str:
    if not isinstance(value, str) or not value.isascii() or not value.isprintable():
        raise ConfigError("twilio: public_base_url must be an ASCII URL")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ConfigError("twilio: public_base_url is not a valid URL") from None
    if (
        parts.scheme not in ("http", "https")
        or not _HOST.fullmatch(parts.netloc)
        or port == 0
        or parts.query
        or parts.fragment
        or "#" in value
        or " " in value
        or value.endswith("?")
    ):
        raise ConfigError(
            "twilio: public_base_url must be http(s)://host[:port][/path], "
            "without user info, query or fragment"
        )
    return value.rstrip("/")


def _target(target: str | bytes, limits: Limits) -> str:
    if isinstance(target, bytes):
        try:
            target = target.decode("ascii")
        except UnicodeDecodeError:
            raise MalformedRequest("request target is not ASCII") from None
    if len(target) > limits.max_header:
        raise MalformedRequest(f"request target longer than {limits.max_header} bytes")
    if not _TARGET.fullmatch(target):
        raise MalformedRequest("request target must be a path (and query) starting with /")
    return target


def _host(value: str, name: str) -> str:
    if not _HOST.fullmatch(value):
        raise MalformedRequest(f"{name}: not a host name")
    _, _, port = value.partition(":")
    if port and int(port) > 65535:
        raise MalformedRequest(f"{name}: port out of range")
    return value


def _public_url(target: str, headers: Headers, config: TwilioConfig) -> str:
    if config.trust_forwarded:
        proto = headers.last_item("x-forwarded-proto")
        if proto is not None:
            proto = proto.lower()
            if proto not in ("http", "https"):
                raise MalformedRequest("x-forwarded-proto: expected http or https")
            name = "x-forwarded-host"
            host = headers.last_item(name)
            if host is None:
                name, host = "host", headers.single("host")
            if host is None:
                raise MalformedRequest("no x-forwarded-host or host header")
            host = _host(host, name)
            port = headers.last_item("x-forwarded-port")
            if port is not None and ":" not in host:
                if not _PORT.fullmatch(port) or int(port) > 65535:
                    raise MalformedRequest("x-forwarded-port: not a port")
                host = f"{host}:{port}"
            return f"{proto}://{host}{target}"
    if config.public_base_url is None:
        raise MalformedRequest("x-forwarded-proto: missing; the public URL is unknown")
    return config.public_base_url + target


def twilio_public_url(target: str | bytes, headers: HeaderInput, *, config: TwilioConfig) -> str:
    """The public URL a request for ``target`` (raw path + ``?`` + raw query) was sent to."""
    return _public_url(_target(target, config.limits), Headers(headers, config.limits), config)


def _without_port(uri: ParseResult) -> str:
    """twilio.request_validator.remove_port, reproduced."""
    if not uri.port:
        return uri.geturl()
    return uri._replace(netloc=uri.netloc.split(":")[0]).geturl()


def _with_port(uri: ParseResult) -> str:
    """twilio.request_validator.add_port, reproduced."""
    if uri.port:
        return uri.geturl()
    port = 443 if uri.scheme == "https" else 80
    return uri._replace(netloc=uri.netloc + ":" + str(port)).geturl()


def _algorithm(settings: str | None) -> str:
    """twilio.request_validator.get_signature_algorithm, then the validator's check."""
    algorithm = HMAC_SHA1
    for part in (settings or "").split(","):
        name, separator, value = part.partition("=")
        if separator and name.strip() == "algorithm" and value.strip():
            algorithm = value.strip()
            break
    algorithm = algorithm.upper()
    if algorithm not in _ALGORITHMS:
        raise BadSignature(f"{SETTINGS_HEADER}: unsupported signature algorithm")
    return algorithm


def _form(body: bytes, limits: Limits) -> tuple[tuple[str, str], ...]:
    if not body:
        return ()
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedRequest("form body: not ASCII") from None
    if not _FORM.fullmatch(text) or _BAD_ESCAPE.search(text):
        raise MalformedRequest("form body: not urlencoded")
    if text.count("&") + 1 > limits.max_fields:
        raise MalformedRequest(f"form body: more than {limits.max_fields} fields")
    try:
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=limits.max_fields,
        )
    except ValueError:  # a field without '=', an empty field, bad UTF-8 in an escape
        raise MalformedRequest("form body: not urlencoded UTF-8") from None
    if any(not name for name, _ in pairs):
        raise MalformedRequest("form body: empty field name")
    return tuple(pairs)


def _signed_params(
    body: bytes, headers: Headers, query: str, limits: Limits
) -> tuple[tuple[str, str], ...]:
    content_type = headers.single("content-type") or ""
    if content_type.split(";", 1)[0].strip().lower() == FORM_TYPE:
        return _form(body, limits)
    body_sha = parse_qs(query).get("bodySHA256")  # the validator's own parse, first value
    if body_sha is not None:
        digest = hashlib.sha256(body).hexdigest().encode("ascii")
        if not hmac.compare_digest(digest, body_sha[0].encode("utf-8")):
            raise BadSignature("bodySHA256 does not match the body")
        return ()
    if body:
        raise MalformedRequest("body is neither form-encoded nor covered by bodySHA256")
    return ()


def _params_suffix(params: tuple[tuple[str, str], ...]) -> str:
    grouped: dict[str, set[str]] = {}
    for name, value in params:
        grouped.setdefault(name, set()).add(value)
    return "".join(name + value for name in sorted(grouped) for value in sorted(grouped[name]))


def verify_twilio(
    body: bytes, headers: HeaderInput, *, target: str | bytes, config: TwilioConfig
) -> TwilioRequest:
    """Verify a Twilio webhook; return its URL and the (signed) form params.

    ``target`` is the raw request target as received: path + ``?`` + query, still
    percent-encoded (ASGI ``raw_path`` and ``query_string``, prefixed by ``root_path``
    when the app is mounted below the public path).
    """
    limits = config.limits
    limits.check_body(body)
    view = Headers(headers, limits)
    header = require(view, SIGNATURE_HEADER)
    algorithm = _algorithm(view.one(SETTINGS_HEADER))
    hash_name, size = _ALGORITHMS[algorithm]
    signature = b64_exact(header, size)
    if signature is None:
        raise BadSignature(f"{SIGNATURE_HEADER}: not a base64 {algorithm} digest")
    url = _public_url(_target(target, limits), view, config)
    parsed = urlparse(url)
    try:
        parsed.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise MalformedRequest("public URL has an invalid port") from None
    params = _signed_params(body, view, parsed.query, limits)
    suffix = _params_suffix(params)
    messages = {
        (candidate + suffix).encode("utf-8")
        for candidate in (_without_port(parsed), _with_port(parsed))
    }
    matched = False
    for token in config.auth_tokens:
        key = token.reveal()
        for message in messages:
            mac = hmac.new(key, message, hash_name).digest()
            matched |= hmac.compare_digest(mac, signature)
    if not matched:
        raise BadSignature(f"{SIGNATURE_HEADER}: does not match")
    return TwilioRequest(url=url, params=params, algorithm=algorithm)
