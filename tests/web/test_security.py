"""The server's defences: security headers and the Content-Security-Policy on every answer,
login sessions that are not the token, the token checked before the upload limit, a cap on
requests with a body in flight, and damaged run files that break nothing else."""

import asyncio
import json
import re
import shutil

import pytest
from fastapi.testclient import TestClient

from bmelearn.web import create_app
from bmelearn.web.catalog import Catalog
from bmelearn.web.limits import RequestsInFlight
from bmelearn.web.security import COOKIE

TOKEN = "a-test-token-of-32-characters-xx"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def assert_secured(response):
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff", response.url
    assert headers["X-Frame-Options"] == "DENY" and headers["Referrer-Policy"] == "no-referrer", response.url
    policy = headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "default-src 'none'" in policy, response.url
    assert re.search(r"script-src 'self' 'nonce-[\w-]{16,}'", policy), response.url
    return policy


def test_every_answer_carries_the_security_headers(web_runs, monkeypatch):
    with TestClient(create_app(web_runs, token=TOKEN, max_upload=1_000), raise_server_exceptions=False) as c:
        answers = {
            "page": c.get("/runs", headers=BEARER),
            "json": c.get("/api/v1/runs", headers=BEARER),
            "report": c.get("/runs/demo/report", headers=BEARER),
            "not found": c.get("/api/v1/runs/nothing", headers=BEARER),
            "invalid": c.post("/api/v1/models/demo/lda/predict-array", json={"signals": 1}, headers=BEARER),
            "too large": c.post("/api/v1/models/demo/lda/predict-array", content=b"x" * 5_000, headers=BEARER),
            "no token, API": c.get("/api/v1/runs"),
            "no token, page": c.get("/runs"),
            "login form": c.get("/login"),
            "wrong token": c.post("/login", data={"token": "wrong"}),
        }
        monkeypatch.setattr(Catalog, "runs", lambda self: 1 / 0)
        answers["server error"] = c.get("/api/v1/runs", headers=BEARER)
    statuses = {name: r.status_code for name, r in answers.items()}
    assert statuses == {"page": 200, "json": 200, "report": 200, "not found": 404, "invalid": 422, "too large": 413,
                        "no token, API": 401, "no token, page": 401, "login form": 200, "wrong token": 401,
                        "server error": 500}
    for response in answers.values():
        assert_secured(response)


def test_page_scripts_run_only_with_the_answer_nonce(web_runs):
    with TestClient(create_app(web_runs)) as c:
        pages = [c.get("/compare", params={"run": ["demo", "sim-emg"]}), c.get("/compare", params={"run": ["demo"]})]
    nonces = []
    for page in pages:
        nonce = re.search(r"'nonce-([\w-]+)'", assert_secured(page)).group(1)
        scripts = re.findall(r"<script[^>]*>", page.text)
        assert len(scripts) >= 2  # plotly.js and the figure's own inline script
        assert all(f'nonce="{nonce}"' in tag for tag in scripts)
        nonces.append(nonce)
    assert nonces[0] != nonces[1]


def test_login_cookie_is_a_session_not_the_token(web_runs):
    with TestClient(create_app(web_runs, token=TOKEN)) as c:
        login = c.post("/login", data={"token": TOKEN}, follow_redirects=False)
        assert login.status_code == 303
        cookie = login.headers["set-cookie"]
        session = c.cookies[COOKIE]
        assert TOKEN not in cookie and session != TOKEN and len(session) >= 32
        assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower() and "max-age=43200" in cookie.lower()
        assert c.get("/runs").status_code == 200  # the session opens the pages
        c.cookies.clear()
        c.cookies.set(COOKIE, TOKEN)  # the token itself is not a session
        assert c.get("/runs").status_code == 401
    with TestClient(create_app(web_runs, token=TOKEN)) as other:  # a session ends with its server
        other.cookies.set(COOKIE, session)
        assert other.get("/runs").status_code == 401


def test_token_is_checked_before_the_upload_limit(web_runs):
    body = b"1,2,3,4,5,6\n" * 1_000
    with TestClient(create_app(web_runs, token=TOKEN, max_upload=1_000)) as c:
        url = "/api/v1/models/sim-emg/lda/predict"
        assert c.post(url, files={"files": ("a.txt", body)}).status_code == 401
        refused = c.post(url, files={"files": ("a.txt", body)}, headers=BEARER)
        assert refused.status_code == 413
        assert "limit of 0.001 MB" in refused.json()["detail"] and "--max-upload-mb" in refused.json()["detail"]


