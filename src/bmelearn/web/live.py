"""The live page of an online decoding (``bmelearn online MODEL --lsl NAME --page PORT``).

The decoding thread writes what happens to a :class:`LiveFeed` (samples, decisions, messages);
the page ``/live`` shows it, updated over the WebSocket ``/live/ws``, which sends the feed's
:meth:`LiveFeed.snapshot` about ten times a second when it changed, and a small heartbeat
(``{"heartbeat": true, "sequence": N}``) every :data:`HEARTBEAT_S` seconds otherwise.

The signal is shown reduced: each channel's last ``seconds`` are cut into bins of consecutive
samples, and each bin is kept as its lowest and its highest value, so a burst of EMG as short
as one sample still shows at its full height, as on a paper trace. ``points`` values per
channel (``points // 2`` bins, each a low and a high) are kept, whatever the sampling rate.
"""

from __future__ import annotations

import collections
import json
import math
import threading
import time
from importlib import resources

import anyio
import numpy as np
from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import HTMLResponse, Response
from starlette.websockets import WebSocketDisconnect

from bmelearn.web.pages import page
from bmelearn.web.security import WEBSOCKET_REFUSED

#: Channels drawn at most (the first ones); the others are decoded but not shown.
MAX_SHOWN = 16
#: Latencies kept for the percentiles; status messages kept.
KEEP_LATENCIES, KEEP_MESSAGES = 1000, 20
#: Seconds between two looks at the feed by the WebSocket (10 a second), and between two heartbeats.
TICK_S, HEARTBEAT_S = 0.1, 2.0
#: Close codes of the WebSocket: refused (no token or session, or another site's page); nothing is decoded live.
REFUSED, NOTHING_LIVE = WEBSOCKET_REFUSED, 4404
#: The optimal controller delay of a myoelectric prosthesis (ms), Farrell & Weir, IEEE TNSRE 15(1), 2007.
OPTIMAL_DELAY_MS = (100, 125)
HOW_TO_START = "bmelearn online MODEL --lsl NAME --page PORT"


