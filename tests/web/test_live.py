"""The live page of an online decoding: the feed the decoding thread writes (its reduction of the
signal, its counts and delay percentiles), the WebSocket that sends it (with and without a feed,
behind a token, from another site) and the page in a real headless Chromium, fed simulated EMG
and simulated decisions. The screenshot is kept as ``test-artifacts/browser/live.png``."""

import json
import re
import socket
import threading
import time

import numpy as np
import pytest
import uvicorn
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from bmelearn.web import create_app
from bmelearn.web import live as live_module
from bmelearn.web.live import MAX_SHOWN, LiveFeed
from bmelearn.web.security import COOKIE
from tests.web.test_browser import ARTIFACTS, _chromium

TOKEN = "a-test-token-of-32-characters-xx"


def fed_in_chunks(feed: LiveFeed, samples: np.ndarray, sizes=(1, 7, 33, 0, 250)) -> None:
    """``samples`` given to ``feed`` in chunks of uneven sizes, as an amplifier's come."""
    first, k = 0, 0
    while first < len(samples):
        size = sizes[k % len(sizes)]
        feed.samples(samples[first:first + size])
        first, k = first + size, k + 1


def test_the_signal_kept_is_the_last_seconds_as_lows_and_highs():
    feed = LiveFeed("emg", ["a", "b"], fs=100, classes=["rest"], seconds=2, points=20)  # 10 bins of 20 samples
    ramp = np.arange(1000.0)
    fed_in_chunks(feed, np.column_stack([ramp, -ramp]))
    signal = feed.snapshot()["signal"]
    assert signal["seconds"] == 2.0 and signal["bins"] == 10 and signal["bin_s"] == 0.2
    assert signal["low"][0] == [800.0 + 20 * k for k in range(10)]  # samples 800-999: the last 2 s
    assert signal["high"][0] == [819.0 + 20 * k for k in range(10)]
    assert signal["low"][1] == [-819.0 - 20 * k for k in range(10)]
    assert signal["high"][1] == [-800.0 - 20 * k for k in range(10)]
    feed.samples(np.ones((15, 2)))  # a bin begun is not shown until it is complete
    assert feed.snapshot()["signal"]["high"][0][-1] == 999.0
    feed.samples(np.full((5, 2), 2000.0))
    assert feed.snapshot()["signal"]["high"][0][-1] == 2000.0 and feed.snapshot()["signal"]["low"][0][-1] == 1.0


def test_a_one_sample_burst_keeps_its_full_height():
    feed = LiveFeed("emg", ["a"], fs=100, classes=["rest"], seconds=2, points=20)
    signal = np.zeros((1000, 1))
    signal[905], signal[906], signal[100] = 5.0, -3.0, 9.0  # sample 100 is older than 2 s
    fed_in_chunks(feed, signal)
    state = feed.snapshot()["signal"]
    assert state["high"][0] == [0.0] * 5 + [5.0] + [0.0] * 4  # samples 900-919 are the 6th bin of 800-999
    assert state["low"][0] == [0.0] * 5 + [-3.0] + [0.0] * 4


def test_few_samples_and_a_chunk_longer_than_the_screen():
    feed = LiveFeed("emg", ["a"], fs=1000, classes=["rest"], seconds=5, points=500)  # 250 bins of 20 samples
    feed.samples(np.arange(50.0)[:, None])
    assert feed.snapshot()["signal"]["high"][0] == [19.0, 39.0]
    feed.samples(np.arange(50.0, 20_050.0)[:, None])  # 20 s at once: only the last 5 s stay
    state = feed.snapshot()
    assert len(state["signal"]["low"][0]) == 250 and state["samples"] == 20_050
    assert state["signal"]["low"][0][0] == 15_040.0  # rounded to tens: the range on screen is 5000
    with pytest.raises(ValueError, match="2 channels|1 channels"):
        feed.samples(np.zeros((3, 2)))


def test_delay_percentiles_are_numpys_over_the_last_thousand():
    rng = np.random.default_rng(1)
    latencies, processing = rng.gamma(2.0, 0.01, 1500), rng.uniform(0.001, 0.004, 1500)
    feed = LiveFeed("emg", ["a"], fs=1000, classes=["rest", "fist"])
    for k, (lat, proc) in enumerate(zip(latencies, processing, strict=True)):
        feed.decided({"decision": "rest", "confidence": 0.9, "latency": lat, "processing": proc, "window": k})
    delays = feed.snapshot()["delay_ms"]
    assert delays["count"] == 1000
    for kind, values in (("latency", latencies), ("processing", processing)):
        expected = np.percentile(values[-1000:] * 1000, [50, 95, 99])
        got = [delays[kind][p] for p in ("p50", "p95", "p99")]
        assert got == pytest.approx(expected, abs=0.006), kind
    assert delays["latency"]["p50"] != pytest.approx(np.percentile(latencies * 1000, 50), abs=0.006)  # not all 1500