def test_requests_with_a_body_wait_their_turn_then_get_503():
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(scope, receive, send):
        entered.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"done"})

    limited = RequestsInFlight(slow, most=1, wait=0.05)

    async def call(method):
        sent = []

        async def send(message):
            sent.append(message)

        async def receive():
            return {"type": "http.request", "body": b"", "more_body": False}

        await limited({"type": "http", "method": method, "path": "/", "headers": []}, receive, send)
        return sent[0]["status"], dict(sent[0]["headers"])

    async def scenario():
        first = asyncio.create_task(call("POST"))
        await entered.wait()
        busy_status, busy_headers = await call("POST")  # the one turn is taken: waits 0.05 s, then 503
        get = asyncio.create_task(call("GET"))  # a request without a body is never held
        await asyncio.sleep(0.01)
        release.set()
        return (await first)[0], busy_status, busy_headers, (await get)[0]

    first, busy, headers, get = asyncio.run(scenario())
    assert (first, busy, get) == (200, 503, 200)
    assert headers[b"retry-after"] == b"5"


def test_api_docs_page_needs_no_external_script(web_runs):
    with TestClient(create_app(web_runs)) as c:
        docs = c.get("/docs")
    assert docs.status_code == 200 and "/api/v1/models/{run_id}/{model}/predict-array" in docs.text
    assert "<script" not in docs.text and "/openapi.json" in docs.text


DAMAGED_CARDS = {
    "not JSON": "{classes: [",
    "signals as a list": {"signals": []},
    "no window": {"window": None},
    "classes a number": {"classes": 5},
    "not a mapping": [1, 2],
}


@pytest.fixture
def damaged_runs(demo_runs, tmp_path):
    """A copy of the demo run, ``demo``, and beside it one copy per damaged card (its lda card), and a run
    whose summary.json is damaged."""
    root = tmp_path / "runs"
    shutil.copytree(demo_runs / "demo", root / "demo")
    card = json.loads((root / "demo" / "models" / "lda.json").read_text())
    for i, damage in enumerate(DAMAGED_CARDS.values()):
        run = root / f"damaged-{i}"
        shutil.copytree(root / "demo", run)
        if isinstance(damage, dict):
            damaged = {k: v for k, v in (card | damage).items() if v is not None}
            text = json.dumps(damaged)
        else:
            text = damage if isinstance(damage, str) else json.dumps(damage)
        (run / "models" / "lda.json").write_text(text)
    shutil.copytree(root / "demo", root / "bad-summary")
    (root / "bad-summary" / "summary.json").write_text(json.dumps({"protocols": {"loso": ["lda"]}}))
    return root


def test_damaged_model_cards_are_listed_as_broken_and_the_others_still_work(damaged_runs):
    with TestClient(create_app(damaged_runs)) as c:
        listed = c.get("/api/v1/models")
        assert listed.status_code == 200
        cards = {(m["run"], m["name"]): m for m in listed.json()}
        for i, name in enumerate(DAMAGED_CARDS):
            broken = cards[(f"damaged-{i}", "lda")]
            assert broken["problem"] and "card of model 'lda'" in broken["problem"], name
            assert broken["classes"] == [] and broken["signals"] == {}
            single = c.get(f"/api/v1/models/damaged-{i}/lda")
            assert single.status_code == 422 and "run the experiment again" in single.json()["detail"], name
            assert cards[(f"damaged-{i}", "rf")]["problem"] is None  # the run's other models are sound
        sound = cards[("demo", "lda")]
        assert sound["problem"] is None and sound["window"]["length"] > 0 and len(sound["classes"]) >= 2
        page = c.get("/models")
        assert page.status_code == 200 and page.text.count("Cannot be used") == len(DAMAGED_CARDS)
        form = c.get("/predict")
        assert form.status_code == 200 and 'value="demo/lda"' in form.text and 'value="damaged-0/lda"' not in form.text
        runs = {r["id"]: r for r in c.get("/api/v1/runs").json()}
        assert "summary.json is damaged" in runs["bad-summary"]["problem"] and runs["bad-summary"]["headline"] is None
        assert runs["demo"]["problem"] is None and runs["demo"]["headline"]["mean"] > 0.5
        assert c.get("/runs").status_code == 200 and c.get("/api/v1/runs/bad-summary").status_code == 200
