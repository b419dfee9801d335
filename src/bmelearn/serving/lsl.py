"""Lab Streaming Layer: a model on a live stream (``bmelearn online``) and recordings played as
one (``bmelearn replay``). pylsl's wheel bundles liblsl, so nothing is downloaded:
``pip install 'bmelearn[online]'``.

``run_online`` finds the stream by name, checks its rate and channel labels against the
model before any decision, feeds its chunks to an :class:`~bmelearn.serving.online.OnlineDecoder`
and publishes each decision (the class, as an LSL marker) on an outlet ``NAME-decisions``;
each decision's row holds the LSL time stamp of its window's last sample, the time it was
published (both on this computer's LSL clock) and the delay between them, in seconds.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from bmelearn.errors import ConfigError, DataError
from bmelearn.evaluation.control import Decisions, decisions
from bmelearn.pipeline.signal import MismatchError
from bmelearn.runs.folder import write_table
from bmelearn.serving.model import DeployableModel
from bmelearn.serving.online import OnlineDecoder, model_rule
from bmelearn.signals.recording import Recording

if TYPE_CHECKING:
    from bmelearn.web.live import LiveFeed

#: How long to look for a stream, and to wait for a consumer of a replay, in seconds.
RESOLVE_S = 10.0
#: The samples a replay pushes at a time, in seconds of signal (an amplifier sends 10-50 ms).
CHUNK_S = 0.02
#: How long a replay keeps its stream open after its last sample, in seconds.
LINGER_S = 1.0
#: A stream silent this long (s) has paused, or its source has closed: said once, until it resumes.
PAUSE_S = 1.0
#: A stream silent this long (s) is looked for: if its source is gone, that is said.
CLOSED_S = 3.0
#: A leap of the time stamps larger than this (s) is a clock jump, unless the stream was silent as long.
JUMP_S = 1.0
#: How long (s of time stamps) a gap may be made up for by later stamps before its samples count as dropped.
SETTLE_S = 0.5
#: The stretch of time stamps (s) over which the stream's rate is measured, and how far off (a share) is said.
RATE_S, RATE_TOLERANCE = 5.0, 0.1
#: A gap in the time stamps (s) that starts the measure of the rate anew.
GAP_S = 0.25


def _pylsl() -> Any:
    try:
        import pylsl
    except ImportError:
        raise ConfigError("live streams need pylsl: pip install 'bmelearn[online]'.") from None
    return pylsl


def replay(recording: Recording, name: str, speed: float = 1.0, loop: bool = False, wait: float = RESOLVE_S,
           stop: threading.Event | None = None, heard: list[str] | None = None) -> int:
    """Play ``recording`` as the LSL stream ``name`` (type: its modality; channels labelled, with
    their units and types; 64-bit samples, so nothing is rounded), ``speed`` times as fast as it
    was recorded, in chunks of :data:`CHUNK_S`, once or in a ``loop`` until ``stop`` is set. It
    waits up to ``wait`` seconds for a consumer before the first sample, so that none is lost.
    With ``heard``, the decisions the consumer publishes on ``NAME-decisions`` (``bmelearn
    online``) are appended to it as they come. Returns the samples sent."""
    pylsl = _pylsl()
    if speed <= 0:
        raise ConfigError(f"--speed: {speed:g} is not a positive factor; 1 plays the recording in real time.")
    info = pylsl.StreamInfo(name, recording.modality.upper(), recording.n_channels, recording.fs, pylsl.cf_double64,
                            f"bmelearn-replay-{name}")
    info.set_channel_labels(list(recording.ch_names))
    info.set_channel_units(list(recording.units))
    info.set_channel_types(list(recording.ch_types))
    outlet = pylsl.StreamOutlet(info)
    outlet.wait_for_consumers(wait)
    listener = None
    if heard is not None:  # the consumer's decisions outlet is up before it takes samples
        found = pylsl.resolve_byprop("name", f"{name}-decisions", timeout=RESOLVE_S)
        listener = pylsl.StreamInlet(found[0]) if found else None
        if listener is not None:
            listener.open_stream(RESOLVE_S)
    samples, step = np.ascontiguousarray(recording.opened().data.T), max(1, round(CHUNK_S * recording.fs))
    started, sent = time.perf_counter(), 0
    while stop is None or not stop.is_set():
        for first in range(0, len(samples), step):
            chunk = samples[first:first + step]
            ahead = started + (sent + len(chunk)) / (recording.fs * speed) - time.perf_counter()
            if ahead > 0:
                time.sleep(ahead)  # a chunk leaves once its last sample would have been recorded
            outlet.push_chunk(chunk)
            sent += len(chunk)
            if listener is not None:
                heard.extend(m[0] for m in listener.pull_chunk(timeout=0.0)[0])
            if stop is not None and stop.is_set():
                break
        if not loop:
            break
    if stop is None or not stop.is_set():
        time.sleep(LINGER_S)  # a closed outlet drops what its consumers have not taken yet
    if listener is not None:
        heard.extend(m[0] for m in listener.pull_chunk(timeout=0.0, max_samples=10**6)[0])
    return sent


def side_by_side(model: DeployableModel, recording: Recording, heard: list[str]) -> dict[str, Any]:
    """The decisions published online on ``recording`` (``heard``, in order) beside those of the
    same model offline on the same recording, post-processed by the model's own rule:
    ``online``, ``offline`` (decisions), ``compared`` (the first of both) and ``alike`` (the
    share of those that are the same), and the ``rule``."""
    rule = model_rule(model)
    offline = model.predict({recording.modality: recording}).assign(trial="stream")
    expected = decisions(offline, [str(c) for c in model.estimator.classes_], rule)
    n = min(len(heard), len(expected))
    alike = float(np.mean(np.asarray(heard[:n], dtype=object) == expected[:n])) if n else float("nan")
    return {"online": len(heard), "offline": len(expected), "compared": n, "alike": alike, "rule": rule}


def check_stream(info: Any, model: DeployableModel, name: str) -> list[str]:
    """The channels of the stream ``info``; a MismatchError, before any decision, unless it has
    the model's rate and channel labels (those recorded in training, or those the model uses,
    in that order)."""
    modality = next(iter(model.signal.inputs))
    want = model.signal.inputs[modality]
    if not np.isclose(info.nominal_srate(), want.fs):
        raise MismatchError(f"LSL stream {name!r}: {info.nominal_srate():g} Hz, but the model takes {modality} at "
                            f"{want.fs:g} Hz; stream at {want.fs:g} Hz or choose a model trained at that rate.")
    labels = list(info.get_channel_labels() or [])
    if labels not in (list(want.ch_names), list(model.signal.channels(modality))):
        raise MismatchError(f"LSL stream {name!r}: channels {labels or info.channel_count()} "
                            f"but the model takes {list(want.ch_names)}, in that order.")
    return labels


class StreamWatch:
    """What the time stamps of a live stream say about it, chunk by chunk; each finding is told
    to ``say`` once, as it happens, and counted:

    - **dropped** samples: the samples missing from the time stamps (each interval's excess over
      one sample period, summed with its sign, so that a chunk stamped late and the next one on
      time, as a computer stamping chunks as they leave does, make up for each other), at their
      lowest over each :data:`SETTLE_S` of stamps; a rise of two or more samples from one such
      stretch to the next is said and counted, a slower one (a clock a little slow) is not;
    - **clock jumps**: the stamps leap forward by more than :data:`JUMP_S` while samples kept
      coming (not a pause), or back by more than that (the source's clock was reset or
      changed); from then on the stamps are shifted to go on from the last one, so that gaps
      and delays stay measured on one time line;
    - a **rate** that is not the stream's: over each :data:`RATE_S` of stamps without a gap of
      :data:`GAP_S`, the samples per second, said when more than :data:`RATE_TOLERANCE` off the
      nominal rate and when back.
    """

    def __init__(self, name: str, fs: float, say: Callable[[str], None]) -> None:
        self.name, self.fs, self.say = name, fs, say
        self.dropped, self.jumps, self.off_rate = 0, [], []
        self._latest = self._arrived = None  # the last sample's (shifted) stamp, and when it was pulled
        self._shift = 0.0
        self._since, self._counted, self._rate_off = None, 0, False
        # samples missing by the gaps and overlaps so far; their lowest in this stretch of stamps and in the last
        self._missing, self._lowest, self._level, self._stretch = 0.0, np.inf, None, None

    def stamps(self, times: np.ndarray, now: float) -> np.ndarray:
        """The stamps of a chunk just pulled at ``now``, both on the stream's clock, on one time line."""
        times = np.asarray(times, dtype=float) + self._shift
        if self._latest is not None:
            leap = times[0] - self._latest - 1 / self.fs
            silent = now - self._arrived
            if leap < -JUMP_S or (leap > JUMP_S and silent < leap / 2):
                self._shift -= leap
                times = times - leap
                self.jumps.append(leap)
                self.say(f"LSL stream {self.name!r}: its time stamps jumped {leap:+.3f} s at {now:.3f} s (LSL time) while "
                         "samples kept coming (its clock was reset or changed); time stamps from here on are taken "
                         "to go on from the last one, so delays stay measured.")
                self._since = None
        excess = np.diff(np.concatenate([[] if self._latest is None else [self._latest], times])) * self.fs - 1
        self._missing += excess[excess < JUMP_S * self.fs].sum()
        self._lowest = min(self._lowest, self._missing)
        if self._stretch is None:
            self._stretch = times[-1]
        elif times[-1] - self._stretch >= SETTLE_S:
            lost = 0 if self._level is None else int(round(self._lowest - self._level))
            if lost >= 2:
                self.dropped += lost
                self.say(f"LSL stream {self.name!r} dropped {lost} sample(s) ({lost / self.fs * 1000:.0f} ms) between "
                         f"{self._stretch - SETTLE_S:.3f} and {times[-1]:.3f} s (LSL time); {self.dropped} so far. The "
                         "windows over the gap are decided on the samples that came.")
            self._level, self._lowest, self._stretch = self._lowest, np.inf, times[-1]
        if self._latest is not None and times[0] - self._latest > GAP_S:
            self._since = None  # a stretch with a pause or a gap in it says nothing of the rate
        self._latest, self._arrived = times[-1], now
        self._rate(times)
        return times

    def _rate(self, times: np.ndarray) -> None:
        """Compare the samples per second of the stamps of the last :data:`RATE_S` with the nominal rate."""
        if self._since is None:
            self._since, self._counted = times[0], 0
        self._counted += len(times)
        span = times[-1] - self._since
        if span < RATE_S:
            return
        rate = (self._counted - 1) / span
        self._since = None
        off = abs(rate / self.fs - 1) > RATE_TOLERANCE
        if off and not self._rate_off:
            self.off_rate.append(rate)
            self.say(f"LSL stream {self.name!r} is sending {rate:.0f} samples/s, but it is announced, and the model "
                     f"trained, at {self.fs:g} Hz: its decisions are not to be trusted until the rate is right (check "
                     "the amplifier's settings).")
        elif self._rate_off and not off:
            self.say(f"LSL stream {self.name!r} is back at {rate:.0f} samples/s.")
        self._rate_off = off


