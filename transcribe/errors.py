"""The one exception tree of the transcribe package.

::

    TranscribeError
    ├── EngineUnavailable        the model is missing or fails to load (never downloaded)
    ├── UnsupportedLanguage      the configured model cannot transcribe the requested language
    ├── TranscriptionFailed      the engine failed on audio it had accepted
    ├── BadAudio                 samples or PCM bytes of the wrong shape, type, rate or length
    ├── BadTranscript            a transcript (object or ``to_dict`` form) breaks the schema
    ├── BadTopics                the topic configuration table is malformed (names its TOML path)
    └── BadSummary               a summary (``to_dict`` form) breaks the schema

Errors of the speech library are translated in ``transcribe/engine.py`` only, the module
that owns it (``raise EngineUnavailable(...) from exc``). Messages name paths, languages,
field positions and counts, never transcript text.
"""


class TranscribeError(Exception):
    """Root of every error raised by the transcribe package."""


class EngineUnavailable(TranscribeError):
    """The speech model is missing, incomplete or failed to load.

    Never an invitation to download: the model is a local directory or nothing.
    """


class UnsupportedLanguage(TranscribeError):
    """The model cannot transcribe this language (e.g. ``"sv"`` on the English-only ``tiny.en``)."""


class TranscriptionFailed(TranscribeError):
    """The speech engine raised while transcribing audio it had accepted."""


class BadAudio(TranscribeError):
    """Audio handed to the package is not what it claims (dtype, shape, rate, byte length)."""


class BadTranscript(TranscribeError):
    """A transcript breaks the schema: unknown version, wrong shape, impossible times."""


class BadTopics(TranscribeError):
    """The topic table (``[ai.topics]``-style configuration) is malformed.

    The message names the TOML path of the bad entry, never the call's text.
    """


class BadSummary(TranscribeError):
    """A summary (object or ``to_dict`` form) breaks the schema."""
