"""Sign-in, sessions and CSRF of the web app, over real HTTP to the real server.

What is proved: every route refuses a browser that is not signed in; sign-in answers the
same for a wrong password and an unknown name and is throttled (per name, under a keyed MAC:
the typed name is never stored); cookies are HttpOnly, SameSite=Strict (and Secure with
``__Host-`` behind TLS); the session lives in the catalog (only its SHA-256), ends on
sign-out server-side, and is refused past its idle and absolute timeouts; every POST and
htmx request without the session's CSRF token, or from another site, is refused and
changes nothing; every answer carries the strict CSP and ``no-store``.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from recorder.web.ui.auth import token_digest
from tests.recorder.web.ui.client import Client
from tests.recorder.web.ui.conftest import Site, start_site
from tests.recorder.web.ui.seed import PASSWORD, Clock
from tests.servers.asgi import serve_asgi


def _get_routes(rid: str) -> list[str]:
    return [
        "/calls", f"/calls/{rid}", "/review", f"/review/{rid}", "/reports/team",
        "/reports/team.csv", "/access",
    ]  # fmt: skip


def _post_routes(rid: str) -> list[str]:
    return [
        "/calls/search", f"/calls/{rid}/summary/approve", f"/calls/{rid}/summary/edit",
        f"/calls/{rid}/ticket", "/review/next", f"/review/{rid}/score", "/access/subject",
        "/logout",
    ]  # fmt: skip


def _audit_count(site: Site) -> int:
    vault = site.vault()
    try:
        return vault.audit.verify().size
    finally:
        vault.close()


def test_every_route_refuses_a_browser_that_is_not_signed_in(site: Site) -> None:
    rid = site.seeded.calls["dual"]
    client = site.client()
    for path in _get_routes(rid):
        reply = client.get(path)
        assert reply.status == 303, path
        assert reply.location.startswith("/login"), path
    for path in (f"/calls/{rid}/audio?t=x", f"/calls/{rid}/peaks?t=x"):
        reply = client.get(path)
        assert reply.status == 401 and reply.body == b"", path
    before = _audit_count(site)
    for path in _post_routes(rid):
        reply = client.post(path, {"csrf": "x", "number": "+47 912 34 567", "text": "x"})
        assert reply.status in (303, 401), path
    assert client.get("/calls", headers={"HX-Request": "true"}).status == 401
    assert _audit_count(site) == before  # nothing was done, so nothing was audited


def test_sign_in_sets_a_strict_httponly_cookie_and_stores_only_its_digest(site: Site) -> None:
    client = site.client()
    reply = client.sign_in("anna", PASSWORD)
    assert (reply.status, reply.location) == (303, "/calls")
    cookie = next(c for c in client.last_set_cookie if c.startswith("callrec="))
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http here; see the TLS test below
    token = client.cookies["callrec"]
    conn = sqlite3.connect(site.seeded.home / "catalog.db")
    try:
        rows = conn.execute("SELECT id_sha256, user_id, method FROM web_sessions").fetchall()
    finally:
        conn.close()
    assert (token_digest(token), "anna", "password") in rows
    assert all(token not in str(row) for row in rows)
    page = client.get("/calls")
    assert page.status == 200 and "anna" in page.text


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(site: Site) -> None:
    wrong = site.client().sign_in("bjorn", "not the password at all")
    unknown = site.client().sign_in("nobody-here", "not the password at all")
    number = site.client().sign_in("+47 912 34 567", "not the password at all")
    for reply in (wrong, unknown, number):
        assert reply.status == 401
        assert "Sign-in failed: wrong user or password." in reply.text
    vault = site.vault()
    try:
        entries = [e.event for e in vault.audit.entries() if e.event.action == "web.signin"]
    finally:
        vault.close()
    refused = [(e.actor_id, e.outcome) for e in entries if e.outcome == "denied"]
    assert ("bjorn", "denied") in refused and ("(unknown)", "denied") in refused
    conn = sqlite3.connect(site.seeded.home / "catalog.db")
    try:
        dump = str(conn.execute("SELECT * FROM web_login_failures").fetchall())
    finally:
        conn.close()
    assert "nobody-here" not in dump and "912" not in dump and "bjorn" not in dump


def test_sign_in_is_throttled_per_name_even_with_the_right_password(site: Site) -> None:
    for _ in range(5):
        assert site.client().sign_in("carla", "guessing wrongly again").status == 401
    throttled = site.client().sign_in("carla", PASSWORD)
    assert throttled.status == 429 and "too many failed attempts" in throttled.text
    assert site.client().sign_in("sven", PASSWORD).status == 303  # other names are not
    site.clock.advance(timedelta(minutes=16))  # the window passes
    assert site.client().sign_in("carla", PASSWORD).status == 303


def test_sign_in_without_the_form_token_or_from_another_site_is_refused(site: Site) -> None:
    client = site.client()
    client.get("/login")
    form = {"user": "anna", "password": PASSWORD}
    assert client.post("/login", form).status == 403
    assert client.post("/login", form, csrf="forged-token").status == 403
    token = client.get("/login").csrf()
    cross = client.post("/login", form, csrf=token, headers={"Sec-Fetch-Site": "cross-site"})
    assert cross.status == 403
    assert (
        client.post("/login", form, csrf=token, headers={"Origin": "https://evil.example"}).status
        == 403
    )
    assert "callrec" not in client.cookies
    assert client.post("/login", form, csrf=token).status == 303


def test_every_post_and_htmx_request_needs_the_sessions_csrf_token(site: Site) -> None:
    rid = site.seeded.calls["dual"]
    client = site.client()
    client.sign_in("siri", PASSWORD)
    other = site.client()
    other.sign_in("siri", PASSWORD)
    theirs = other.csrf()
    before = _audit_count(site)
    for path in _post_routes(rid):
        for token in (None, "forged", theirs):  # another session's token is no good either
            form = {"text": "x", "number": "+47 912 34 567"}
            if token is not None:
                form["csrf"] = token
            assert client.post(path, form).status == 403, (path, token)
    assert client.get("/calls", headers={"HX-Request": "true"}).status == 403
    mine = client.csrf()
    ok = client.get("/calls", headers={"HX-Request": "true", "X-CSRF-Token": mine})
    assert ok.status == 200
    cross = client.post(f"/calls/{rid}/ticket", {"csrf": mine},
                        headers={"Sec-Fetch-Site": "same-site"})  # fmt: skip
    assert cross.status == 403
    assert client.get("/calls").status == 200  # still signed in: the refusals logged nothing out
    assert _audit_count(site) == before + 3  # only the three allowed listings above


def test_sign_out_ends_the_session_on_the_server(site: Site) -> None:
    client = site.client()
    client.sign_in("anna", PASSWORD)
    token = client.cookies["callrec"]
    assert client.post("/logout", {}, csrf=client.csrf()).status == 303
    stolen = Client(site.url)
    stolen.cookies["callrec"] = token  # a copy of the cookie kept by someone
    reply = stolen.get("/calls")
    assert reply.status == 303 and reply.location.startswith("/login")


def test_a_session_past_its_idle_or_absolute_timeout_is_refused(site: Site) -> None:
    idle = site.client()
    idle.sign_in("anna", PASSWORD)
    site.clock.advance(timedelta(minutes=14))
    assert idle.get("/calls").status == 200  # used within 15 minutes: still alive
    site.clock.advance(timedelta(minutes=16))
    reply = idle.get("/calls")
    assert (reply.status, reply.location) == (303, "/login?expired=1")
    busy = site.client()
    busy.sign_in("siri", PASSWORD)
    for _ in range(8 * 6 - 1):  # every 10 minutes for 8 hours: never idle
        site.clock.advance(timedelta(minutes=10))
        assert busy.get("/calls").status == 200
    site.clock.advance(timedelta(minutes=10))
    assert busy.get("/calls").location == "/login?expired=1"
    vault = site.vault()
    try:
        reasons = {e.event.reason for e in vault.audit.entries()
                   if e.event.action == "web.session.expire"}  # fmt: skip
    finally:
        vault.close()
    assert {"idle timeout", "absolute timeout"} <= reasons


def test_pages_carry_the_strict_csp_and_no_store(site: Site) -> None:
    client = site.client()
    login = client.get("/login")
    client.sign_in("anna", PASSWORD)
    page = client.get(f"/calls/{site.seeded.calls['dual']}")
    for reply in (login, page):
        csp = reply.header("content-security-policy") or ""
        assert "script-src 'self';" in csp and "default-src 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp
        assert reply.header("cache-control") == "no-store"
        assert reply.header("x-content-type-options") == "nosniff"
        assert "<script>" not in reply.text and " on" + "click=" not in reply.text
    static = client.get("/static/app.js")
    assert static.status == 200 and "max-age" in (static.header("cache-control") or "")


@pytest.mark.parametrize("base", ["https://qa.example.com"])
def test_behind_tls_the_cookie_is_secure_and_host_only(site: Site, base: str) -> None:
    """``[web] public_base_url`` on https: ``__Host-callrec``, Secure (the TLS proxy in
    front speaks http to us, as in production)."""
    seeded = site.seeded
    config = seeded.config
    document = {**config.document, "web": {**config.section("web"), "public_base_url": base}}
    import dataclasses

    tls = dataclasses.replace(seeded, config=dataclasses.replace(config, document=document))
    deps, app = start_site(tls, Clock())
    try:
        with serve_asgi(app) as url:
            client = Client(url)
            assert client.sign_in("anna", PASSWORD).status == 303
            cookie = next(c for c in client.last_set_cookie if c.startswith("__Host-callrec="))
            assert "Secure" in cookie and "HttpOnly" in cookie and "Path=/" in cookie
            assert "Domain" not in cookie
    finally:
        deps.db.close()
