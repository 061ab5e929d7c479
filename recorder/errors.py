"""The one exception tree of the recorder package.

Storage errors (:class:`storage.errors.StorageError`) pass through unchanged; the CLI maps
both trees to exit codes. Messages never carry phone numbers, transcript text or keys.

::

    RecorderError
    ├── ConfigError       configuration or paths unusable (exit 2, like a usage error)
    └── SelfCheckFailed   the storage self-check found a broken step (exit 1)
"""

from __future__ import annotations


class RecorderError(Exception):
    """Root of every error raised by the recorder package."""


class ConfigError(RecorderError):
    """Configuration or paths are unusable."""


class SelfCheckFailed(RecorderError):
    """A step of the storage self-check failed."""
