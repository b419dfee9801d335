"""XDF files of Lab Streaming Layer recordings, read with pyxdf (``pip install 'bmelearn[xdf]'``).

An XDF file (the Extensible Data Format of LabRecorder) holds several streams, each with its
own clock, rate and channels: an EMG amplifier, an IMU, a stream of text markers. pyxdf puts
every stream on the recording computer's clock (from the clock offsets in the file) and
evens out the jitter of regular streams' time stamps. Here the regular numeric streams are
cut to the time they all cover, from the latest first sample to the earliest last one, each
from its sample nearest that start (so they are aligned to within half a sample of each);
their channels are typed by the channel's or the stream's declared type (``EMG``), one
modality per type and rate. Marker streams (text) become events, each lasting until the next;
a numeric stream without a nominal rate is left aside, with a warning.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from bmelearn.errors import DataError
from bmelearn.io.formats import channel_type, clean_text, group_signals, unreadable
from bmelearn.signals.events import Continuous, instants_as_events


def _first(info: dict, key: str, default: str = "") -> str:
    """One field of an XDF stream header as pyxdf gives it (a list of one string), or ``default``."""
    value = info.get(key) or [default]
    return clean_text(value[0] if value[0] is not None else default)


def _channels(info: dict, count: int, stream: str) -> list[tuple[str, str, str]]:
    """Each channel's (label, type, unit) from the stream's description, else ``stream:1`` ...,
    the stream's type and no unit."""
    described = []
    desc = info.get("desc") or [None]
    if isinstance(desc[0], dict):
        channels = (desc[0].get("channels") or [{}])[0] or {}
        described = channels.get("channel") or [] if isinstance(channels, dict) else []
    kind = _first(info, "type")
    out = []
    for i in range(count):
        channel = described[i] if i < len(described) and isinstance(described[i], dict) else {}
        out.append((_first(channel, "label", f"{stream}:{i + 1}"), _first(channel, "type", kind), _first(channel, "unit")))
    return out


def read_xdf(path: str | Path) -> Continuous:
    """The regular streams of the XDF file at ``path`` on one time base, and its marker streams as events."""
    import pyxdf

    path = Path(path)
    try:
        streams, _ = pyxdf.load_xdf(str(path))
    except Exception as exc:  # noqa: BLE001 (a damaged file fails anywhere in pyxdf)
        raise unreadable(path, "XDF", exc, "Record it again with LabRecorder, or copy the whole file.") from None
    regular, markers = [], []
    for stream in streams:
        info = stream["info"]
        name, rate = _first(info, "name", "stream"), float(_first(info, "nominal_srate", "0") or 0)
        stamps = np.asarray(stream.get("time_stamps", []), dtype=np.float64)
        if _first(info, "channel_format") == "string":
            texts = [v[0] if isinstance(v, list | tuple) else v for v in stream["time_series"]]
            markers += [(t, clean_text(text)) for t, text in zip(stamps, texts, strict=False)]
        elif rate <= 0:
            warnings.warn(f"{path}: stream {name!r} has no nominal rate (irregular samples); it is left aside.", stacklevel=2)
        elif stamps.size == 0 or not np.isfinite(stamps).all():
            raise DataError(f"{path}: stream {name!r} has no time stamps for its samples, so it cannot be put on the "
                            "recording's time base. Record it again (LabRecorder stamps every chunk), or leave the stream out.")
        else:
            regular.append((name, rate, stamps, np.asarray(stream["time_series"], dtype=np.float64), info))
    if not regular:
        raise DataError(f"{path}: no stream of regularly sampled signals (only markers, or nothing).")
    start = max(stamps[0] for _, _, stamps, _, _ in regular)
    end = min(stamps[-1] + 1.0 / rate for _, rate, stamps, _, _ in regular)
    if end <= start:
        raise DataError(f"{path}: its streams do not overlap in time; there is no stretch recorded by all of them.")
    signals = []
    for name, rate, stamps, values, info in regular:
        first = int(np.argmin(np.abs(stamps - start)))
        count = int(np.floor((end - start) * rate + 1e-6))
        block = values[first:first + count].reshape(-1, values.shape[1] if values.ndim == 2 else 1)
        signals += [(label, channel_type(label, kind), rate, block[:, i], unit)
                    for i, (label, kind, unit) in enumerate(_channels(info, block.shape[1], name))]
    duration = min(len(samples) / rate for _, _, rate, samples, _ in signals)
    slack = 0.5 / max(rate for _, rate, _, _, _ in regular)  # a marker at the first sample, give or take the jitter
    return Continuous(group_signals(signals, path), instants_as_events([(max(t - start, 0.0), label) for t, label in markers
                                                                        if start - slack <= t < end], duration))
