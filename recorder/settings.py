"""Where callrec keeps its data and its master keys.

Data dir: ``--home`` or ``$CALLREC_HOME`` or ``./callrec-data``. Keyring: ``--keyring`` or
``$CALLREC_KEYRING`` or, by default, a sibling folder *outside* the data dir
(``<home>-keys/keyring.json``), so a copy of the data dir alone is ciphertext that nobody
can open. Environment variables are read here, at the edge, and nowhere else.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from storage.keyring import default_keyring_path

DEFAULT_HOME = Path("callrec-data")


@dataclass(frozen=True, slots=True, kw_only=True)
class Paths:
    """Resolved data dir and keyring path."""

    home: Path
    keyring: Path
    config: Path | None = None


def resolve_paths(
    home: Path | None,
    keyring: Path | None,
    environ: Mapping[str, str] | None = None,
    config: Path | None = None,
) -> Paths:
    """Apply the precedence: explicit option, then environment, then default.

    The configuration file is ``--config``, ``$CALLREC_CONFIG`` or ``<home>/callrec.toml``
    when that exists; without one, callrec runs with an empty org chart (nobody may play).
    """
    env = os.environ if environ is None else environ
    resolved_home = (home or Path(env.get("CALLREC_HOME") or DEFAULT_HOME)).absolute()
    env_keyring = env.get("CALLREC_KEYRING")
    resolved_keyring = keyring or (Path(env_keyring) if env_keyring else None)
    env_config = env.get("CALLREC_CONFIG")
    resolved_config = config or (Path(env_config) if env_config else None)
    if resolved_config is None and (resolved_home / "callrec.toml").is_file():
        resolved_config = resolved_home / "callrec.toml"
    return Paths(
        home=resolved_home,
        keyring=(resolved_keyring or default_keyring_path(resolved_home)).absolute(),
        config=resolved_config.absolute() if resolved_config else None,
    )
