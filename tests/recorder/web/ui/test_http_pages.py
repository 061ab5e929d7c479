"""Every page's decisions over real HTTP: the same rules, audit entries and bytes as the CLI.

Proved here: the Calls list shows exactly what ``recorder.listing`` lets each role list
(own / team at call time / with a purpose), filters never widen it, and numbers are masked
everywhere; someone else's call looks like an unknown one; audio is the very bytes
``open_playback`` releases, sliced by HTTP Range (206/416, ``no-store``), and every request
is decided and audited; forged, expired, other users' and other calls' tickets are
refused and audited; the summary is approved or edited with the diff kept; QA reviewers
reach only their sampled calls (by queue or by URL); the team report and its CSV (formula
guard) are for the team's supervisor; the access log is the DPO's.
"""

from __future__ import annotations

import json
import random
import re
from datetime import timedelta

from recorder.access import principal_for
from recorder.playback import open_playback
from storage.qa import CatalogAssignments
from tests.conftest import NOW
from tests.invariants import number_renderings
from tests.recorder.web.ui.client import Client, Reply
from tests.recorder.web.ui.conftest import Site
from tests.recorder.web.ui.seed import CALLER, PASSWORD

_AUDIO = re.compile(r'data-audio="([^"]+)"')
_PEAKS = re.compile(r'data-peaks="([^"]+)"')


def _as(site: Site, user: str) -> Client:
    client = site.client()
    assert client.sign_in(user, PASSWORD).status == 303
    return client


def _listed(reply: Reply, site: Site) -> set[str]:
    assert reply.status == 200
    return {name for name, rid in site.seeded.calls.items() if f"/calls/{rid}" in reply.text}


def _audio_url(page: Reply) -> str:
    found = _AUDIO.search(page.text)
    assert found, "no player on the page"
    return found.group(1).replace("&amp;", "&")


def _entries(site: Site, action: str) -> list[object]:
    vault = site.vault()
    try:
        return [e.event for e in vault.audit.entries() if e.event.action == action]
    finally:
        vault.close()


def _wav_via_cli(site: Site, user: str, name: str) -> bytes:
    """What ``callrec play`` would write for ``user`` (the same open_playback)."""
    vault = site.vault()
    try:
        config = site.seeded.config
        playback = open_playback(
            vault, config, principal_for(config, user), site.seeded.calls[name],
            purpose="quality", now=NOW, assignments=CatalogAssignments(vault.catalog),
        )  # fmt: skip
        return b"".join(playback.wav_chunks())
    finally:
        vault.close()


def test_each_role_lists_what_listing_allows_with_numbers_masked(site: Site) -> None:
    assert _listed(_as(site, "anna").get("/calls"), site) == {"dual", "anna2"}
    siri = _as(site, "siri")
    assert _listed(siri.get("/calls"), site) == {"dual", "anna2", "bjorn1", "eve1"}
    assert _listed(_as(site, "sven").get("/calls"), site) == {"carla1"}  # bjorn moved later
    assert _listed(_as(site, "qa1").get("/calls"), site) == {"dual", "anna2", "bjorn1", "eve1"}
    assert _listed(_as(site, "dpo1").get("/calls"), site) == set(site.seeded.calls)  # dsar
    assert _listed(_as(site, "dpo1").get("/calls?purpose=quality"), site) == set()
    assert _listed(siri.get("/calls?agent=bjorn"), site) == {"bjorn1"}
    assert _listed(siri.get("/calls?team=oslo-1-evening"), site) == {"eve1"}
    assert _listed(siri.get("/calls?topic=card_block"), site) == {"dual"}
    assert _listed(siri.get("/calls?since=2026-11-17&until=2026-11-17"), site) == {
        "dual", "anna2", "bjorn1", "eve1"}  # fmt: skip
    assert _listed(siri.get("/calls?agent=carla"), site) == set()  # filters never widen
    page = siri.get("/calls?masked=234***")
    assert _listed(page, site) == {"dual", "anna2", "bjorn1", "eve1"}
    assert "+4791234***" in page.text
    assert siri.get("/calls?masked=91234567").status == 400  # a full number is not a pattern
    assert siri.get("/calls?purpose=marketing").status == 400
    lists = _entries(site, "recording.list")
    assert any(getattr(e, "detail", {}).get("filters") == "topic" for e in lists)
    assert all("234" not in json.dumps(getattr(e, "detail", {})) for e in lists)


