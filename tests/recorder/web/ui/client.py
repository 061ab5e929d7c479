"""A cookie-keeping HTTP client over stdlib ``http.client``, for the web app's HTTP tests.

Real sockets to the real server on 127.0.0.1; no redirects are followed (tests look at
them). :meth:`Client.sign_in` does what a browser does: fetch the form, send it back with
its CSRF token and the pre-sign-in cookie.
"""

from __future__ import annotations

import http.client
import re
from dataclasses import dataclass
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass(frozen=True)
class Reply:
    """One answer: status, headers (lower-case names, all values) and body."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name.lower():
                return value
        return None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name.lower()]

    @property
    def location(self) -> str:
        return self.header("location") or ""

    def csrf(self) -> str:
        found = _CSRF_META.search(self.text) or _CSRF_FIELD.search(self.text)
        assert found, "no CSRF token on the page"
        return found.group(1)


class Client:
    """One "browser": its own cookie jar."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.origin = f"{parts.scheme}://{parts.netloc}"
        self.cookies: dict[str, str] = {}
        self.last_set_cookie: list[str] = []

    def request(
        self,
        method: str,
        path: str,
        *,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        body: bytes | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        if body is not None:
            sent["Content-Length"] = str(len(body))
        elif method == "POST":
            sent["Content-Length"] = "0"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            data = response.read()
            got = [(k.lower(), v) for k, v in response.getheaders()]
        finally:
            conn.close()
        self.last_set_cookie = [v for k, v in got if k == "set-cookie"]
        for raw in self.last_set_cookie:
            jar: SimpleCookie = SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Reply(status=response.status, headers=got, body=data)

    def get(self, path: str, **kw: object) -> Reply:
        return self.request("GET", path, **kw)  # type: ignore[arg-type]

    def post(self, path: str, form: dict[str, str], *, csrf: str | None = None,
             headers: dict[str, str] | None = None) -> Reply:  # fmt: skip
        if csrf is not None:
            form = {**form, "csrf": csrf}
        return self.request("POST", path, form=form, headers=headers)

    def sign_in(self, user: str, password: str, *, next_path: str = "/calls") -> Reply:
        page = self.get("/login")
        return self.post(
            "/login", {"user": user, "password": password, "next": next_path}, csrf=page.csrf()
        )

    def csrf(self, path: str = "/calls") -> str:
        """The CSRF token of the signed-in session (from any page)."""
        return self.get(path).csrf()
