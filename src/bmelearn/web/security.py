"""Access control: loopback by default, and a token everywhere else.

With a token, every request must carry it: ``Authorization: Bearer TOKEN``, or the
``bmelearn_token`` cookie that the ``/login`` form sets. Without it: 401, before any other
part of the application runs.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from bmelearn.errors import ConfigError

COOKIE = "bmelearn_token"
TOKEN_VARIABLE = "BMELEARN_TOKEN"
#: Shortest token accepted: 16 characters.
MIN_TOKEN = 16
LOGIN_PATHS = ("/login",)


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def load_token(token_file: Path | None) -> str | None:
    """The access token from ``token_file`` if given, else from the ``BMELEARN_TOKEN`` variable."""
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"--token-file {token_file}: cannot read it ({exc.strerror}).") from None
        source = f"--token-file {token_file}"
    else:
        token = os.environ.get(TOKEN_VARIABLE, "").strip()
        source = TOKEN_VARIABLE
    if not token:
        return None
    if len(token) < MIN_TOKEN:
        raise ConfigError(f"{source}: the token has {len(token)} characters; use at least {MIN_TOKEN} "
                          "(python -c 'import secrets; print(secrets.token_urlsafe(32))').")
    return token


def check_binding(host: str, token: str | None) -> None:
    """Refuse to serve beyond this machine without a token."""
    if not is_loopback(host) and token is None:
        raise ConfigError(f"--host {host} makes the server reachable from other machines, so every request needs a "
                          f"token: set {TOKEN_VARIABLE} or pass --token-file. There is no default token.")


class TokenRequired:
    """Answer 401 to any request without the token (JSON under /api, a login page elsewhere)."""

    def __init__(self, app: ASGIApp, token: str):
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in LOGIN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        given = request.cookies.get(COOKIE, "")
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            given = auth[7:].strip()
        if secrets.compare_digest(given.encode(), self.token.encode()):
            await self.app(scope, receive, send)
            return
        await _unauthorized(scope["path"])(scope, receive, send)


def _unauthorized(path: str) -> Response:
    headers = {"WWW-Authenticate": "Bearer"}
    if path.startswith("/api/"):
        return JSONResponse({"detail": "a token is required: send 'Authorization: Bearer TOKEN'."}, 401, headers)
    return HTMLResponse(LOGIN_FORM, 401, headers)


LOGIN_FORM = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bmelearn: sign in</title></head>
<body style="font-family:system-ui,sans-serif;max-width:30rem;margin:4rem auto">
<h1>bmelearn</h1><p>This server needs its access token.</p>
<form method="post" action="/login"><label>Token <input type="password" name="token" autofocus></label>
<button type="submit">Sign in</button></form></body></html>"""
