"""Access control and the headers every answer carries.

The server listens on loopback by default and needs a token everywhere else. With a token,
every request must carry it (``Authorization: Bearer TOKEN``) or the session cookie that the
``/login`` form sets (a random value, never the token itself). Without either: 401, before
any other part of the application runs, the upload-size limit included; a WebSocket without
either is closed before it opens (code 1008).

Every answer, errors included, carries a Content-Security-Policy (scripts only from the
server itself or inline with the page's nonce), ``X-Content-Type-Options: nosniff``, no
framing (``frame-ancestors 'none'``, ``X-Frame-Options: DENY``) and ``Referrer-Policy:
no-referrer``.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import threading
import time
from pathlib import Path

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bmelearn.errors import ConfigError

COOKIE = "bmelearn_session"
#: A login session lasts 12 hours (s); at most this many are kept (the oldest go first).
SESSION_SECONDS = 12 * 3600
MAX_SESSIONS = 1000
#: Key of the request state that holds the page's script nonce.
NONCE = "csp_nonce"
CSP = ("default-src 'none'; script-src 'self' 'nonce-{nonce}'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer"}
TOKEN_VARIABLE = "BMELEARN_TOKEN"
#: Shortest token accepted: 16 characters.
MIN_TOKEN = 16
LOGIN_PATHS = ("/login",)
#: The close code of a WebSocket refused for want of the token (RFC 6455: policy violation).
WEBSOCKET_REFUSED = 1008


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


class Sessions:
    """The login sessions: random values that ``/login`` gives in exchange for the token."""

    def __init__(self, seconds: float = SESSION_SECONDS, most: int = MAX_SESSIONS):
        self.seconds = seconds
        self.most = most
        self._ends: dict[str, float] = {}
        self._lock = threading.Lock()

    def start(self) -> str:
        """A new session's value."""
        value = secrets.token_urlsafe(32)
        with self._lock:
            self._ends[value] = time.monotonic() + self.seconds
            while len(self._ends) > self.most:
                del self._ends[next(iter(self._ends))]
        return value

    def valid(self, value: str) -> bool:
        """Whether ``value`` is a session that has not ended."""
        with self._lock:
            end = self._ends.get(value)
            if end is not None and end < time.monotonic():
                del self._ends[value]
                end = None
        return end is not None


class TokenRequired:
    """Answer 401 to any request without the token or a session (JSON under /api, a login page
    elsewhere), and close any WebSocket without them before it opens."""

    def __init__(self, app: ASGIApp, token: str, sessions: Sessions):
        self.app = app
        self.token = token
        self.sessions = sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in LOGIN_PATHS:
            await self.app(scope, receive, send)
            return
        connection = HTTPConnection(scope)  # a WebSocket's handshake carries the page's cookie too
        auth = connection.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            allowed = secrets.compare_digest(auth[7:].strip().encode(), self.token.encode())
        else:
            allowed = self.sessions.valid(connection.cookies.get(COOKIE, ""))
        if allowed:
            await self.app(scope, receive, send)
        elif scope["type"] == "websocket":  # refused before it opens: the browser sees a 403
            await send({"type": "websocket.close", "code": WEBSOCKET_REFUSED, "reason": "a token or a login session is required"})
        else:
            await _unauthorized(scope["path"])(scope, receive, send)


class SecurityHeaders:
    """Add the security headers to every answer of ``app``, and give each request a fresh script
    nonce (``request.state.csp_nonce``) that the policy allows."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})[NONCE] = nonce

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                headers = MutableHeaders(scope=message)
                headers.update({**HEADERS, "Content-Security-Policy": CSP.format(nonce=nonce)})
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
