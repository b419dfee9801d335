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
from typing import Any

import numpy as np
import pandas as pd

from bmelearn.errors import ConfigError, DataError
from bmelearn.pipeline.signal import MismatchError
from bmelearn.runs.folder import write_table
from bmelearn.serving.model import DeployableModel
from bmelearn.serving.online import OnlineDecoder
from bmelearn.signals.recording import Recording

#: How long to look for a stream, and to wait for a consumer of a replay, in seconds.
RESOLVE_S = 10.0
#: The samples a replay pushes at a time, in seconds of signal (an amplifier sends 10-50 ms).
CHUNK_S = 0.02
#: How long a replay keeps its stream open after its last sample, in seconds.
LINGER_S = 1.0
#: A stream silent this long (s) has paused, or its source has closed: said once, until it resumes.
PAUSE_S = 1.0


def _pylsl() -> Any:
    try:
        import pylsl
    except ImportError:
        raise ConfigError("live streams need pylsl: pip install 'bmelearn[online]'.") from None
    return pylsl


def replay(recording: Recording, name: str, speed: float = 1.0, loop: bool = False, wait: float = RESOLVE_S,
           stop: threading.Event | None = None) -> int:
    """Play ``recording`` as the LSL stream ``name`` (type: its modality; channels labelled, with
    their units and types; 64-bit samples, so nothing is rounded), ``speed`` times as fast as it
    was recorded, in chunks of :data:`CHUNK_S`, once or in a ``loop`` until ``stop`` is set. It
    waits up to ``wait`` seconds for a consumer before the first sample, so that none is lost.
    Returns the samples sent."""
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
            if stop is not None and stop.is_set():
                break
        if not loop:
            break
    if stop is None or not stop.is_set():
        time.sleep(LINGER_S)  # a closed outlet drops what its consumers have not taken yet
    return sent


def check_stream(info: Any, decoder: OnlineDecoder, name: str) -> None:
    """A MismatchError, before any decision, unless the stream ``info`` has the model's rate and
    channel labels (those recorded in training, in that order)."""
    want = decoder.signal
    if not np.isclose(info.nominal_srate(), want.fs):
        raise MismatchError(f"LSL stream {name!r}: {info.nominal_srate():g} Hz, but the model takes {decoder.modality} at "
                            f"{want.fs:g} Hz; stream at {want.fs:g} Hz or choose a model trained at that rate.")
    labels = info.get_channel_labels() or []
    if list(labels) != list(want.ch_names):
        raise MismatchError(f"LSL stream {name!r}: channels {list(labels) or info.channel_count()} "
                            f"but the model takes {list(want.ch_names)}, in that order.")


