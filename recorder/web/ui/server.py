"""Running the web app: its dependencies over the data dir, and uvicorn (the webhook
server's own settings: :func:`recorder.web.server.asgi_config`, log redaction included).

The app runs in its own process and on its own port (``callrec web``, 8090 by default),
never inside the webhook server: a browser-facing app and a provider-facing ingest
endpoint have different exposure, limits and failure modes.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import uvicorn

from recorder.config import Config
from recorder.web.server import asgi_config
from recorder.web.ui.app import build_deps, build_ui_app
from recorder.web.ui.handlers import Deps
from recorder.web.ui.render import SecurityHeaders
from recorder.web.ui.settings import UiSettings
from storage.keyring import FileKeyRing
from storage.models import Rng
from storage.vault import Vault

DEFAULT_PORT = 8090


def ui_deps(
    home: Path,
    keyring_path: Path,
    config: Config,
    settings: UiSettings,
    *,
    clock: Callable[[], datetime],
    rng: Rng,
    redirect_base: str | None = None,
) -> Deps:
    """Dependencies over the store at ``home``; the keyring must exist (``callrec init``)."""
    keyring = FileKeyRing.load(keyring_path)
    return build_deps(
        config, settings, lambda: Vault.open(home, keyring), clock=clock, rng=rng,
        redirect_base=redirect_base,
    )  # fmt: skip


def ui_config(deps: Deps, host: str, port: int, *, log_level: str = "warning") -> uvicorn.Config:
    """The uvicorn configuration for the web app."""
    app: SecurityHeaders = build_ui_app(deps)
    return asgi_config(app, host, port, log_level=log_level)
