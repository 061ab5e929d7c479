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
    ├── AccessDenied       the principal may not do this to this call (exit 3); ``.reason``
    ├── BadSignature       a webhook's authentication headers are missing, duplicated,
    │                      garbled, outside the time window, or do not match (HTTP 401/403)
    └── MalformedRequest   a webhook request refused before authentication: over a size
                           limit (``.too_large``: HTTP 413), too many fields, a header too
                           long, a body that is not what its type says (HTTP 400)
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


class AccessDenied(RecorderError):
    """The principal may not perform the action on the call."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"access denied: {reason}")
        self.reason = reason


class BadSignature(RecorderError):
    """A webhook failed authentication. The message says which check, never a secret."""


class MalformedRequest(RecorderError):
    """A webhook request that is refused unread; ``too_large`` marks a size limit (413)."""

    def __init__(self, message: str, *, too_large: bool = False) -> None:
        super().__init__(message)
        self.too_large = too_large