class LiveFeed:
    """The state of one live decoding of the stream ``stream`` (``ch_names`` at ``fs`` Hz, a model
    deciding among ``classes``): written by the decoding thread, read by the web server; each
    method takes a lock for a few microseconds. The last ``seconds`` of signal are kept reduced
    to ``points`` values per channel (see the module text)."""

    def __init__(self, stream: str, ch_names: list[str], fs: float, classes: list[str],
                 seconds: float = 5.0, points: int = 500) -> None:
        if fs <= 0 or seconds <= 0 or points < 2:
            raise ValueError(f"a live feed needs fs > 0 Hz, seconds > 0 and points >= 2 (got {fs}, {seconds}, {points}).")
        self.stream, self.fs, self.classes = str(stream), float(fs), [str(c) for c in classes]
        self.ch_names = [str(c) for c in ch_names]
        self.shown = self.ch_names[:MAX_SHOWN]
        n_bins = points // 2
        #: Samples per bin, and bins kept: together at least ``seconds`` of signal, and under one bin more.
        self.bin = max(1, math.ceil(seconds * self.fs / n_bins))
        self.n_bins = math.ceil(seconds * self.fs / self.bin)
        shape = (self.n_bins, len(self.shown))
        self._lo, self._hi = np.full(shape, np.nan), np.full(shape, np.nan)  # a ring of bins, oldest at _next
        self._next, self._filled = 0, 0
        self._part_lo, self._part_hi, self._part_n = np.full(shape[1], np.nan), np.full(shape[1], np.nan), 0
        self._lock = threading.Lock()
        self._sequence, self._samples = 0, 0
        self._decision, self._confidence, self._velocity, self._window, self._decisions = None, None, None, None, 0
        self._counts: dict[str, int] = dict.fromkeys(self.classes, 0)
        self._undecided = 0
        self._latency: collections.deque[float] = collections.deque(maxlen=KEEP_LATENCIES)
        self._processing: collections.deque[float] = collections.deque(maxlen=KEEP_LATENCIES)
        self._messages: collections.deque[tuple[float, str]] = collections.deque(maxlen=KEEP_MESSAGES)
        self._finished: str | None = None

    @property
    def sequence(self) -> int:
        """A number that grows with every change of the feed."""
        return self._sequence

    def samples(self, chunk: np.ndarray) -> None:
        """Samples as they arrive: ``chunk`` is samples × ``ch_names`` (any unit; shown as it comes)."""
        chunk = np.asarray(chunk, dtype=np.float64)
        if chunk.ndim != 2 or chunk.shape[1] != len(self.ch_names):
            raise ValueError(f"a chunk of shape {chunk.shape}; the feed takes samples x {len(self.ch_names)} channels.")
        chunk = chunk[:, :len(self.shown)]
        with self._lock:
            self._samples += len(chunk)
            self._sequence += 1
            take = min(self.bin - self._part_n, len(chunk))  # first, the bin begun by the chunks before
            if take:
                self._part_lo = np.fmin(self._part_lo, np.fmin.reduce(chunk[:take], axis=0))
                self._part_hi = np.fmax(self._part_hi, np.fmax.reduce(chunk[:take], axis=0))
                self._part_n += take
            if self._part_n < self.bin:
                return
            self._push(self._part_lo[None], self._part_hi[None])
            rest = chunk[take:]
            whole = len(rest) // self.bin
            if whole:
                bins = rest[:whole * self.bin].reshape(whole, self.bin, -1)
                self._push(np.fmin.reduce(bins, axis=1), np.fmax.reduce(bins, axis=1))
            left = rest[whole * self.bin:]
            self._part_n = len(left)
            self._part_lo = np.fmin.reduce(left, axis=0) if len(left) else np.full(len(self.shown), np.nan)
            self._part_hi = np.fmax.reduce(left, axis=0) if len(left) else np.full(len(self.shown), np.nan)

    def _push(self, lo: np.ndarray, hi: np.ndarray) -> None:
        """Complete bins (bins × shown channels) into the ring, the lock held."""
        lo, hi = lo[-self.n_bins:], hi[-self.n_bins:]
        where = (self._next + np.arange(len(lo))) % self.n_bins
        self._lo[where], self._hi[where] = lo, hi
        self._next = (self._next + len(lo)) % self.n_bins
        self._filled = min(self.n_bins, self._filled + len(lo))

    def decided(self, row: dict) -> None:
        """One decision: ``decision`` (the class; "" or None: none, rejected), ``confidence`` (0-1),
        ``latency`` (s, from its window's last sample to its publication), ``processing`` (s, the
        model's computing time for it), ``window`` (its number) and, when the model gives one,
        ``velocity`` (0-1, the proportional speed)."""
        decision = row.get("decision")
        decision = "" if decision is None or (isinstance(decision, float) and math.isnan(decision)) else str(decision)
        confidence, latency, processing, velocity = (_finite(row.get(k)) for k in ("confidence", "latency", "processing",
                                                                                 "velocity"))
        window = row.get("window")
        with self._lock:
            self._sequence += 1
            self._decisions += 1
            self._decision, self._confidence, self._velocity = decision, confidence, velocity
            self._window = None if window is None else int(window)
            if decision:
                self._counts[decision] = self._counts.get(decision, 0) + 1
            else:
                self._undecided += 1
            if latency is not None:
                self._latency.append(latency)
            if processing is not None:
                self._processing.append(processing)

    def said(self, message: str) -> None:
        """A status message (the stream paused, resumed, dropped samples); the last 20 are kept."""
        with self._lock:
            self._sequence += 1
            self._messages.append((time.time(), str(message)))

    def finished(self, reason: str) -> None:
        """The decoding has ended, for ``reason``."""
        with self._lock:
            self._sequence += 1
            self._finished = str(reason)

    def snapshot(self) -> dict:
        """The state as JSON-ready values (None where a number is missing or not finite): the
        ``signal`` section holds, per shown channel, the ``low`` and ``high`` of each bin, oldest
        first, the newest at the right; the delays are percentiles in ms of the last 1000."""
        with self._lock:  # copy under the lock, convert outside it
            order = (self._next - self._filled + np.arange(self._filled)) % self.n_bins
            lo, hi = self._lo[order].T, self._hi[order].T
            latency, processing = np.array(self._latency), np.array(self._processing)
            state = {
                "sequence": self._sequence, "samples": self._samples, "finished": self._finished is not None,
                "finished_reason": self._finished, "decision": self._decision, "confidence": self._confidence,
                "velocity": self._velocity,
                "window": self._window, "decisions": self._decisions, "counts": dict(self._counts),
                "no_decision": self._undecided, "messages": list(self._messages),
            }
        state["messages"] = [{"time": time.strftime("%H:%M:%S", time.localtime(t)), "text": text}
                             for t, text in state["messages"]]
        state["delay_ms"] = {"latency": _percentiles(latency), "processing": _percentiles(processing),
                             "count": len(latency)}
        state["stream"] = {"name": self.stream, "fs": self.fs, "channels": self.shown, "n_channels": len(self.ch_names)}
        state["signal"] = {"seconds": self.n_bins * self.bin / self.fs, "bins": self.n_bins, "bin_s": self.bin / self.fs,
                           "low": [_rounded(c) for c in lo], "high": [_rounded(c) for c in hi]}
        state["optimal_delay_ms"] = list(OPTIMAL_DELAY_MS)
        return state


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _percentiles(seconds: np.ndarray) -> dict[str, float | None]:
    """p50, p95 and p99 of ``seconds``, in ms rounded to 0.01 ms (None without any)."""
    if not len(seconds):
        return {"p50": None, "p95": None, "p99": None}
    p = np.percentile(seconds * 1000, [50, 95, 99])
    return {"p50": round(float(p[0]), 2), "p95": round(float(p[1]), 2), "p99": round(float(p[2]), 2)}