class DecisionLog:
    """The decisions of a run, column by column in arrays that double as they fill (about 150
    bytes a decision, where a list of rows takes ten times as much), as one table at the end."""

    def __init__(self) -> None:
        self._columns: dict[str, np.ndarray] = {}
        self._n = 0

    def append(self, row: dict[str, Any]) -> None:
        if not self._columns:
            self._columns = {k: np.empty(1024, dtype=object if isinstance(v, str) else np.asarray(v).dtype)
                             for k, v in row.items()}
        if self._n == len(next(iter(self._columns.values()))):
            self._columns = {k: np.concatenate([a, np.empty_like(a)]) for k, a in self._columns.items()}
        for k, v in row.items():
            self._columns[k][self._n] = v
        self._n += 1

    def table(self) -> pd.DataFrame:
        return pd.DataFrame({k: a[:self._n] for k, a in self._columns.items()})


def run_online(model: DeployableModel, name: str, duration: float | None = None, log: str | Path | None = None,
               wait: float = RESOLVE_S, stop: threading.Event | None = None,
               say: Callable[[str], None] = print, rule: Decisions | None = None,
               udp: tuple[str, int] | None = None, watch: LiveFeed | None = None) -> pd.DataFrame:
    """The decisions of ``model`` on the LSL stream ``name`` for ``duration`` seconds (None: until
    ``stop`` is set), post-processed by ``rule`` (default: the model's own; see
    :class:`OnlineDecoder`) and published as they come on ``NAME-decisions`` (an empty marker:
    no decision); each row as :meth:`OnlineDecoder.push` gives it, with ``sample_time`` (the LSL
    time stamp of the window's last sample), ``published`` and ``latency`` (s). Written to
    ``log`` (``.csv`` or ``.parquet``) when given, also when the run is interrupted or fails.

    With ``udp`` (host, port), each decision is also sent there as one datagram of UTF-8 text,
    ``DECISION,CONFIDENCE,WINDOW,VELOCITY`` (an empty decision: none; velocity 0 to 1, empty
    when the model has none), for a game engine or a device controller that does not speak LSL.
    ``watch`` (a :class:`~bmelearn.web.live.LiveFeed` of the channels the model uses) is given
    their samples, the decisions and the messages as they come, for the live page.

    A stream that stops sending (its source paused, or closed) is waited for, and ``say`` is
    told when it stopped (and, after :data:`CLOSED_S`, whether its source is gone) and when it
    resumed; dropped samples, clock jumps and a wrong rate are found as :class:`StreamWatch`
    says. The table's ``attrs`` hold ``dropped`` (samples), ``pauses`` (their lengths, s),
    ``clock_jumps`` (s) and ``off_rate`` (the rates found off, samples/s)."""
    pylsl = _pylsl()
    decoder = OnlineDecoder(model, rule)  # a model that cannot run live is refused before any stream is looked for
    found = pylsl.resolve_byprop("name", name, timeout=wait)
    if not found:
        raise DataError(f"no LSL stream named {name!r} answered in {wait:g} s; start it (bmelearn replay FILE --lsl "
                        f"{name}) or check its name.")
    inlet = pylsl.StreamInlet(found[0], max_buflen=60)
    info = inlet.info()
    channels = check_stream(info, model, name)
    if channels != decoder.channels:  # the stream carries only the channels the model uses
        decoder = OnlineDecoder(model, rule, channels=channels)
    if watch is not None:
        say = _also(say, watch.said)
    if decoder.forwarded:
        say(forward_warning(model, decoder.forwarded))
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(f"{name}-decisions", "Markers", 1, 0, pylsl.cf_string,
                                                 f"bmelearn-decisions-{name}"))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if udp is not None else None
    inlet.time_correction(timeout=wait)  # the first estimate of the clocks' offset takes a few round trips: now
    inlet.open_stream(wait)  # samples flow from now on, everything else being ready
    fs, n_times = decoder.signal.fs, model.signal.samples[decoder.modality]
    stamps, stamps_from, kept = np.zeros(0), 0, DecisionLog()
    watcher, pauses, silent_since, asked, heard = StreamWatch(name, fs, say), [], None, None, None  # heard: last sample's arrival
    end = None if duration is None else pylsl.local_clock() + duration
    try:
        while (end is None or pylsl.local_clock() < end) and (stop is None or not stop.is_set()):
            sample, stamp = inlet.pull_sample(timeout=0.05)  # waits for one sample, no longer
            now = pylsl.local_clock()
            if sample is None:
                if silent_since is None and heard is not None and now - heard > PAUSE_S:
                    silent_since, asked = heard, None
                    say(f"LSL stream {name!r} sent nothing for {PAUSE_S:g} s; waiting for it (the decisions so far are kept).")
                if silent_since is not None and asked is None and now - silent_since > CLOSED_S:
                    asked = now
                    if not pylsl.resolve_byprop("source_id", info.source_id(), timeout=0.5) if info.source_id() else False:
                        say(f"LSL stream {name!r} has closed (its source is gone); waiting for it to come back under "
                            "the same source (Ctrl-C, or --duration, ends the run; the decisions so far are kept).")
                continue
            heard = now
            if silent_since is not None:
                pauses.append(now - silent_since)
                say(f"LSL stream {name!r} is back after {pauses[-1]:.1f} s.")
                silent_since = None
            more, times = inlet.pull_chunk(timeout=0.0, max_samples=4096)  # and takes what came with it
            chunk = np.asarray([sample, *more], dtype=np.float64)
            # gaps are looked for on the stream's own clock; the offset to this computer's, re-estimated now and
            # then (jitter of a fraction of a millisecond: samples, at 4 kHz), only dates the samples here
            arrived = watcher.stamps(np.asarray([stamp, *times]), now - inlet.time_correction()) + inlet.time_correction()
            stamps = np.concatenate([stamps, arrived])
            if watch is not None:
                watch.samples(chunk[:, decoder.used])
            made = decoder.push(chunk)
            for row in made.to_dict("records"):
                outlet.push_sample([str(row["decision"])])
                if sender is not None:
                    velocity = f"{row['velocity']:.4g}" if "velocity" in row else ""
                    sender.sendto(f"{row['decision']},{row['confidence']:.6g},{row['window']},{velocity}".encode(), udp)
                published = pylsl.local_clock()
                ending = stamps[decoder.first_sample(row["window"]) + n_times - 1 - stamps_from]  # its last sample's time
                row |= {"sample_time": ending, "published": published, "latency": published - ending}
                kept.append(row)
                if watch is not None:
                    watch.decided(row)
            held = min(decoder.first_sample(decoder.next_window), stamps_from + len(stamps))  # where coming windows start
            stamps, stamps_from = stamps[held - stamps_from:], held
    finally:
        if sender is not None:
            sender.close()
        table = kept.table()
        table.attrs |= {"dropped": watcher.dropped, "pauses": pauses, "clock_jumps": watcher.jumps,
                        "off_rate": watcher.off_rate}
        if log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            write_table(Path(log).parent, Path(log).name, table)
        if watch is not None:
            watch.finished(f"{len(table)} decisions")
    return table


