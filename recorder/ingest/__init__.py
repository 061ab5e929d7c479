"""Ingest adapters: each turns a platform's delivery into :class:`CallEvent` objects.

An adapter is a small protocol with an in-memory twin for tests (httpx ``BaseTransport`` /
``MockTransport`` style). Adapters never see HTTP: web endpoints hand them bytes and
headers. Adapters never store anything: capture does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from recorder.models import CallEvent


class IngestAdapter(Protocol):
    """A source of finished calls."""

    source: str

    def events(self) -> Iterator[CallEvent]:
        """The calls ready for capture now."""
        ...
