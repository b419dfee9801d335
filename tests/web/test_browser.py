"""End to end in a real headless Chromium (Debian's ``chromium``, driven by Playwright): the
server on a free loopback port over the demo run folder, a simulated EMG run and, where the real
recordings are, a 3DC run; uploads are simulated recordings and, with the real data, 3DC ones.
Screenshots are kept in ``test-artifacts/browser/`` (or ``$BMELEARN_ARTIFACTS/browser``)."""

import os
import shutil
import socket
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import uvicorn

from bmelearn.serving import load_model, read_signal
from bmelearn.web import create_app

ARTIFACTS = Path(os.environ.get("BMELEARN_ARTIFACTS", Path(__file__).resolve().parents[2] / "test-artifacts")) / "browser"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is missing on CI: .ci/run installs the Debian package chromium.")
        pytest.skip("no Chromium on this machine (apt-get install chromium chromium-driver)")
    return path


@pytest.fixture(scope="module")
def server(web_runs):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(web_runs), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "the server did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser_page(server):
    """The page, offline but for the server (as on a hospital network: any other address is refused
    and listed), and the errors the browser reports on its console (a script or style that the
    Content-Security-Policy blocked among them; not the 422 that a page answers to a mismatch)."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(30_000)
        outside = []  # as on a hospital network: nothing but the server answers

        def offline(route):
            if route.request.url.startswith(server):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        errors = []
        expected = "the server responded with a status of 422"
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" and expected not in m.text else None)
        page.on("pageerror", lambda error: errors.append(str(error)))
        yield page, errors, outside
        browser.close()


@pytest.fixture
def page(browser_page):
    """The browser page; each test ends with no error on the browser's console and nothing asked
    of any other address than the server."""
    page, errors, outside = browser_page
    errors.clear()
    outside.clear()
    yield page
    assert errors == [] and outside == []


def test_runs_page_and_report(page, server, shared_data_present):
    page.goto(f"{server}/runs")
    rows = page.locator("table#runs tr")
    assert rows.count() == 1 + 2 + shared_data_present  # header, demo, sim-emg (, 3dc-p1)
    listed = [rows.nth(i).inner_text() for i in range(1, rows.count())]
    assert sum("simulator" in row for row in listed) == 2
    page.screenshot(path=ARTIFACTS / "runs.png", full_page=True)
    page.locator("tr", has=page.get_by_role("link", name="demo", exact=True)).get_by_role("link", name="report").click()
    page.wait_for_load_state()
    assert page.title() == "bmelearn report: demo"
    assert page.get_by_role("heading", name="Main results").is_visible()
    page.screenshot(path=ARTIFACTS / "report.png")


def test_compare_the_runs(page, server, shared_data_present):
    page.goto(f"{server}/runs")
    boxes = page.locator("input[name=run]").all()
    assert len(boxes) == 2 + shared_data_present
    for box in boxes:
        box.check()
    page.get_by_role("button", name="Compare the ticked runs").click()
    page.wait_for_selector(".plotly .main-svg")
    # header, demo 2 protocols x 3 pipelines, sim-emg (and 3dc-p1) 1 protocol x 1 pipeline
    assert page.locator("table#comparison tr").count() == 1 + 6 + 1 + shared_data_present
    page.screenshot(path=ARTIFACTS / "compare.png", full_page=True)


def test_model_card(page, server):
    page.goto(f"{server}/models")
    page.get_by_role("link", name="lda").first.click()
    assert "Model card: lda" in page.inner_text("h1")
    assert "Signals it expects" in page.content()
    page.screenshot(path=ARTIFACTS / "model.png", full_page=True)


def test_upload_a_recording_and_see_its_predictions(page, server, recorded, web_runs):
    """Simulated: a simulated EMG file to the simulated run; 3DC: a participant-1 file to the 3DC run."""
    page.goto(f"{server}/predict?model={recorded.model}")
    page.set_input_files("input[name=file_emg]", str(recorded.path))
    page.get_by_role("button", name="Predict").click()
    page.wait_for_selector("#summary")
    assert f"{recorded.n_windows} windows predicted" in page.inner_text("#summary")
    page.wait_for_selector(".plotly .main-svg")
    predicted = page.locator("table#windows tr td:nth-child(4)").all_inner_texts()
    model = load_model(recorded.model_file(web_runs))
    path = recorded.path
    expected = model.predict({"emg": read_signal(path.read_bytes(), path.name, "emg", None, model.signal)})
    assert predicted == list(expected["predicted"])
    assert len(predicted) == recorded.n_windows and predicted.count(recorded.label) >= recorded.min_correct
    page.screenshot(path=ARTIFACTS / f"predictions-{recorded.kind}.png", full_page=True)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download the predictions (CSV)").click()
    assert download.value.suggested_filename == f"predictions-{path.stem}.csv"
    table = pd.read_csv(download.value.path())
    assert list(table["predicted"]) == predicted


def test_mismatched_recording_gets_a_clear_message(page, server, recorded):
    page.goto(f"{server}/predict?model=demo/lda")
    page.set_input_files("input[name=file_emg]", str(recorded.path))
    page.get_by_role("button", name="Predict").click()
    message = page.inner_text("#error")
    assert f"{len(recorded.channels)} channels, but the model expects 8 emg channels" in message
    page.screenshot(path=ARTIFACTS / f"mismatch-{recorded.kind}.png")


def test_api_page_renders_offline(page, server):
    page.goto(f"{server}/docs")
    assert page.get_by_role("heading", name="JSON API").is_visible()
    assert page.locator("table tr").count() >= 8  # header and the operations
    page.screenshot(path=ARTIFACTS / "api.png", full_page=True)


def test_pages_fit_a_phone_screen(page, server, recorded):
    """At 390 px (a phone), no page is wider than the screen: wide tables scroll in their own box."""
    page.set_viewport_size({"width": 390, "height": 844})
    try:
        for url in ("/runs", "/models", f"/models/{recorded.model}", "/runs/demo", "/docs", f"/predict?model={recorded.model}"):
            page.goto(f"{server}{url}")
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, url
    finally:
        page.set_viewport_size({"width": 1400, "height": 900})
