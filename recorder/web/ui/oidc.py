"""OpenID Connect sign-in (authorization code + PKCE S256) against the bank's identity provider.

The only module that imports ``authlib``, ``joserfc`` (Authlib's JOSE library) and
``requests`` (Authlib's HTTP client); they are the ``oidc`` extra, imported when
``[web.oidc]`` is configured, so local accounts need none of them.

The flow:

1. :meth:`OidcClient.begin`: fresh ``state``, ``nonce`` and PKCE verifier (from ``rng``);
   the caller stores them (``storage.web_auth``, by the digest of ``state``) and sends the
   browser to the provider's ``authorization_endpoint`` (from discovery).
2. :meth:`OidcClient.finish`: the ``code`` is exchanged at the ``token_endpoint`` with the
   verifier; the ID token's signature is checked against the provider's JWKS (fetched again
   once when a key id is unknown: key rotation), then its claims with Authlib's
   ``CodeIDToken`` at the app's clock: ``iss`` = the configured issuer, ``aud`` contains
   our client id (and ``azp`` when there are several), ``nonce`` = ours, ``exp`` not passed,
   ``iat`` not in the future (60 s leeway). The user id and roles come from the configured
   claims; :func:`recorder.web.ui.auth.sign_in_oidc` then checks them against the org chart.

Any failure raises :class:`SignInFailed` with a fixed reason (audited); no token, code or
claim value is logged or shown.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ClaimError,
    ExpiredTokenError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from recorder.errors import ConfigError, SignInFailed
from recorder.web.ui.settings import OidcSettings, checked_issuer
from storage.models import Rng

TIMEOUT_S = 10.0
LEEWAY_S = 60
ALGORITHMS = ("RS256", "ES256", "PS256", "EdDSA")
_CLAIM_REASONS = {
    "iss": "wrong issuer",
    "aud": "wrong audience",
    "azp": "wrong audience",
    "nonce": "wrong nonce",
    "iat": "token not yet valid",
    "nbf": "token not yet valid",
    "exp": "token expired",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """Who the identity provider says signed in (not yet checked against the org chart)."""

    user_id: str
    roles: frozenset[str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Started:
    """A sign-in sent to the provider: where to send the browser, and what to remember."""

    url: str = field(repr=False)
    state: str = field(repr=False)
    nonce: str = field(repr=False)
    code_verifier: str = field(repr=False)


def _random(rng: Rng) -> str:
    return base64.urlsafe_b64encode(rng(32)).rstrip(b"=").decode("ascii")


class OidcClient:
    """One relying party (our client id) at one provider; discovery and JWKS are cached."""

    def __init__(self, settings: OidcSettings, redirect_uri: str) -> None:
        self.settings = settings
        self.redirect_uri = redirect_uri
        self._lock = threading.Lock()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None

    def _session(self) -> OAuth2Session:
        s = self.settings
        return OAuth2Session(
            client_id=s.client_id,
            client_secret=s.client_secret,
            scope=" ".join(s.scopes),
            redirect_uri=self.redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic" if s.client_secret else "none",
            default_timeout=TIMEOUT_S,
        )

    def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = requests.get(url, timeout=TIMEOUT_S, allow_redirects=False)
            response.raise_for_status()
            data = response.json()
        except (requests.RequestException, ValueError):
            raise SignInFailed("identity provider unreachable") from None
        if not isinstance(data, dict):
            raise SignInFailed("identity provider answered nonsense")
        return data

    def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (its ``issuer`` must be the configured one)."""
        with self._lock:
            if self._metadata is None:
                issuer = self.settings.issuer
                data = self._get_json(f"{issuer}/.well-known/openid-configuration")
                if data.get("issuer") != issuer:
                    raise SignInFailed("discovery names another issuer")
                for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                    value = data.get(key)
                    if not isinstance(value, str):
                        raise SignInFailed("discovery document incomplete")
                    try:
                        checked_issuer(value, key)
                    except ConfigError:
                        raise SignInFailed("discovery names an insecure endpoint") from None
                self._metadata = data
            return self._metadata

    def _key_set(self, *, refresh: bool) -> KeySet:
        with self._lock:
            if self._keys is not None and not refresh:
                return self._keys
        data = self._get_json(str(self.metadata()["jwks_uri"]))
        try:
            keys = KeySet.import_key_set(data)  # type: ignore[arg-type]
        except (JoseError, ValueError, TypeError, KeyError):
            raise SignInFailed("identity provider keys unreadable") from None
        with self._lock:
            self._keys = keys
        return keys

    def begin(self, rng: Rng) -> Started:
        """A new sign-in: the provider URL to redirect to, and the secrets to keep."""
        state, nonce, verifier = _random(rng), _random(rng), _random(rng) + _random(rng)
        url, _ = self._session().create_authorization_url(
            self.metadata()["authorization_endpoint"],
            state=state,
            code_verifier=verifier,
            nonce=nonce,
        )
        return Started(url=str(url), state=state, nonce=nonce, code_verifier=verifier)

    def _exchange(self, code: str, verifier: str) -> str:
        try:
            token = self._session().fetch_token(
                self.metadata()["token_endpoint"], code=code, code_verifier=verifier
            )
        except (requests.RequestException, ValueError):
            raise SignInFailed("identity provider unreachable") from None
        except Exception:  # noqa: BLE001 - Authlib's OAuthError: the provider said no
            raise SignInFailed("the identity provider refused the code") from None
        id_token = token.get("id_token") if isinstance(token, dict) else None
        if not isinstance(id_token, str):
            raise SignInFailed("no ID token in the answer")
        return id_token

    def _decode(self, id_token: str) -> jwt.Token:
        for refresh in (False, True):
            try:
                return jwt.decode(id_token, self._key_set(refresh=refresh), algorithms=ALGORITHMS)
            except InvalidKeyIdError:  # no key with that kid (the provider rotated): refetch once
                if refresh:
                    raise SignInFailed("token signed with an unknown key") from None
            except BadSignatureError:
                raise SignInFailed("bad token signature") from None
            except (JoseError, TypeError):
                raise SignInFailed("malformed token") from None
        raise SignInFailed("malformed token")  # pragma: no cover - the loop returns or raises

    def finish(self, code: str, *, nonce: str, code_verifier: str, now: datetime) -> Identity:
        """Exchange ``code`` and verify the ID token (see the module docstring)."""
        if not code or len(code) > 2048:
            raise SignInFailed("malformed callback")
        token = self._decode(self._exchange(code, code_verifier))
        s = self.settings
        claims = CodeIDToken(
            token.claims,
            token.header,
            options={
                "iss": {"essential": True, "value": s.issuer},
                "aud": {"essential": True, "value": s.client_id},
            },
            params={"nonce": nonce, "client_id": s.client_id},
        )
        try:
            if token.claims.get("nonce") is None:
                raise MissingClaimError("nonce")
            claims.validate(now=int(now.timestamp()), leeway=LEEWAY_S)
        except ExpiredTokenError:
            raise SignInFailed("token expired") from None
        except MissingClaimError as exc:
            known = exc.claim if exc.claim in _CLAIM_REASONS else "a required claim"
            raise SignInFailed(f"token lacks {known}") from None
        except ClaimError as exc:
            raise SignInFailed(_CLAIM_REASONS.get(exc.claim, "token claims invalid")) from None
        except JoseError:
            raise SignInFailed("token claims invalid") from None
        return _identity(token.claims, s)


def _identity(claims: dict[str, Any], settings: OidcSettings) -> Identity:
    user = claims.get(settings.user_claim)
    if not isinstance(user, str) or not 1 <= len(user) <= 64:
        raise SignInFailed("token lacks the user claim")
    raw = claims.get(settings.roles_claim, [])
    if isinstance(raw, str):
        raw = raw.split()
    if not isinstance(raw, list):
        raise SignInFailed("roles claim is not a list")
    return Identity(user_id=user, roles=frozenset(r for r in raw if isinstance(r, str)))
