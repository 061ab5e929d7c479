"""The web app in a real browser: Debian Chromium driven by Playwright, against the real server.

Few tests, each a whole task as a person does it, with a screenshot of every page in
``test-artefacts/``: an agent signs in and sees only their calls; plays the dual-channel
call (``currentTime`` advances, the redacted spans are marked on the two-lane waveform),
clicks a transcript turn and lands there, drives the player from the keyboard and approves
the AI summary in place (htmx); a QA
reviewer is refused an unassigned call by URL, scores an assigned one (N/A, the critical
question) and the supervisor's report shows the score; the DPO reads the access log; and a
forged or expired ticket, a cross-site POST without the CSRF token and a session past its
timeout are refused. The page's own CSP forbids ``eval``, so waits use function handles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from tests.recorder.web.ui.conftest import Site
from tests.recorder.web.ui.seed import PASSWORD
from tests.servers.asgi import serve_asgi
from tests.servers.browser import Artefacts

AGENT_OF = {"dual": "anna", "anna2": "anna", "bjorn1": "bjorn", "eve1": "=eve", "carla1": "carla"}
AUDIO_TIME = "() => document.getElementById('audio').currentTime"


def sign_in(page: Page, site: Site, user: str) -> None:
    page.goto(f"{site.url}/calls")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    page.get_by_label("User id").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Calls", exact=True)).to_be_visible()


def audio_time(page: Page) -> float:
    return float(page.evaluate(AUDIO_TIME))


@pytest.fixture
def errors(page: Page) -> Iterator[list[str]]:
    """Script errors and CSP violations the page reports (a test asserts there are none)."""
    found: list[str] = []
    page.on("pageerror", lambda exc: found.append(str(exc)))
    page.on(
        "console",
        lambda msg: (
            found.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    yield found


def test_an_agent_signs_in_and_sees_only_their_calls(
    page: Page, site: Site, artefacts: Artefacts, errors: list[str]
) -> None:
    page.goto(f"{site.url}/login")
    artefacts.screenshot(page, "login")
    sign_in(page, site, "anna")
    rows = page.locator("table.calls tbody tr")
    expect(rows).to_have_count(2)
    expect(page.get_by_role("status")).to_have_text("2 calls.")
    expect(rows.first.locator("td.masked")).to_have_text("+4791234***")
    expect(page.get_by_role("link", name="Review")).to_have_count(0)  # not a reviewer
    page.get_by_label("Topic").select_option("card_block")
    page.get_by_role("button", name="Filter").click()  # htmx swaps the table in place
    expect(page.get_by_role("status")).to_have_text("1 call.")
    assert "topic=card_block" in page.url
    artefacts.screenshot(page, "calls")
    assert errors == []


def test_play_seek_by_transcript_and_keyboard_on_the_two_lane_player(
    page: Page, site: Site, artefacts: Artefacts, errors: list[str]
) -> None:
    sign_in(page, site, "anna")
    page.goto(f"{site.url}/calls/{site.seeded.calls['dual']}")
    expect(page.locator("#player")).to_have_attribute("data-waveform", "ready")
    regions = "() => document.querySelector('#waveform > div').shadowRoot" \
        ".querySelectorAll('[part~=region]').length"  # fmt: skip
    page.wait_for_function(f"{regions} >= 2")
    assert page.evaluate(regions) == 2  # the card and the phone number
    page.get_by_role("button", name="Play", exact=True).click()
    page.wait_for_function(f"{AUDIO_TIME} > 0.5")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    turn = page.locator("#transcript .turn").nth(2)
    turn.get_by_role("button").click()
    page.wait_for_function(f"{AUDIO_TIME} >= 12.9")
    assert 12.9 <= audio_time(page) < 14.0
    expect(turn).to_have_attribute("aria-current", "true")
    artefacts.screenshot(page, "call-playing")
    page.locator("h1").click()  # focus away from the buttons, as a reader would
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    before = audio_time(page)
    page.keyboard.press("ArrowLeft")
    assert audio_time(page) == pytest.approx(before - 5, abs=0.3)
    page.keyboard.press("ArrowRight")
    assert audio_time(page) == pytest.approx(before, abs=0.3)
    url = page.url
    page.get_by_role("button", name="Approve as it stands").click()  # htmx, CSRF header
    expect(page.locator("#summary [role=status]")).to_contain_text("Approved by anna")
    assert page.url == url  # swapped in place, no reload
    assert errors == []


def test_a_reviewer_scores_an_assigned_call_and_the_supervisor_sees_it(
    page: Page, site: Site, artefacts: Artefacts, errors: list[str]
) -> None:
    calls = site.seeded.calls
    sign_in(page, site, "qa1")
    page.goto(f"{site.url}/review/{calls['carla1']}")  # not sampled to qa1
    expect(page.get_by_role("alert")).to_have_text("No such call, or not yours to see.")
    page.goto(f"{site.url}/review")
    artefacts.screenshot(page, "review-queue")
    page.get_by_role("button", name="Review the next call").click()
    expect(page.get_by_role("heading", name="Scorecard")).to_be_visible()
    rid = page.url.rsplit("/", 1)[1]
    assert rid in site.seeded.assigned
    page.get_by_role("group", name="Greeting").get_by_label("N/A").check()
    page.get_by_role("group", name="Verified identity").get_by_label("1", exact=True).check()
    page.get_by_role("group", name="Resolution").get_by_label("4", exact=True).check()
    page.get_by_label("Comment").fill("Clear and calm.")
    artefacts.screenshot(page, "review-scorecard")
    page.get_by_role("button", name="Submit and next").click()
    page.wait_for_url(lambda url: rid not in url)
    agent = AGENT_OF[next(name for name, r in calls.items() if r == rid)]
    supervisor = page.context.browser.new_context(viewport={"width": 1280, "height": 800})  # type: ignore[union-attr]
    try:
        boss = supervisor.new_page()
        sign_in(boss, site, "siri")
        boss.get_by_role("link", name="Team report").click()
        row = boss.locator("#report tbody tr", has=boss.get_by_role("rowheader", name=agent))
        expect(row.locator("td").nth(1)).to_contain_text("1.00")  # verified_identity, 1 card
        expect(boss.locator("svg.chart circle")).to_have_count(1)
        artefacts.screenshot(boss, "team-report")
    finally:
        supervisor.close()
    assert errors == []


def test_the_dpo_reads_the_access_log(
    page: Page, site: Site, artefacts: Artefacts, errors: list[str]
) -> None:
    rid = site.seeded.calls["dual"]
    sign_in(page, site, "dpo1")
    page.get_by_role("link", name="Access log").click()
    page.get_by_label("Recording id").fill(rid)
    page.get_by_role("button", name="Show its consultations").click()
    internal = page.get_by_role("region", name="every consultation")
    expect(internal.locator("tbody tr").first).to_be_visible()
    expect(internal.get_by_role("cell", name="qa1", exact=True).first).to_be_visible()
    subject = page.get_by_role("region", name="As the data subject receives it")
    expect(subject.get_by_role("cell", name="qa1", exact=True)).to_have_count(0)
    artefacts.screenshot(page, "access-log")
    assert errors == []


def _evil_site(target: str) -> Starlette:
    page = f"""<!doctype html><html><body><h1>You won a prize</h1>
