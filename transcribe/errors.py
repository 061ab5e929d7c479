"""The one exception tree of the transcribe package.

::

    TranscribeError
    └── (engine, redaction and summariser errors arrive with the AI-path issue)
"""


class TranscribeError(Exception):
    """Root of every error raised by the transcribe package."""