def forward_warning(model: DeployableModel, steps: list[str]) -> str:
    """What it means that ``model``'s zero-phase ``steps`` run forward online, with what the
    run measured of it (the card's ``online``, :func:`~bmelearn.serving.online.online_agreement`)."""
    said = (f"This model was trained with zero-phase {' and '.join(steps)}, which need the whole signal; online they run "
            "forward only (causal), so its decisions differ from offline's. ")
    measured = model.info.get("online")
    if not measured:
        return said + ("How much was not measured for this model (bmelearn.serving.online.online_agreement measures it); "
                       "train with causal: true on each filter to decide online exactly as validated.")
    return said + (f"Measured when it was saved, on {measured['trials']} of its training trials ({measured['windows']} "
                   f"windows): {100 * measured['agreement']:.1f} % of windows decided alike; accuracy "
                   f"{100 * measured['accuracy_offline']:.1f} % offline, {100 * measured['accuracy_online']:.1f} % online "
                   "(trials it was trained on, so both optimistic; the difference is the cost). Train with causal: true "
                   "on each filter to decide online exactly as validated.")


def _also(say: Callable[[str], None], other: Callable[[str], None]) -> Callable[[str], None]:
    """``say`` and ``other``, both told each message."""
    def both(message: str) -> None:
        say(message)
        other(message)
    return both
