"""Debian's Chromium driven by Playwright for Python, and screenshots kept as test artefacts.

Playwright never downloads a browser here: it launches ``/usr/bin/chromium`` (Debian
``chromium``; ``make system`` installs it) through ``executable_path``. The flags keep it
off the network this machine does not have (no background fetches, component updates,
sync, QUIC) and make it run headless as root (``--no-sandbox``). Playwright gives every
launch a fresh temporary profile (it refuses a ``--user-data-dir`` flag for ``launch``;
``launch_persistent_context(user_data_dir=...)`` is the way to choose one).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from tests.servers._process import HarnessError

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

PACKAGE = "the Debian packages `chromium` and `chromium-driver` (`make system` installs them)"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def find_chromium() -> Path:
    """``/usr/bin/chromium`` (``$CALLREC_CHROMIUM`` overrides); a clear error if missing."""
    path = Path(os.environ.get("CALLREC_CHROMIUM") or CHROMIUM)
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise HarnessError(f"Chromium not found at {path}: install {PACKAGE}")
    return path


def launch_chromium(playwright: Playwright, executable: Path | None = None) -> Browser:
    """Launch headless Chromium with the offline-safe flags through ``playwright``."""
    return playwright.chromium.launch(
        executable_path=str(executable or find_chromium()),
        headless=True,
        chromium_sandbox=False,
        args=list(CHROMIUM_FLAGS),
        timeout=60_000,
    )


class Artefacts:
    """A test's folder under the git-ignored ``test-artefacts/`` (screenshots and the like).

    The folder is named after the test's node id, emptied when the test starts, so what
    is there after a run is what that run made.
    """

    def __init__(self, root: Path, nodeid: str) -> None:
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:150]
        self.dir = root / safe

    def path(self, name: str) -> Path:
        """Where to write artefact ``name`` (the folder is created)."""
        if "/" in name or name.startswith("."):
            raise HarnessError(f"artefact name must be a plain file name, not {name!r}")
        self.dir.mkdir(parents=True, exist_ok=True)
        return self.dir / name

    def screenshot(self, page: Page, name: str, *, full_page: bool = True) -> Path:
        """A PNG screenshot of ``page`` as ``<name>.png``; its path."""
        path = self.path(name if name.endswith(".png") else f"{name}.png")
        page.screenshot(path=str(path), full_page=full_page)
        return path
