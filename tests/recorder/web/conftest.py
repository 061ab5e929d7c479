"""Fixtures for the webhook server tests: a real server on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.recorder.web.harness import Web, running


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Web]:
    """A running server over a fresh store, every endpoint configured."""
    with running(tmp_path) as server:
        yield server