def test_number_search_is_a_post_for_dpo_and_legal_only(site: Site) -> None:
    dpo = _as(site, "dpo1")
    found = dpo.post("/calls/search", {"number": CALLER, "purpose": "dsar"}, csrf=dpo.csrf())
    assert _listed(found, site) == set(site.seeded.calls)
    siri = _as(site, "siri")
    refused = siri.post("/calls/search", {"number": CALLER}, csrf=siri.csrf())
    assert refused.status == 403
    assert [e.outcome for e in _entries(site, "recording.search")][-2:] == ["allowed", "denied"]


def test_someone_elses_call_looks_exactly_like_an_unknown_one(site: Site) -> None:
    carla = _as(site, "carla")
    theirs = carla.get(f"/calls/{site.seeded.calls['dual']}")
    unknown = carla.get(f"/calls/{random.Random(3).randbytes(16).hex()}")
    malformed = carla.get("/calls/..%2f..%2fetc")
    for reply in (theirs, unknown):
        assert reply.status == 403
        assert "No such call, or not yours to see." in reply.text
    assert malformed.status in (403, 404)
    assert "+4791234***" not in theirs.text


def test_audio_is_the_bytes_open_playback_releases_sliced_by_range(site: Site) -> None:
    anna = _as(site, "anna")
    page = anna.get(f"/calls/{site.seeded.calls['dual']}")
    url = _audio_url(page)
    want = _wav_via_cli(site, "anna", "dual")
    plays = len(_entries(site, "recording.play"))
    full = anna.get(url)
    assert full.status == 200 and full.body == want
    assert full.header("content-type") == "audio/wav"
    assert full.header("cache-control") == "no-store" and full.header("accept-ranges") == "bytes"
    for header, first, last in (
        ("bytes=0-43", 0, 43),
        ("bytes=1000-70000", 1000, 70000),
        ("bytes=200000-", 200000, len(want) - 1),
        ("bytes=-100", len(want) - 100, len(want) - 1),
        ("bytes=7-9999999", 7, len(want) - 1),
    ):
        part = anna.get(url, headers={"Range": header})
        assert part.status == 206, header
        assert part.body == want[first : last + 1], header
        assert part.header("content-range") == f"bytes {first}-{last}/{len(want)}"
    beyond = anna.get(url, headers={"Range": f"bytes={len(want)}-"})
    assert beyond.status == 416 and beyond.header("content-range") == f"bytes */{len(want)}"
    assert anna.get(url, headers={"Range": "bytes=0-1,5-9"}).status == 200  # multi: whole file
    plays_now = _entries(site, "recording.play")[plays:]
    assert len(plays_now) == 8  # every request decided and audited, with the ticket's purpose
    assert {(e.outcome, e.purpose) for e in plays_now} == {("allowed", "quality")}  # type: ignore[attr-defined]


def test_forged_expired_and_borrowed_tickets_are_refused_and_audited(site: Site) -> None:
    calls = site.seeded.calls
    anna, siri = _as(site, "anna"), _as(site, "siri")
    url = _audio_url(anna.get(f"/calls/{calls['dual']}"))
    siris = _audio_url(siri.get(f"/calls/{calls['dual']}"))
    other = _audio_url(anna.get(f"/calls/{calls['anna2']}"))
    forged = url[:-2] + ("AA" if not url.endswith("AA") else "BB")
    assert anna.get(forged).text == "refused: bad signature\n"
    assert anna.get(siris).text == "refused: other user\n"
    swapped = other.replace(calls["anna2"], calls["dual"], 1)
    assert anna.get(swapped).text == "refused: other recording\n"
    assert anna.get(url.split("?")[0] + "?t=").status == 403
    site.clock.advance(timedelta(minutes=6))  # tickets live 5 minutes ([web] ticket_minutes)
    expired = anna.get(url, headers={"Range": "bytes=0-"})
    assert (expired.status, expired.text) == (403, "refused: expired\n")
    denied = [e for e in _entries(site, "recording.play") if e.outcome == "denied"]  # type: ignore[attr-defined]
    reasons = {e.reason for e in denied}  # type: ignore[attr-defined]
    assert {"playback grant: bad signature", "playback grant: other user",
            "playback grant: other recording", "playback grant: expired"} <= reasons  # fmt: skip