def test_counts_and_the_current_decision():
    feed = LiveFeed("emg", ["a"], fs=1000, classes=["rest", "fist", "open"])
    assert feed.snapshot()["decision"] is None and feed.snapshot()["delay_ms"]["latency"]["p50"] is None
    for k, decision in enumerate(["fist", "fist", "", "rest", None, float("nan"), "pinch", "fist"]):
        feed.decided({"decision": decision, "confidence": 0.5 + k / 20, "latency": 0.01, "processing": 0.002, "window": k})
    state = feed.snapshot()
    assert state["counts"] == {"rest": 1, "fist": 3, "open": 0, "pinch": 1}  # a class the model did not list, too
    assert state["no_decision"] == 3 and state["decisions"] == 8
    assert (state["decision"], state["confidence"], state["window"], state["velocity"]) == ("fist", 0.85, 7, None)
    feed.decided({"decision": "fist", "velocity": 0.25})
    assert feed.snapshot()["velocity"] == 0.25
    feed.decided({"decision": "", "confidence": 0.3, "latency": 0.01, "processing": 0.002, "window": 9})
    assert feed.snapshot()["decision"] == ""  # no decision is shown as such, not the one before


def test_messages_and_the_end():
    feed = LiveFeed("emg", ["a"], fs=1000, classes=["rest"])
    before = feed.snapshot()["sequence"]
    for k in range(25):
        feed.said(f"message {k}")
    feed.finished("the stream closed")
    state = feed.snapshot()
    assert [m["text"] for m in state["messages"]] == [f"message {k}" for k in range(5, 25)]
    assert all(len(m["time"]) == 8 for m in state["messages"])  # HH:MM:SS
    assert state["finished"] and state["finished_reason"] == "the stream closed" and state["sequence"] == before + 26


def test_the_snapshot_is_json_without_nan():
    feed = LiveFeed("emg", ["a", "b"], fs=100, classes=["rest"], seconds=1, points=10)
    samples = np.ones((200, 2))
    samples[180:, 0] = np.nan  # the last bin of channel a has no value
    samples[50, 1] = np.inf
    feed.samples(samples)
    feed.decided({"decision": "rest", "confidence": float("nan"), "latency": float("inf"), "processing": None, "window": 0})
    state = json.loads(json.dumps(feed.snapshot(), allow_nan=False))
    assert state["signal"]["low"][0][-1] is None and state["signal"]["low"][0][0] == 1.0
    assert state["confidence"] is None and state["delay_ms"]["latency"]["p99"] is None


def test_more_channels_than_shown():
    names = [f"EMG{i + 1}" for i in range(40)]
    feed = LiveFeed("hd-emg", names, fs=2000, classes=["rest"])
    feed.samples(np.tile(np.arange(40.0), (400, 1)))
    state = feed.snapshot()
    assert state["stream"]["channels"] == names[:MAX_SHOWN] and state["stream"]["n_channels"] == 40
    assert len(state["signal"]["low"]) == MAX_SHOWN and state["signal"]["high"][15][0] == 15.0


def test_a_writer_thread_and_readers():
    feed = LiveFeed("emg", [f"c{i}" for i in range(8)], fs=2000, classes=["rest", "fist"], seconds=1, points=100)
    stop, failures = threading.Event(), []

    def write():
        rng, k = np.random.default_rng(0), 0
        try:
            while not stop.is_set():
                feed.samples(rng.standard_normal((int(rng.integers(1, 90)), 8)))
                feed.decided({"decision": ["rest", "fist", ""][k % 3], "confidence": 0.7, "latency": 0.01,
                              "processing": 0.001, "window": k})
                k += 1
        except Exception as exc:  # noqa: BLE001 - any failure of the writer fails the test
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    sequences = []
    try:
        deadline = time.monotonic() + 1.0
        while time.monotonic() < deadline:
            state = feed.snapshot()
            json.dumps(state, allow_nan=False)
            sequences.append(state["sequence"])
            assert sum(state["counts"].values()) + state["no_decision"] == state["decisions"]
            assert len({len(c) for c in state["signal"]["low"] + state["signal"]["high"]}) == 1
    finally:
        stop.set()
        writer.join(5)
    assert failures == [] and sequences == sorted(sequences) and sequences[-1] > sequences[0]


# The page and its WebSocket


def decided(feed: LiveFeed, decision: str, window: int, latency: float = 0.012) -> None:
    feed.decided({"decision": decision, "confidence": 0.8, "latency": latency, "processing": 0.003, "window": window})


