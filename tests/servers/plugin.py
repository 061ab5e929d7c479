"""Pytest fixtures for the real servers (loaded for the whole suite by ``-p tests.servers.plugin``
in pyproject's addopts, so any test directory can use them without a conftest import).

Nothing starts unless a test asks: session fixtures start their server on first use and stop
it when the session ends - also after a failure or Ctrl-C (pytest runs finalizers then), and
the servers die with pytest even if it is SIGKILLed (see _process.py). This module imports
only the standard library and pytest, so loading it costs nothing.

- ``postgres``: a durable PostgreSQL cluster (:class:`~tests.servers.postgres.PostgresServer`)
- ``pg_db``: a fresh database in it for one test (:class:`Database`: name, dsn, conninfo)
- ``postgres_factory``: start more clusters (``durable=False``, own settings) for the session
- ``seaweed``: a SeaweedFS S3 server (:class:`~tests.servers.seaweed.SeaweedServer`)
- ``s3_bucket`` / ``s3_locked_bucket``: a new bucket (plain / Object Lock) for one test
- ``seaweed_factory``: start more object stores (for tests that stop, kill or pause one)
- ``softhsm``: a SoftHSM2 token store with one token ``callrec`` (SOFTHSM2_CONF is set)
- ``hsm_token``: a newly initialised token for one test (:class:`~tests.servers.softhsm.TokenInfo`)
- ``browser``: headless Debian Chromium via Playwright; ``page``: a fresh page in a new
  context (a screenshot lands in the test's artefacts if the test fails)
- ``artefacts``: the test's folder under ``test-artefacts/``
  (:class:`~tests.servers.browser.Artefacts`)
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.servers.browser import Artefacts
    from tests.servers.postgres import PostgresServer
    from tests.servers.seaweed import SeaweedServer
    from tests.servers.softhsm import SoftHSM, TokenInfo

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_counter = itertools.count(1)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the item, so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def _failed(request: pytest.FixtureRequest) -> bool:
    reports = request.node.stash.get(_REPORTS, {})
    return any(r.failed for r in reports.values())


def _unique(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_counter)}"


# -- PostgreSQL ------------------------------------------------------------------------


@dataclass(frozen=True)
class Database:
    """One test's database: its name, SQLAlchemy URL and libpq connection string."""

    name: str
    dsn: str
    conninfo: str


@pytest.fixture(scope="session")
def postgres_factory() -> Iterator[Callable[..., PostgresServer]]:
    """Start PostgreSQL clusters (``PostgresServer`` keyword arguments); all stop at the end."""
    from tests.servers.postgres import PostgresServer

    started: list[PostgresServer] = []

    def start(**kwargs: Any) -> PostgresServer:
        server = PostgresServer(**kwargs)
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in reversed(started):
            server.cleanup()


@pytest.fixture(scope="session")
def postgres(postgres_factory: Callable[..., PostgresServer]) -> PostgresServer:
    """The session's PostgreSQL cluster, durable (fsync on): safe for crash tests.

    Tests that stop or kill a server should take their own from ``postgres_factory``, so
    a failure half-way cannot leave this shared one down for the tests after it.
    """
    return postgres_factory(durable=True)


@pytest.fixture
def pg_db(postgres: PostgresServer) -> Iterator[Database]:
    """A new database for this test (a copy of the template), dropped afterwards."""
    name = postgres.fresh_database(name=_unique("test").replace("-", "_"))
    try:
        yield Database(name, postgres.dsn(name), postgres.conninfo(name))
    finally:
        if postgres.running:
            postgres.drop_database(name)


# -- SeaweedFS -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def seaweed_factory() -> Iterator[Callable[[], SeaweedServer]]:
    """Start more SeaweedFS servers (each its own dir and ports); all stop at the end."""
    from tests.servers.seaweed import SeaweedServer

    started: list[SeaweedServer] = []

    def start() -> SeaweedServer:
        server = SeaweedServer()
        started.append(server)
        return server.start()

    try:
        yield start
    finally:
        for server in reversed(started):
            server.cleanup()


@pytest.fixture(scope="session")
def seaweed(seaweed_factory: Callable[[], SeaweedServer]) -> SeaweedServer:
    """The session's SeaweedFS (S3 on 127.0.0.1): ``endpoint``, keys, ``client()``."""
    return seaweed_factory()


@pytest.fixture
def s3_bucket(seaweed: SeaweedServer) -> str:
    """A new, empty bucket (no versioning, no lock) for this test; its name."""
    return seaweed.create_bucket(_unique("t"))


@pytest.fixture
def s3_locked_bucket(seaweed: SeaweedServer) -> str:
    """A new bucket with Object Lock enabled (so versioned) for this test; its name.

    Locked objects cannot be deleted before their retention ends, so these buckets stay
    until the server's temp dir is removed at the end of the session.
    """
    return seaweed.create_bucket(_unique("lock"), object_lock=True)


# -- SoftHSM2 --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def softhsm() -> Iterator[SoftHSM]:
    """A SoftHSM2 token store for the session, SOFTHSM2_CONF set, token ``callrec`` made.

    ``softhsm.default`` holds that token's label and PINs; ``softhsm.module`` is the
    PKCS#11 module path.
    """
    from tests.servers.softhsm import SoftHSM

    hsm = SoftHSM()
    with pytest.MonkeyPatch.context() as mp:
        for key, value in hsm.env.items():
            mp.setenv(key, value)
        try:
            yield hsm
        finally:
            hsm.cleanup()


@pytest.fixture
def hsm_token(softhsm: SoftHSM) -> TokenInfo:
    """A newly initialised token (random PINs) for this test, in the session's store."""
    return softhsm.init_token(_unique("t"))


# -- Chromium --------------------------------------------------------------------------


@pytest.fixture
def artefacts(request: pytest.FixtureRequest) -> Artefacts:
    """This test's artefact folder under ``test-artefacts/`` (``$CALLREC_TEST_ARTEFACTS``)."""
    import shutil

    from tests.servers.browser import Artefacts

    root = Path(
        os.environ.get("CALLREC_TEST_ARTEFACTS") or request.config.rootpath / "test-artefacts"
    )
    found = Artefacts(root, request.node.nodeid)
    shutil.rmtree(found.dir, ignore_errors=True)
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Headless Debian Chromium (``/usr/bin/chromium``) under Playwright, for the session."""
    from playwright.sync_api import sync_playwright

    from tests.servers.browser import find_chromium, launch_chromium

    executable = find_chromium()  # fail with the package name before starting the driver
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright, executable)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser: Browser, artefacts: Artefacts, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page in a fresh browser context (own cookies/storage); screenshot kept on failure."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        yield page
    finally:
        if _failed(request):
            try:
                artefacts.screenshot(page, "failure")
            except Exception as exc:  # the page may be what broke; the test's error stands
                print(f"no failure screenshot: {exc!r}")
        context.close()