def test_peaks_and_a_fresh_ticket_go_through_the_same_decision(site: Site) -> None:
    anna = _as(site, "anna")
    rid = site.seeded.calls["dual"]
    page = anna.get(f"/calls/{rid}")
    peaks = anna.get(_PEAKS.search(page.text).group(1))  # type: ignore[union-attr]
    data = json.loads(peaks.body)
    assert data["channels"] == 2 and len(data["peaks"]) == 2
    assert all(0 < len(lane) <= 2000 for lane in data["peaks"])
    assert all(0.0 <= v <= 1.0 for lane in data["peaks"] for v in lane)
    assert max(data["peaks"][1]) > 0.3 and min(data["peaks"][1]) == 0.0  # speech and silence
    assert abs(data["duration"] - 18.0) < 0.1
    fresh = anna.request("POST", f"/calls/{rid}/ticket", form={"purpose": "quality"},
                         headers={"X-CSRF-Token": page.csrf()})  # fmt: skip
    assert fresh.status == 200 and fresh.header("cache-control") == "no-store"
    ticket = json.loads(fresh.body)
    assert ticket["expires_in"] == 300 and anna.get(ticket["audio"]).status == 200
    carla = _as(site, "carla")
    refused = carla.request("POST", f"/calls/{rid}/ticket", form={},
                            headers={"X-CSRF-Token": carla.csrf()})  # fmt: skip
    assert refused.status == 403


def test_the_dpo_reads_the_transcript_but_may_not_play(site: Site) -> None:
    page = _as(site, "dpo1").get(f"/calls/{site.seeded.calls['dual']}")
    assert page.status == 200
    assert "You may not play this call" in page.text and 'id="player"' not in page.text
    assert "my card number is [card] and my phone is [phone]" in page.text
    assert "card_block" in page.text  # its topics


def test_summary_edit_keeps_the_diff_and_redacts_what_was_typed(site: Site) -> None:
    rid = site.seeded.calls["dual"]
    carla = _as(site, "carla")
    assert carla.post(f"/calls/{rid}/summary/approve", {}, csrf=carla.csrf()).status == 403
    anna = _as(site, "anna")
    token = anna.csrf()
    text = "Card blocked, new card sent.\nCustomer asked to be called on +47 912 34 567."
    edited = anna.post(f"/calls/{rid}/summary/edit", {"text": text, "purpose": "quality"},
                       csrf=token)  # fmt: skip
    assert (edited.status, edited.location) == (303, f"/calls/{rid}?purpose=quality")
    page = anna.get(f"/calls/{rid}")
    assert "Edited by anna" in page.text
    assert "Changes from the AI draft" in page.text and "+Card blocked, new card sent." in page.text
    for rendering in number_renderings(CALLER):
        assert rendering not in page.body
    again = anna.post(f"/calls/{rid}/summary/approve", {}, csrf=token)
    assert again.status == 400 and "already reviewed" in again.text
    assert [e.outcome for e in _entries(site, "summary.edit")] == ["allowed"]  # type: ignore[attr-defined]