def test_the_websocket_sends_what_was_decided(tmp_path, monkeypatch):
    monkeypatch.setattr(live_module, "HEARTBEAT_S", 0.3)
    feed = LiveFeed("emg-live", ["EMG1", "EMG2"], fs=1000, classes=["rest", "fist"])
    decided(feed, "fist", 0)
    decided(feed, "rest", 1, latency=0.020)
    with TestClient(create_app(tmp_path, live=feed)) as client:
        page = client.get("/live")
        assert page.status_code == 200 and "emg-live" in page.text and 'href="/live"' in page.text
        assert '<script nonce="' in page.text and 'src="/static/live.js"' in page.text
        assert client.get("/static/live.js").headers["content-type"].startswith("text/javascript")
        with client.websocket_connect("/live/ws") as ws:
            state = ws.receive_json()
            assert state["decision"] == "rest" and state["counts"] == {"rest": 1, "fist": 1}
            assert state["delay_ms"]["latency"]["p50"] == 16.0 and state["stream"]["name"] == "emg-live"
            decided(feed, "fist", 2)
            state = ws.receive_json()
            assert state["decision"] == "fist" and state["decisions"] == 3
            assert ws.receive_json() == {"heartbeat": True, "sequence": state["sequence"]}  # nothing new: alive


def test_without_a_feed_the_page_says_how_to_start_one(tmp_path):
    with TestClient(create_app(tmp_path)) as client:
        page = client.get("/live")
        assert page.status_code == 200 and "Nothing is being decoded live" in page.text
        assert "bmelearn online MODEL --lsl NAME --page PORT" in page.text and "<canvas" not in page.text
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/live/ws") as ws:
            ws.receive_json()
        assert closed.value.code == live_module.NOTHING_LIVE and "bmelearn online" in closed.value.reason