def _rounded(values: np.ndarray) -> list[float | None]:
    """``values`` rounded to between 1/100 and 1/1000 of their range (a channel's row is about 50
    pixels high; an offset, such as an amplifier's, is kept), None where not finite."""
    finite = np.isfinite(values)
    kept = values[finite]
    spread = float(kept.max() - kept.min()) if len(kept) else 0.0
    spread = spread or (float(np.abs(kept).max()) if len(kept) else 0.0)
    digits = 2 - math.floor(math.log10(spread)) if spread > 0 else 0
    rounded = np.round(values, digits)
    return [float(v) if ok else None for v, ok in zip(rounded.tolist(), finite.tolist(), strict=True)]


router = APIRouter(include_in_schema=False)


@router.get("/live")
def live_page(request: Request) -> HTMLResponse:
    """The live page; without a feed (``bmelearn serve``), a 200 page that says how to start one:
    the page exists, there is just nothing live to show, as an empty list of runs."""
    feed: LiveFeed | None = getattr(request.app.state, "live", None)
    return page(request, "live.html", feed=feed, how=HOW_TO_START, optimal=OPTIMAL_DELAY_MS)


@router.get("/static/live.js")
def live_js() -> Response:
    script = resources.files("bmelearn.web").joinpath("static/live.js").read_text(encoding="utf-8")
    return Response(script, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


@router.websocket("/live/ws")
async def live_socket(websocket: WebSocket) -> None:
    """The feed's snapshots as JSON text, until the client leaves. Refused (:data:`REFUSED`) to a
    page of another site: a WebSocket is not bound by the same-origin rule, and a server on this
    machine without a token would otherwise show its patient's signal to any site its browser opens."""
    origin = websocket.headers.get("origin")
    if origin is not None and origin.partition("://")[2].lower() != websocket.headers.get("host", "").lower():
        await websocket.close(REFUSED, "only the dashboard's own pages may connect")
        return
    await websocket.accept()
    feed: LiveFeed | None = getattr(websocket.app.state, "live", None)
    if feed is None:
        await websocket.close(NOTHING_LIVE, f"nothing is decoded live here; start it with {HOW_TO_START}")
        return
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_until_closed, websocket, tasks.cancel_scope)
        try:
            await _send_changes(websocket, feed)
        except (WebSocketDisconnect, OSError, RuntimeError):
            pass  # the client left while a message was on its way
        tasks.cancel_scope.cancel()


async def _until_closed(websocket: WebSocket, scope: anyio.CancelScope) -> None:
    """Wait for the client to close (it sends nothing else that matters), then stop the sending."""
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    finally:
        scope.cancel()


async def _send_changes(websocket: WebSocket, feed: LiveFeed) -> None:
    sent, beat = -1, time.monotonic()
    while True:
        if feed.sequence != sent:
            state = feed.snapshot()
            sent = state["sequence"]
            await websocket.send_text(json.dumps(state, allow_nan=False, separators=(",", ":")))
            beat = time.monotonic()
        elif time.monotonic() - beat >= HEARTBEAT_S:
            await websocket.send_text(json.dumps({"heartbeat": True, "sequence": sent}))
            beat = time.monotonic()
        await anyio.sleep(TICK_S)
