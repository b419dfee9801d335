"""The web application: dashboard pages and the JSON API over one runs folder."""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.middleware import Middleware
from starlette.types import ASGIApp

from bmelearn import __version__
from bmelearn.web import api, pages
from bmelearn.web.catalog import Catalog
from bmelearn.web.jobs import Jobs
from bmelearn.web.limits import BodyLimit, RequestsInFlight
from bmelearn.web.live import LiveFeed
from bmelearn.web.live import router as live_router
from bmelearn.web.security import COOKIE, LOGIN_FORM, SESSION_SECONDS, SecurityHeaders, Sessions, TokenRequired

#: Default upload limit (bytes): 50 MB, about 20 min of 10-channel EMG at 1 kHz as text.
MAX_UPLOAD = 50_000_000


class _App(FastAPI):
    """FastAPI with :class:`SecurityHeaders` around everything, so that even its own error answers
    (500) carry the headers."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityHeaders(super().build_middleware_stack())


def create_app(runs_dir: str | Path, token: str | None = None, max_upload: int = MAX_UPLOAD, workers: int = 2,
               live: LiveFeed | None = None) -> FastAPI:
    """The ASGI application serving the runs under ``runs_dir``.

    In order, for each request: with ``token``, a request without it or a login session is
    answered 401 (see :mod:`bmelearn.web.security`); a body over ``max_upload`` bytes, 413; at
    most ``workers`` requests with a body are handled at once (the others wait, see
    :mod:`bmelearn.web.limits`); ``workers`` threads run the predictions started from the pages.
    With ``live``, the feed of an online decoding, the page ``/live`` shows it as it goes
    (:mod:`bmelearn.web.live`); without, that page says how to start one.
    """
    jobs = Jobs(workers)
    sessions = Sessions()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        yield
        jobs.shutdown()

    middleware = [Middleware(TokenRequired, token=token, sessions=sessions)] if token is not None else []
    middleware += [Middleware(BodyLimit, most=max_upload),
                   Middleware(RequestsInFlight, most=workers)]
    app = _App(title="bmelearn", version=__version__, lifespan=lifespan, middleware=middleware,
               docs_url=None, redoc_url=None,
               description="Runs, saved models and predictions of bmelearn, version 1 of the API under /api/v1. "
                           f"Request bodies over {max_upload / 1e6:g} MB are refused (413).")
    app.state.catalog = Catalog(runs_dir)
    app.state.jobs = jobs
    app.state.max_upload = max_upload
    app.state.live = live
    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(live_router)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        """422 naming where and what is wrong, never echoing the values sent (patient data, and
        NaN, which JSON cannot carry)."""
        return JSONResponse({"detail": [{k: e[k] for k in ("type", "loc", "msg") if k in e} for e in exc.errors()]}, 422)

    @app.get("/login", include_in_schema=False)
    def login_form() -> HTMLResponse:
        return HTMLResponse(LOGIN_FORM)

    @app.post("/login", include_in_schema=False)
    def login(token_given: Annotated[str, Form(alias="token")] = "") -> Response:
        if token is None:
            return RedirectResponse("/runs", 303)
        if not secrets.compare_digest(token_given.encode(), token.encode()):
            return HTMLResponse(LOGIN_FORM, 401)
        response = RedirectResponse("/runs", 303)
        response.set_cookie(COOKIE, sessions.start(), max_age=SESSION_SECONDS, httponly=True, samesite="strict")
        return response

    return app
