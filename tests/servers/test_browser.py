"""The browser harness drives Debian's Chromium through Playwright against a real local server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tests.servers._process import HarnessError
from tests.servers.asgi import serve_asgi
from tests.servers.browser import Artefacts, find_chromium

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>harness</title>
<script src="/app.js" defer></script></head>
<body><main><h1>Call 42</h1>
<button id="play" type="button">Play</button>
<p id="status" role="status">stopped</p></main></body></html>"""

SCRIPT = """document.getElementById("play").addEventListener("click", async () => {
  const r = await fetch("/clicked", {method: "POST"});
  const body = await r.json();
  document.getElementById("status").textContent = "playing #" + body.clicks;
});"""


def _app(clicks: list[str]) -> Starlette:
    async def index(request: Request) -> Response:
        return HTMLResponse(PAGE)

    async def script(request: Request) -> Response:
        return Response(SCRIPT, media_type="text/javascript")

    async def clicked(request: Request) -> Response:
        clicks.append(request.headers.get("user-agent", ""))
        return JSONResponse({"clicks": len(clicks)})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/app.js", script),
            Route("/clicked", clicked, methods=["POST"]),
        ]
    )


def test_click_reaches_the_server_and_the_page_shows_it(page: Page, artefacts: Artefacts) -> None:
    """Load a page from uvicorn on 127.0.0.1, click its button: the POST arrives at the
    server, the page updates, and the screenshot is a real PNG in test-artefacts/."""
    clicks: list[str] = []
    with serve_asgi(_app(clicks)) as url:
        page.goto(url)
        expect(page.get_by_role("heading")).to_have_text("Call 42")
        page.get_by_role("button", name="Play").click()
        expect(page.get_by_role("status")).to_have_text("playing #1")
        shot = artefacts.screenshot(page, "after-click")
    assert len(clicks) == 1 and "HeadlessChrome" in clicks[0]
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert shot.stat().st_size > 1000
    assert "test-artefacts" in shot.parts


def test_the_browser_is_debians_chromium(browser: Browser) -> None:
    """Playwright runs /usr/bin/chromium (same version), and no browser was downloaded."""
    printed = subprocess.run(
        [str(find_chromium()), "--version"], capture_output=True, text=True, check=True
    ).stdout
    assert browser.version in printed
    assert not (Path.home() / ".cache" / "ms-playwright").exists()


def test_missing_chromium_fails_naming_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    """No browser binary: a HarnessError naming the Debian packages, never a skip."""
    monkeypatch.setenv("CALLREC_CHROMIUM", "/nonexistent/chromium")
    with pytest.raises(HarnessError, match="Debian packages `chromium`"):
        find_chromium()
