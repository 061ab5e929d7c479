"""The one exception tree of the recorder package.

Storage errors (:class:`storage.errors.StorageError`) pass through unchanged; the CLI maps
both trees to exit codes. Messages never carry phone numbers, transcript text or keys.

::

    RecorderError
    ├── ConfigError        configuration or paths unusable (exit 2, like a usage error)
    ├── SelfCheckFailed    the storage self-check found a broken step (exit 1)
    ├── InvalidAudio       audio that cannot be decoded safely (lying header, wrong format,
    │                      over the size/duration cap); nothing of it is stored
    ├── InvalidEvent       call metadata (sidecar, CLI options, webhook body) is malformed
    │   └── InvalidChat    a chat delivery or chat file is malformed, too large, too deep,
    │                      or names an unknown advisor or topic; nothing of it is stored
    ├── AccessDenied       the principal may not do this to this call (exit 3); ``.reason``
    │   ├── InvalidGrant   a playback grant is expired, tampered, for another user or
    │   │                  recording, or of an unknown version (``.reason`` says which)
    │   ├── BadAssertion   the online bank's sign-in assertion is missing, malformed,
    │   │                  unsigned, for another audience or expired (HTTP 401)
    │   └── SecretRefused  a chat self-service request whose chat is unknown or whose
    │                      secret is wrong, spent or expired: one answer for all (HTTP 404)
    ├── QaError            a QA request is invalid: bad rate or seed, unknown criterion,
    │                      score off the scale, comment too long, not a reviewer (exit 1)
    ├── BadSignature       a webhook's authentication headers are missing, duplicated,
    │                      garbled, outside the time window, or do not match (HTTP 401/403)
    ├── MalformedRequest   a webhook request refused before authentication: over a size
    │                      limit (``.too_large``: HTTP 413), too many fields, a header too
    │                      long, a body that is not what its type says (HTTP 400)
    ├── BundleError        a data-subject export bundle cannot be made or opened (wrong
    │   │                  passphrase or key, damaged, not a bundle); nothing is written
    │   └── BundleExpired  the bundle's expiry date (inside its authenticated header) passed
    ├── RateLimited        too many self-service requests from one client or for one chat
    │                      (HTTP 429, ``.retry_after`` seconds)
    ├── FetchError         provider media could not be fetched (``.retryable``)
    │   └── FetchRefused   the outbound policy refused a URL or address (SSRF guard)
    └── SignInFailed       a web sign-in was refused: wrong user or password, too many
                           attempts (``.throttled``: HTTP 429), an identity provider's
                           token that does not verify, a user not in the org chart
"""

from __future__ import annotations


class RecorderError(Exception):
    """Root of every error raised by the recorder package."""


class ConfigError(RecorderError):
    """Configuration or paths are unusable."""


class SelfCheckFailed(RecorderError):
    """A step of the storage self-check failed."""


class InvalidAudio(RecorderError):
    """The audio cannot be decoded safely; the message says why, without any content."""


class InvalidEvent(RecorderError):
    """Call metadata is malformed; the message names the field, never its value."""


class InvalidChat(InvalidEvent):
    """A chat delivery is malformed; the message names the field, never a value or text."""


class AccessDenied(RecorderError):
    """The principal may not perform the action on the call."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"access denied: {reason}")
        self.reason = reason


class InvalidGrant(AccessDenied):
    """A signed playback grant was refused; ``reason`` is a fixed phrase, never the token."""


class BadAssertion(AccessDenied):
    """The online bank's sign-in assertion was refused; ``reason`` is a fixed phrase."""


class SecretRefused(AccessDenied):
    """A self-service request refused without saying whether the chat exists.

    The same message for an unknown chat, a wrong, spent or expired secret and a chat
    that is gone, so the answer tells a guesser nothing.
    """

    def __init__(self) -> None:
        super().__init__("no such chat, or the secret is not valid")


class RateLimited(RecorderError):
    """Too many requests; try again after ``retry_after`` seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("too many requests; try again later")
        self.retry_after = retry_after


class BadSignature(RecorderError):
    """A webhook failed authentication. The message says which check, never a secret."""


class MalformedRequest(RecorderError):
    """A webhook request that is refused unread; ``too_large`` marks a size limit (413)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large


class QaError(RecorderError):
    """A QA sampling/review/score request is invalid; the message names the field."""


class BundleError(RecorderError):
    """An export bundle cannot be made or opened; the message says why, never a secret."""


class BundleExpired(BundleError):
    """The export bundle is past the expiry date written (authenticated) in its header."""


class FetchError(RecorderError):
    """Provider media could not be fetched. ``retryable``: worth another attempt later
    (5xx, 429, reset, timeout, short body, wrong type); otherwise the job fails at once."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


class FetchRefused(FetchError):
    """A media URL or address refused by the outbound policy (SSRF guard: scheme, host not
    allow-listed, userinfo, IP literal, private/loopback/metadata address, redirect). Never
    retried, and no connection was opened."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=False)


class SignInFailed(RecorderError):
    """A web sign-in was refused; ``reason`` is a fixed phrase (audited), never the input.

    The message shown to the person is the same for every refusal except throttling, so
    it never tells whether a user name exists.
    """

    def __init__(self, reason: str, *, throttled: bool = False) -> None:
        super().__init__(f"sign-in refused: {reason}")
        self.reason = reason
        self.throttled = throttled
