"""Fixtures for the web app: a seeded store per module, the app on a real uvicorn on
127.0.0.1, and the clock the app reads (tests move it to expire sessions and tickets)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from recorder.web.ui.app import build_deps, build_ui_app
from recorder.web.ui.handlers import Deps
from recorder.web.ui.settings import ui_settings
from storage.keyring import FileKeyRing
from storage.vault import Vault
from tests.conftest import NOW
from tests.recorder.web.ui.client import Client
from tests.recorder.web.ui.seed import Clock, Seeded, seed
from tests.servers.asgi import serve_asgi


@dataclass(frozen=True)
class Site:
    """A running web app over the seeded store."""

    url: str
    seeded: Seeded
    clock: Clock
    deps: Deps

    def client(self) -> Client:
        return Client(self.url)

    def vault(self) -> Vault:
        """A second connection to the store, for looking at what the app wrote."""
        return Vault.open(self.seeded.home, FileKeyRing.load(self.seeded.keyring))


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(tmp_path_factory.mktemp("ui"))


def start_site(
    seeded: Seeded, clock: Clock, environ: dict[str, str] | None = None, **deps_kw: object
) -> tuple[Deps, object]:
    """Dependencies and app over the seeded store (not yet served)."""
    keyring = FileKeyRing.load(seeded.keyring)
    deps = build_deps(
        seeded.config, ui_settings(seeded.config, environ=environ or {}),
        lambda: Vault.open(seeded.home, keyring), clock=clock,
        rng=random.Random(99).randbytes, **deps_kw,  # type: ignore[arg-type]
    )  # fmt: skip
    return deps, build_ui_app(deps)


@pytest.fixture(scope="module")
def site(seeded: Seeded) -> Iterator[Site]:
    clock = Clock()
    deps, app = start_site(seeded, clock)
    try:
        with serve_asgi(app) as url:
            yield Site(url=url, seeded=seeded, clock=clock, deps=deps)
    finally:
        deps.db.close()


@pytest.fixture(autouse=True)
def _clock_back(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test starts at NOW, whatever the one before did to the clock."""
    if "site" in request.fixturenames:
        request.getfixturevalue("site").clock.set(NOW)
    yield