<form id="f" method="post" action="{target}"><input name="text" value="pwned"></form>
<button id="go" onclick="document.getElementById('f').submit()">Claim</button>
</body></html>"""

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(page)

    return Starlette(routes=[Route("/", index)])


def test_forged_and_expired_tickets_cross_site_posts_and_stale_sessions_are_refused(
    page: Page, site: Site, artefacts: Artefacts
) -> None:
    rid = site.seeded.calls["anna2"]
    sign_in(page, site, "anna")
    page.goto(f"{site.url}/calls/{rid}")
    url = page.get_attribute("#player", "data-audio") or ""
    fetch = "url => fetch(url, {headers: {Range: 'bytes=0-99'}}).then(r => r.status)"
    assert page.evaluate(fetch, url) == 206
    assert page.evaluate(fetch, url[:-1] + ("A" if url[-1] != "A" else "B")) == 403  # forged
    site.clock.advance(timedelta(minutes=6))  # past the 5-minute ticket
    assert page.evaluate(fetch, url) == 403
    with serve_asgi(_evil_site(f"{site.url}/calls/{rid}/summary/edit")) as evil:
        page.goto(evil)
        with page.expect_response(lambda r: r.url.endswith("/summary/edit")) as answer:
            page.get_by_role("button", name="Claim").click()
        assert answer.value.status == 403
    expect(page.get_by_role("alert")).to_have_text("This request came from another site.")
    artefacts.screenshot(page, "cross-site-refused")
    site.clock.advance(timedelta(minutes=16))  # past the 15-minute idle timeout
    page.goto(f"{site.url}/calls")
    expect(page.get_by_role("status")).to_have_text("Your session ended. Please sign in again.")
    artefacts.screenshot(page, "session-expired")