def test_the_websocket_needs_the_token_or_a_session(tmp_path):
    feed = LiveFeed("emg", ["EMG1"], fs=1000, classes=["rest"])
    decided(feed, "rest", 0)
    with TestClient(create_app(tmp_path, token=TOKEN, live=feed)) as client:
        assert client.get("/live").status_code == 401
        with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/live/ws") as ws:
            ws.receive_json()
        assert closed.value.code == 1008
        with pytest.raises(WebSocketDisconnect), client.websocket_connect("/live/ws", headers={"Authorization": "Bearer wrong"}) as ws:
            ws.receive_json()
        with client.websocket_connect("/live/ws", headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
            assert ws.receive_json()["decision"] == "rest"
        client.post("/login", data={"token": TOKEN}, follow_redirects=False)  # the page's way: the session cookie
        assert client.cookies.get(COOKIE)
        with client.websocket_connect("/live/ws") as ws:
            assert ws.receive_json()["decision"] == "rest"


def test_another_sites_page_cannot_listen(tmp_path):
    """A WebSocket is not bound by the same-origin rule: without this check, any site open in the
    browser of the computer running the decoding could read its patient's signal."""
    feed = LiveFeed("emg", ["EMG1"], fs=1000, classes=["rest"])
    with TestClient(create_app(tmp_path, live=feed)) as client:
        with pytest.raises(WebSocketDisconnect) as closed, \
                client.websocket_connect("/live/ws", headers={"Origin": "http://example.org"}) as ws:
            ws.receive_json()
        assert closed.value.code == 1008
        with client.websocket_connect("/live/ws", headers={"Origin": "http://testserver"}) as ws:
            assert ws.receive_json()["stream"]["name"] == "emg"


# In Chromium


def simulate_decoding(feed: LiveFeed, recordings, stop: threading.Event) -> None:
    """Simulated EMG recordings played into ``feed`` in 20 ms chunks at their own pace, each
    recording's class decided (simulated, not a model) every 100 ms with a simulated delay."""
    rng, window, chunk = np.random.default_rng(0), 0, 20
    for k, recording in enumerate(recordings):
        samples = recording.data.T
        for first in range(0, len(samples), chunk):
            if stop.is_set():
                return
            feed.samples(samples[first:first + chunk])
            if (first // chunk) % 5 == 4:
                feed.decided({"decision": recording.meta["label"], "confidence": float(rng.uniform(0.6, 0.95)),
                              "latency": float(rng.gamma(4, 0.004)), "processing": float(rng.uniform(0.002, 0.004)),
                              "window": window, "velocity": float(rng.uniform(0.1, 0.9))})
                window += 1
            time.sleep(chunk / recording.fs)
        feed.said(f"simulated: recording {k + 1} ({recording.meta['label']}) played")


class Serving:
    """The app of ``feed`` served by uvicorn on ``port`` of 127.0.0.1 (a free one if 0), in a thread."""

    def __init__(self, runs, feed: LiveFeed, port: int = 0):
        if not port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn.Config(create_app(runs, live=feed), host="127.0.0.1", port=port,
                                                    log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        for _ in range(200):
            if self.server.started:
                break
            time.sleep(0.05)
        assert self.server.started, "the server did not start"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture
def browser():
    """A headless Chromium (Debian's), closed after the test."""
    from playwright.sync_api import sync_playwright

    executable = _chromium()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=["--no-sandbox"])
        yield browser
        browser.close()


def open_page(browser, url: str, errors: list, outside: list):
    """A page that records the errors on its console (the Content-Security-Policy's among them)
    and any address asked other than the server's (refused, as on a hospital network)."""
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(10_000)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(url)
               else (outside.append(route.request.url), route.abort()))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


#: Pixels of the canvas in the traces' blue (#2f6ea5, and its translucent fill on white or grey).
BLUE_PIXELS = """() => {
  const c = document.getElementById('signal'), d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && d[i + 2] > d[i] + 40) n++;
  return n;
}"""


def test_the_live_page_in_chromium(browser, tmp_path, simulated_emg_recording):
    """Simulated EMG and simulated decisions: the page shows the class, the delays and the signal,
    fits a phone, and says when the run has ended."""
    from playwright.sync_api import expect

    recordings = [simulated_emg_recording("session1", 0, label) for label in ("rest", "wrist flexion", "hand close")]
    first = recordings[0]
    feed = LiveFeed("simulated-emg", list(first.ch_names), first.fs, ["rest", "wrist flexion", "hand close"])
    serving, stop = Serving(tmp_path, feed), threading.Event()
    feeding = threading.Thread(target=simulate_decoding, args=(feed, recordings, stop), daemon=True)
    feeding.start()
    errors, outside = [], []
    try:
        page = open_page(browser, serving.url, errors, outside)
        page.goto(f"{serving.url}/live")
        expect(page.locator("#state")).to_have_text("Live")  # expect waits; a string to wait_for_function is eval: CSP
        expect(page.locator("#decision")).to_have_text(re.compile("^(wrist flexion|hand close)$"))
        expect(page.locator("#latency-p95")).to_have_text(re.compile(r"^\d+\.\d ms$"))
        expect(page.locator("#speed")).to_have_text(re.compile(r"^\d+ %$"))
        assert "simulated-emg" in page.inner_text("#stream") and "1000 samples per second" in page.inner_text("#stream")
        assert page.locator("#counts tbody tr").count() >= 2
        assert float(page.inner_text("#latency-p50").split()[0]) > 0
        assert page.evaluate(BLUE_PIXELS) > 2000, "the signal's canvas is blank"
        page.screenshot(path=ARTIFACTS / "live.png", full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(300)  # a snapshot or two drawn at this width
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=ARTIFACTS / "live-phone.png", full_page=True)
        page.set_viewport_size({"width": 1400, "height": 1000})
        stop.set()
        feeding.join(5)
        feed.finished("the stream closed")
        expect(page.locator("#state")).to_have_text("Run ended")
        expect(page.locator("#ended")).to_contain_text("The decoding has ended: the stream closed")
        page.screenshot(path=ARTIFACTS / "live-ended.png")
        assert errors == [] and outside == []
    finally:
        stop.set()
        serving.stop()


def test_a_lost_connection_is_shown_and_tried_again(browser, tmp_path):
    from playwright.sync_api import expect

    feed = LiveFeed("emg", ["EMG1", "EMG2"], fs=1000, classes=["rest", "fist"])
    feed.samples(np.sin(np.arange(3000.0) / 20)[:, None] * [1, 2])
    decided(feed, "fist", 0)
    serving, errors, outside = Serving(tmp_path, feed), [], []
    port = int(serving.url.rsplit(":", 1)[1])
    try:
        page = open_page(browser, serving.url, errors, outside)
        page.goto(f"{serving.url}/live")
        expect(page.locator("#state")).to_have_text("Live")
        expect(page.locator("#decision")).to_have_text("fist")
        serving.stop()
        expect(page.locator("#state")).to_contain_text("Connection lost: trying again in")
        page.screenshot(path=ARTIFACTS / "live-lost.png")
        decided(feed, "rest", 1)
        serving = Serving(tmp_path, feed, port)  # the same server back: the page finds it again by itself
        expect(page.locator("#state")).to_have_text("Live", timeout=15_000)
        expect(page.locator("#decision")).to_have_text("rest")
    finally:
        serving.stop()
    refused = [e for e in errors if "WebSocket connection to" not in e]  # the tries while the server was away
    assert refused == [] and outside == []
