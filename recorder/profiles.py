"""Ready configurations, one per privacy notice callrec was built from (``samples/profiles``).

``callrec init --profile NAME`` copies ``samples/profiles/NAME.toml`` to the data dir's
``callrec.toml`` after checking that every table in it is valid (org chart, retention
classes, AI, chat). An existing, different configuration is never overwritten. What each
profile promises and which test proves it: ``docs/profiles.md``.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from recorder.ai_config import ai_settings
from recorder.chat.settings import load_chat_settings
from recorder.config import Config, load_config
from recorder.errors import ConfigError
from recorder.retention import load_classes

PROFILES = Path(__file__).resolve().parents[1] / "samples" / "profiles"


def available(folder: Path = PROFILES) -> list[str]:
    """The profile names shipped (file stems), sorted."""
    return sorted(p.stem for p in folder.glob("*.toml")) if folder.is_dir() else []


def profile_path(name: str, folder: Path = PROFILES) -> Path:
    """The file of profile ``name``; :class:`ConfigError` naming the known ones if unknown."""
    if name not in available(folder):
        raise ConfigError(f"unknown profile; known: {', '.join(available(folder)) or 'none'}")
    return folder / f"{name}.toml"


def validate(path: Path) -> Config:
    """Load a configuration and every feature table callrec checks at start-up."""
    config = load_config(path)
    load_classes(config)
    ai_settings(config)
    load_chat_settings(config, environ={})
    return config


def install(name: str, target: Path, folder: Path = PROFILES) -> bool:
    """Copy profile ``name`` to ``target``; False if ``target`` already is that profile."""
    source = profile_path(name, folder)
    validate(source)
    if target.exists():
        same = (
            hashlib.sha256(target.read_bytes()).digest()
            == hashlib.sha256(source.read_bytes()).digest()
        )
        if same:
            return False
        raise ConfigError(f"{target} exists and is not profile {name}; move it away first")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    target.chmod(0o600)
    return True
