"""A real OpenID Connect provider for the tests, built on Authlib's authorization server.

Served by uvicorn on 127.0.0.1 (``serve_asgi``): discovery
(``/.well-known/openid-configuration``), JWKS (``/jwks``, an RSA-2048 key made at start),
the authorization endpoint (``/authorize``: authorization code, PKCE S256 required, nonce
required) and the token endpoint (``/token``, ``client_secret_basic``), which answers with
an RS256-signed ID token. It is Authlib's own grant code (``AuthorizationCodeGrant``,
``CodeChallenge``, ``OpenIDCode``) with only the storage and HTTP glue written here.

The test decides who is "signed in at the provider" (:attr:`OidcProvider.user`: the
authorization endpoint approves at once, as a provider with a live session does) and can
make the provider misbehave (:attr:`OidcProvider.tamper`): a wrong issuer, a wrong
audience, a wrong nonce, an expired token, or a token signed by another key. Times in the
ID token come from :attr:`OidcProvider.clock`, so they agree with the app's test clock.
"""

from __future__ import annotations

import hmac
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from authlib.oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, OAuth2Request, grants
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, UserInfo
from authlib.oidc.core.grants import OpenIDCode
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

TAMPERS = (None, "issuer", "audience", "nonce", "expired", "foreign_key")


@dataclass
class ProviderUser:
    """Who the provider says is signed in, and the roles claim it hands out."""

    id: str
    roles: list[str]


@dataclass
class _Code(AuthorizationCodeMixin):
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: ProviderUser
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


@dataclass
class _Client(ClientMixin):
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uris: list[str]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in ("openid", "profile"))

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method == "client_secret_basic"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


class _Request(OAuth2Request):
    """Authlib's request object over a Starlette request's query and form."""

    def __init__(self, request: Request, form: dict[str, str]) -> None:
        super().__init__(request.method, str(request.url), headers=request.headers)
        self._args = dict(request.query_params)
        self._form = form
        self.payload = BasicOAuth2Payload({**self._args, **form})

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


class OidcProvider:
    """The provider (see the module docstring); mount :attr:`app` on a server, then set
    :attr:`issuer` to its base URL before the app under test discovers it."""

    def __init__(self, *, client_id: str, client_secret: str, clock: Callable[[], int]) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.clock = clock
        self.issuer = ""
        self.redirect_uris: list[str] = []
        self.user: ProviderUser | None = None
        self.tamper: str | None = None
        self.token_requests = 0
        self.key = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self.foreign = RSAKey.generate_key(2048, parameters={"kid": "k1", "use": "sig"})
        self._codes: dict[str, _Code] = {}
        self._lock = threading.Lock()
        self.server = self._server()
        self.app = Starlette(
            routes=[
                Route("/.well-known/openid-configuration", self._discovery),
                Route("/jwks", self._jwks),
                Route("/authorize", self._authorize),
                Route("/token", self._token, methods=["POST"]),
            ]
        )

    # -- Authlib glue ---------------------------------------------------------------------

    def _server(self) -> AuthorizationServer:
        provider = self

        class Server(AuthorizationServer):  # type: ignore[misc]
            def query_client(self, client_id: str) -> _Client | None:
                if client_id != provider.client_id:
                    return None
                return _Client(provider.client_id, provider.client_secret, provider.redirect_uris)

            def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
                provider.token_requests += 1

            def create_oauth2_request(self, request: Any) -> Any:
                return request

            def handle_response(self, status: int, body: Any, headers: Any) -> Response:
                if isinstance(body, dict):
                    return JSONResponse(body, status_code=status, headers=dict(headers))
                return Response(body or "", status_code=status, headers=dict(headers))

            def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
                return None

        class Grant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic"]

            def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
                data = request.payload.data
                with provider._lock:
                    provider._codes[code] = _Code(
                        code=code, client_id=request.client.get_client_id(),
                        redirect_uri=data.get("redirect_uri", ""), scope=request.scope,
                        user=request.user, nonce=data.get("nonce"),
                        code_challenge=data.get("code_challenge"),
                        code_challenge_method=data.get("code_challenge_method"),
                        auth_time=provider.clock(),
                    )  # fmt: skip

            def query_authorization_code(self, code: str, client: _Client) -> _Code | None:
                with provider._lock:
                    found = provider._codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code: _Code) -> None:
                with provider._lock:
                    provider._codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: _Code) -> ProviderUser:
                return authorization_code.user

        class OpenID(OpenIDCode):  # type: ignore[misc]
            def resolve_client_private_key(self, client: _Client) -> RSAKey:
                return provider.foreign if provider.tamper == "foreign_key" else provider.key

            def get_client_algorithm(self, client: _Client) -> str:
                return "RS256"

            def get_encode_header(self, client: _Client) -> dict[str, str]:
                return {"alg": "RS256", "kid": "k1"}

            def get_client_claims(self, client: _Client) -> dict[str, Any]:
                now = provider.clock()
                if provider.tamper == "expired":
                    now -= 7200
                return {
                    "iss": provider.issuer + ("/other" if provider.tamper == "issuer" else ""),
                    "aud": ["someone-else" if provider.tamper == "audience" else client.client_id],
                    "iat": now,
                    "exp": now + 300,
                    "auth_time": now,
                }

            def get_authorization_code_claims(self, authorization_code: _Code) -> dict[str, Any]:
                claims: dict[str, Any] = super().get_authorization_code_claims(authorization_code)
                if provider.tamper == "nonce":
                    claims["nonce"] = "not-the-nonce-you-sent"
                return claims

            def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
                return False

            def generate_user_info(self, user: ProviderUser, scope: str) -> UserInfo:
                return UserInfo(sub=user.id, preferred_username=user.id, callrec_roles=user.roles)

        server = Server(scopes_supported=["openid", "profile"])
        server.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: secrets.token_urlsafe(32))
        )
        server.register_grant(Grant, [CodeChallenge(required=True), OpenID(require_nonce=True)])
        return server

    # -- HTTP endpoints -------------------------------------------------------------------

    async def _discovery(self, request: Request) -> Response:
        return JSONResponse(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "token_endpoint_auth_methods_supported": ["client_secret_basic"],
            }
        )

    async def _jwks(self, request: Request) -> Response:
        return JSONResponse(KeySet([self.key]).as_dict(private=False))

    async def _authorize(self, request: Request) -> Response:
        req = _Request(request, {})
        grant = self.server.get_consent_grant(req, end_user=self.user)
        response: Response = self.server.create_authorization_response(
            req, grant_user=self.user, grant=grant
        )
        return response

    async def _token(self, request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8")))
        response: Response = self.server.create_token_response(_Request(request, form))
        return response