def run_online(model: DeployableModel, name: str, duration: float | None = None, log: str | Path | None = None,
               wait: float = RESOLVE_S, stop: threading.Event | None = None,
               say: Callable[[str], None] = print, vote: int = 1, reject_below: float | None = None,
               udp: tuple[str, int] | None = None) -> pd.DataFrame:
    """The decisions of ``model`` on the LSL stream ``name`` for ``duration`` seconds (None: until
    ``stop`` is set), post-processed (``vote``, ``reject_below``: :class:`OnlineDecoder`) and
    published as they come on ``NAME-decisions`` (an empty marker: no decision); each row as
    :meth:`~bmelearn.serving.model.DeployableModel.predict` gives it, with ``sample_time`` (the
    LSL time stamp of the window's last sample), ``published`` and ``latency`` (s). Written to
    ``log`` (``.csv`` or ``.parquet``) when given, also when the run is interrupted.

    With ``udp`` (host, port), each decision is also sent there as one datagram of UTF-8 text,
    ``DECISION,CONFIDENCE,WINDOW`` (an empty decision: none), for a game engine or a device
    controller that does not speak LSL.

    A stream that stops sending (its source paused, or closed) is waited for, and ``say`` is
    told when it stopped and when it resumed; samples the stream dropped (a gap in its time
    stamps of more than one and a half sample periods) are counted and said. The table's
    ``attrs`` hold ``dropped`` (samples) and ``pauses`` (their lengths, s)."""
    pylsl = _pylsl()
    decoder = OnlineDecoder(model, vote, reject_below)
    found = pylsl.resolve_byprop("name", name, timeout=wait)
    if not found:
        raise DataError(f"no LSL stream named {name!r} answered in {wait:g} s; start it (bmelearn replay FILE --lsl "
                        f"{name}) or check its name.")
    inlet = pylsl.StreamInlet(found[0], max_buflen=60)
    check_stream(inlet.info(), decoder, name)
    outlet = pylsl.StreamOutlet(pylsl.StreamInfo(f"{name}-decisions", "Markers", 1, 0, pylsl.cf_string,
                                                 f"bmelearn-decisions-{name}"))
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM) if udp is not None else None
    inlet.time_correction(timeout=wait)  # the first estimate of the clocks' offset takes a few round trips: now
    inlet.open_stream(wait)  # samples flow from now on, everything else being ready
    fs, n_times = decoder.signal.fs, model.signal.samples[decoder.modality]
    stamps, stamps_from, rows = np.zeros(0), 0, []
    dropped, pauses, silent_since, latest = 0, [], None, None  # latest: the time of the last sample taken
    end = None if duration is None else pylsl.local_clock() + duration
    try:
        while (end is None or pylsl.local_clock() < end) and (stop is None or not stop.is_set()):
            sample, stamp = inlet.pull_sample(timeout=0.05)  # waits for one sample, no longer
            now = pylsl.local_clock()
            if sample is None:
                if silent_since is None and latest is not None and now - latest > PAUSE_S:
                    silent_since = latest
                    say(f"LSL stream {name!r} sent nothing for {PAUSE_S:g} s; waiting for it (the decisions so far are kept).")
                continue
            if silent_since is not None:
                pauses.append(now - silent_since)
                say(f"LSL stream {name!r} is back after {pauses[-1]:.1f} s.")
                silent_since = None
            more, times = inlet.pull_chunk(timeout=0.0, max_samples=4096)  # and takes what came with it
            chunk, times = [sample, *more], [stamp, *times]
            correction = inlet.time_correction()  # the stream's clock to this computer's
            arrived = np.asarray(times) + correction
            gaps = np.diff(np.concatenate([[] if latest is None else [latest], arrived])) * fs
            latest = arrived[-1]
            lost = int(np.round(gaps[gaps > 1.5] - 1).sum())
            if lost:
                dropped += lost
                say(f"LSL stream {name!r} dropped {lost} sample(s) ({lost / fs * 1000:.0f} ms) at {arrived[0]:.3f} s "
                    f"(LSL time); {dropped} so far. The windows over the gap are decided on the samples that came.")
            stamps = np.concatenate([stamps, arrived])
            decisions = decoder.push(np.asarray(chunk, dtype=np.float64))
            for row in decisions.to_dict("records"):
                outlet.push_sample([str(row["decision"])])
                if sender is not None:
                    sender.sendto(f"{row['decision']},{row['confidence']:.6g},{row['window']}".encode(), udp)
                published = pylsl.local_clock()
                ending = stamps[decoder.first_sample(row["window"]) + n_times - 1 - stamps_from]  # its last sample's time
                rows.append(row | {"sample_time": ending, "published": published, "latency": published - ending})
            held = min(decoder.first_sample(decoder.next_window), stamps_from + len(stamps))  # where coming windows start
            stamps, stamps_from = stamps[held - stamps_from:], held
    finally:
        if sender is not None:
            sender.close()
        table = pd.DataFrame(rows)
        table.attrs |= {"dropped": dropped, "pauses": pauses}
        if log is not None:
            Path(log).parent.mkdir(parents=True, exist_ok=True)
            write_table(Path(log).parent, Path(log).name, table)
    return table
