"""Limits that keep the server's memory bounded: the size of a request body, and how many
requests with a body (uploads, arrays to predict) are handled at once."""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: A request with a body waits this long (s) for its turn before it is answered 503.
WAIT_SECONDS = 30.0


class BodyLimit:
    """Refuse a request whose body is over ``most`` bytes with 413 naming the limit: at once when
    its Content-Length says so, else as soon as the bytes that arrive pass the limit."""

    def __init__(self, app: ASGIApp, most: int):
        self.app = app
        self.most = most
        self.detail = (f"the request is larger than this server's limit of {most / 1e6:g} MB (bmelearn serve "
                       "--max-upload-mb); send a shorter recording or raise the limit.")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.most:
            await JSONResponse({"detail": self.detail}, 413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.most:
                raise HTTPException(413, self.detail)
            return message

        await self.app(scope, counted, send)


class RequestsInFlight:
    """Handle at most ``most`` requests with a body at once (a 29 MB JSON array takes about
    400 MB while it is parsed and predicted); the others wait up to ``wait`` seconds, then get
    503 with ``Retry-After``. Requests without a body are never held."""

    def __init__(self, app: ASGIApp, most: int, wait: float = WAIT_SECONDS):
        self.app = app
        self.most = most
        self.wait = wait
        self._turns = asyncio.Semaphore(most)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        try:
            await asyncio.wait_for(self._turns.acquire(), self.wait)
        except TimeoutError:
            busy = JSONResponse({"detail": f"the server is busy with {self.most} requests; try again in a few seconds."},
                                503, {"Retry-After": "5"})
            await busy(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            self._turns.release()