def test_qa_reviewers_reach_only_their_sampled_calls(site: Site) -> None:
    calls = site.seeded.calls
    assert _as(site, "anna").get("/review").status == 403  # not a reviewer (audited)
    qa1 = _as(site, "qa1")
    queue = qa1.get("/review")
    assert queue.status == 200 and "3 of 4 calls still to score" in queue.text
    assert qa1.get(f"/review/{calls['carla1']}").status == 403
    assert _as(site, "qa2").get(f"/review/{calls['dual']}").status == 403
    token = qa1.csrf()
    form = {"score_greeting": "4", "score_verified_identity": "1", "score_resolution": "5"}
    refused = qa1.post(f"/review/{calls['carla1']}/score", form, csrf=token)
    assert refused.status == 403
    assert _entries(site, "qa.score")[-1].outcome == "denied"  # type: ignore[attr-defined]
    first = qa1.post("/review/next", {}, csrf=token)
    assert first.status == 303 and first.location.startswith("/review/")
    target = first.location.rsplit("/", 1)[1]
    assert target in site.seeded.assigned
    review = qa1.get(first.location)
    assert review.status == 200 and 'name="score_verified_identity"' in review.text
    assert 'value="na"' in review.text  # greeting may be N/A; the critical one may not
    bad = qa1.post(f"/review/{target}/score", {**form, "score_resolution": "9"}, csrf=token)
    assert bad.status == 400 and "between 1 and 5" in bad.text
    failed = {"score_greeting": "na", "score_verified_identity": "0", "score_resolution": "5",
              "comment": "Did not verify; said the number 91234567 aloud"}  # fmt: skip
    saved = qa1.post(f"/review/{target}/score", failed, csrf=token)
    assert saved.status == 303 and saved.location != first.location
    vault = site.vault()
    try:
        from storage.qa import QaStore

        card = QaStore(vault.catalog).scorecard("qa1", target)
    finally:
        vault.close()
    assert card is not None and card.scores["greeting"] is None
    assert "91234567" not in card.comment


def test_the_team_report_is_the_supervisors_with_a_formula_safe_csv(site: Site) -> None:
    assert _as(site, "anna").get("/reports/team").status == 400  # leads no team
    assert _as(site, "anna").get("/reports/team?team=oslo-1").status == 403
    assert _as(site, "sven").get("/reports/team?team=oslo-1").status == 403
    siri = _as(site, "siri")
    page = siri.get("/reports/team?team=oslo-1")
    assert page.status == 200
    assert '<th scope="row">=eve</th>' in page.text
    assert "<svg" in page.text and 'role="img"' in page.text and "<polyline" not in page.text
    csv = siri.get("/reports/team.csv?team=oslo-1")
    assert csv.header("content-type") == "text/csv; charset=utf-8"
    assert 'filename="qa-report-oslo-1.csv"' in (csv.header("content-disposition") or "")
    lines = csv.text.splitlines()
    assert lines[0] == "team,agent,criterion,n,mean"
    assert "oslo-1,'=eve,greeting,1,4.00" in lines  # a spreadsheet would run =eve
    assert [e.outcome for e in _entries(site, "qa.report")][-2:] == ["ok", "ok"]  # type: ignore[attr-defined]


def test_the_access_log_is_the_dpos_with_staff_withheld_for_the_subject(site: Site) -> None:
    rid = site.seeded.calls["dual"]
    _as(site, "anna").get(f"/calls/{rid}")  # a consultation to find
    for user in ("anna", "siri", "legal1"):
        assert _as(site, user).get(f"/access?recording={rid}").status == 403, user
    dpo = _as(site, "dpo1")
    page = dpo.get(f"/access?recording={rid}")
    assert page.status == 200
    internal, withheld = page.text.split("As the data subject receives it", 1)
    assert "<td>anna</td>" in internal and "grant.issue" in internal
    assert "<td>anna</td>" not in withheld and "grant.issue" in withheld
    assert dpo.get("/access?recording=not-an-id").status == 400
    report = dpo.post("/access/subject", {"number": CALLER}, csrf=dpo.csrf())
    assert report.status == 200 and "5 recordings" in report.text
    for rendering in number_renderings(CALLER):
        assert rendering not in report.body
    outcomes = [e.outcome for e in _entries(site, "audit.view")]  # type: ignore[attr-defined]
    assert outcomes.count("denied") == 3 and "allowed" in outcomes


def test_no_page_ever_shows_a_full_number(site: Site) -> None:
    calls = site.seeded.calls
    bodies = []
    for user in ("anna", "siri", "qa1", "dpo1"):
        client = _as(site, user)
        for path in ("/calls", f"/calls/{calls['dual']}", "/review", "/reports/team?team=oslo-1",
                     f"/access?recording={calls['dual']}"):  # fmt: skip
            bodies.append(client.get(path).body)
    dump = b"\n".join(bodies)
    assert b"+4791234***" in dump
    hits = [r for r in number_renderings(CALLER) if r in dump]
    assert hits == []
