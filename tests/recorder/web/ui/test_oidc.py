"""OpenID Connect sign-in against a real provider (Authlib's server, on 127.0.0.1).

Proved: discovery, the authorization code flow with PKCE S256 and a nonce, the token
endpoint with client authentication and the ID token's RS256 signature checked against the
provider's JWKS; the user id and roles come from the configured claims and are checked
against the org chart (roles the chart does not give are dropped); a wrong issuer, a wrong
audience, a wrong nonce, an expired token, a token signed by another key, a callback from
another browser and a replayed callback are all refused, and every refusal is audited.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.recorder.web.ui.client import Client, Reply
from tests.recorder.web.ui.conftest import start_site
from tests.recorder.web.ui.seed import Clock, Seeded
from tests.servers.asgi import serve_asgi
from tests.servers.oidc import OidcProvider, ProviderUser

SECRET = "oidc-client-secret-for-tests"  # noqa: S105 - a test secret


@dataclass(frozen=True)
class SsoSite:
    url: str
    provider: OidcProvider
    clock: Clock
    seeded: Seeded

    def sign_in(self, browser: Client, user: ProviderUser | None) -> Reply:
        """What a browser does: to us, to the provider, back to our callback."""
        self.provider.user = user
        start = browser.get("/login/oidc")
        assert start.status == 303, start.text
        authorize = urlsplit(start.location)
        assert start.location.startswith(self.provider.issuer + "/authorize?")
        query = parse_qs(authorize.query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"][0]
        at_provider = Client(self.provider.issuer).get(f"{authorize.path}?{authorize.query}")
        assert at_provider.status == 302, at_provider.text
        back = urlsplit(at_provider.location)
        assert f"{back.scheme}://{back.netloc}" == self.url
        return browser.get(f"{back.path}?{back.query}")


@pytest.fixture(scope="module")
def sso(seeded: Seeded) -> Iterator[SsoSite]:
    clock = Clock()
    provider = OidcProvider(
        client_id="callrec", client_secret=SECRET, clock=lambda: int(clock().timestamp())
    )
    with serve_asgi(provider.app) as idp:
        provider.issuer = idp
        oidc = {"issuer": idp, "client_id": "callrec", "roles_claim": "callrec_roles"}
        web = {**seeded.config.section("web"), "oidc": oidc}
        config = dataclasses.replace(seeded.config, document={**seeded.config.document, "web": web})
        deps, app = start_site(
            dataclasses.replace(seeded, config=config), clock,
            environ={"CALLREC_OIDC_CLIENT_SECRET": SECRET},
        )  # fmt: skip
        try:
            with serve_asgi(app) as url:
                assert deps.oidc is not None
                deps.oidc.redirect_uri = f"{url}/login/oidc/callback"
                provider.redirect_uris = [deps.oidc.redirect_uri]
                yield SsoSite(url=url, provider=provider, clock=clock, seeded=seeded)
        finally:
            deps.db.close()


@pytest.fixture(autouse=True)
def _honest_provider(sso: SsoSite) -> None:
    sso.provider.tamper = None


def _signins(sso: SsoSite) -> list[tuple[str, str, str | None]]:
    from storage.keyring import FileKeyRing
    from storage.vault import Vault

    vault = Vault.open(sso.seeded.home, FileKeyRing.load(sso.seeded.keyring))
    try:
        return [(e.event.actor_id, e.event.outcome, e.event.reason)
                for e in vault.audit.entries() if e.event.action == "web.signin"]  # fmt: skip
    finally:
        vault.close()


def test_sign_in_through_the_provider_gives_the_org_charts_roles_only(sso: SsoSite) -> None:
    browser = Client(sso.url)
    landed = sso.sign_in(browser, ProviderUser("siri", ["supervisor", "admin", "dpo"]))
    assert landed.status == 200 and 'http-equiv="refresh" content="0;url=/calls"' in landed.text
    assert "callrec" in browser.cookies
    calls = browser.get("/calls")
    assert calls.status == 200 and 'siri <span class="roles">(supervisor)</span>' in calls.text
    assert browser.get("/access").status == 403  # the token said dpo; the org chart does not
    assert sso.provider.token_requests >= 1
    assert ("siri", "ok", "signed in") in _signins(sso)


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("issuer", "wrong issuer"),
        ("audience", "wrong audience"),
        ("nonce", "wrong nonce"),
        ("expired", "token expired"),
        ("foreign_key", "bad token signature"),
    ],
)
def test_a_bad_id_token_is_refused_and_audited(sso: SsoSite, tamper: str, reason: str) -> None:
    sso.provider.tamper = tamper
    browser = Client(sso.url)
    refused = sso.sign_in(browser, ProviderUser("siri", ["supervisor"]))
    assert refused.status == 401 and f"Single sign-on failed: {reason}." in refused.text
    assert "callrec" not in browser.cookies
    assert browser.get("/calls").status == 303
    assert ("(unknown)", "denied", reason) in _signins(sso)


def test_users_outside_the_org_chart_or_without_a_role_are_refused(sso: SsoSite) -> None:
    stranger = sso.sign_in(Client(sso.url), ProviderUser("mallory", ["admin"]))
    assert stranger.status == 403 and "user is not in the org chart" in stranger.text
    no_role = sso.sign_in(Client(sso.url), ProviderUser("anna", ["supervisor"]))
    assert no_role.status == 403 and "no callrec role in the token" in no_role.text
    assert ("anna", "denied", "no callrec role in the token") in _signins(sso)


def test_a_callback_from_another_browser_or_a_replay_is_refused(sso: SsoSite) -> None:
    sso.provider.user = ProviderUser("siri", ["supervisor"])
    victim, attacker = Client(sso.url), Client(sso.url)
    start = attacker.get("/login/oidc")
    authorize = urlsplit(start.location)
    back = urlsplit(Client(sso.provider.issuer).get(f"{authorize.path}?{authorize.query}").location)
    callback = f"{back.path}?{back.query}"
    forced = victim.get(callback)  # login CSRF: the attacker's code in the victim's browser
    assert forced.status == 401 and "did not start in this browser" in forced.text
    flow_cookie = attacker.cookies["callrec-oidc"]
    assert attacker.get(callback).status == 200
    attacker.cookies["callrec-oidc"] = flow_cookie  # even with the cookie kept: single use
    replay = attacker.get(callback)
    assert replay.status == 401 and "expired or was already used" in replay.text


def test_a_refusal_at_the_provider_signs_nobody_in(sso: SsoSite) -> None:
    browser = Client(sso.url)
    start = browser.get("/login/oidc")
    authorize = urlsplit(start.location)
    sso.provider.user = None
    denied = Client(sso.provider.issuer).get(f"{authorize.path}?{authorize.query}")
    back = urlsplit(denied.location)
    assert "error=access_denied" in back.query
    reply = browser.get(f"{back.path}?{back.query}")
    assert reply.status == 401 and "callrec" not in browser.cookies
