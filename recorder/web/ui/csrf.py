"""Cross-site request forgery: a token on every form and htmx request, and an origin check.

Three layers, because each one alone has failed somewhere:

1. Cookies are ``SameSite=Strict``: a cross-site request carries no session at all.
2. Every state-changing request (any method but GET/HEAD) and every htmx request must
   carry the token, in the ``csrf`` form field or the ``X-CSRF-Token`` header (which the
   page configures htmx to send). The token is derived from the session's own secret
   cookie (HKDF, :func:`csrf_token`), so nothing is stored, it changes with every
   session, and a forger who cannot read the cookie cannot compute it. Before sign-in the
   same is done with a short-lived anonymous cookie (login CSRF).
3. A request whose ``Sec-Fetch-Site`` says ``cross-site`` or ``same-site`` is refused
   before the token is even looked at; from a browser that sends no fetch metadata, one
   whose ``Origin`` is another site's is refused too.

Comparison is constant-time (:func:`hmac.compare_digest`).
"""

from __future__ import annotations

import base64
import hmac
from collections.abc import Mapping

from storage.crypto import derive_mac_key

HEADER = "x-csrf-token"
FIELD = "csrf"
_INFO = b"callrec web csrf v1"
SAFE_METHODS = frozenset({"GET", "HEAD"})


def csrf_token(secret: str) -> str:
    """The CSRF token that goes with the cookie value ``secret``."""
    raw = secret.encode("ascii", "replace").ljust(16, b"\0")
    return base64.urlsafe_b64encode(derive_mac_key(raw, info=_INFO)).rstrip(b"=").decode()


def token_matches(secret: str | None, presented: str | None) -> bool:
    """True if ``presented`` is the token of ``secret`` (constant-time)."""
    if not secret or not presented or len(presented) > 128:
        return False
    return hmac.compare_digest(csrf_token(secret).encode(), presented.encode("ascii", "replace"))


def same_origin(headers: Mapping[str, str], origin: str) -> bool:
    """False if the browser says the request came from another site (see the docstring).

    ``origin`` is ours, ``scheme://host[:port]``. Requests without these headers (old
    browsers, scripts) fall through to the token check.
    """
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    sent = headers.get("origin")
    return sent is None or sent in ("null", origin)
