"""Fixtures of the chat tests: the chat org chart and its settings."""

from __future__ import annotations

import pytest

from recorder.chat.settings import ChatSettings
from recorder.config import Config
from tests.recorder.chat.helpers import chat_config, chat_settings


@pytest.fixture
def config() -> Config:
    return chat_config()


@pytest.fixture
def settings(config: Config) -> ChatSettings:
    return chat_settings(config)
