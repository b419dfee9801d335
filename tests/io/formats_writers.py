"""Writers of test files in the formats bmelearn reads, through each format's own library
where it has a writer (ezc3d for C3D, wfdb for WFDB); XDF has no Python writer, so it is
written here by its specification (chunks of the XDF 1.0 format: file header, stream headers,
samples with time stamps, stream footers), and TRC is text."""

from __future__ import annotations

import struct
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np


def _chunk(tag: int, content: bytes) -> bytes:
    """One XDF chunk: its length (tag included) in 8 bytes, the tag, the content."""
    return bytes([8]) + struct.pack("<Q", len(content) + 2) + struct.pack("<H", tag) + content


def _varlen(n: int) -> bytes:
    return bytes([4]) + struct.pack("<I", n)


def xdf_stream(name: str, kind: str, fs: float, stamps: np.ndarray, values, labels=(), units=(), types=(),
               channel_format: str = "double64") -> dict:
    """A stream for :func:`write_xdf`: numeric ``values`` (samples × channels) or a list of
    strings (a marker stream, ``fs`` 0), with a time stamp per sample (None: no time stamps)."""
    return {"name": name, "type": kind, "fs": fs, "stamps": stamps, "values": values, "labels": list(labels),
            "units": list(units), "types": list(types), "format": channel_format}


def write_xdf(path: Path, streams: list[dict]) -> None:
    """``streams`` (:func:`xdf_stream`) as an XDF file at ``path``."""
    out = [b"XDF:", _chunk(1, b'<?xml version="1.0"?><info><version>1.0</version></info>')]
    for sid, stream in enumerate(streams, start=1):
        strings = stream["format"] == "string"
        count = 1 if strings else np.asarray(stream["values"]).shape[1]
        channels = "".join(
            "<channel>" + "".join(f"<{key}>{escape(str(values[i]))}</{key}>" for key, values in
                                  (("label", stream["labels"]), ("unit", stream["units"]), ("type", stream["types"]))
                                  if i < len(values)) + "</channel>" for i in range(count))
        header = (f'<?xml version="1.0"?><info><name>{escape(stream["name"])}</name><type>{stream["type"]}</type>'
                  f"<channel_count>{count}</channel_count><nominal_srate>{stream['fs']}</nominal_srate>"
                  f"<channel_format>{stream['format']}</channel_format><created_at>0</created_at>"
                  f"<desc><channels>{channels}</channels></desc></info>")
        out.append(_chunk(2, struct.pack("<I", sid) + header.encode()))
    for sid, stream in enumerate(streams, start=1):
        values, stamps = stream["values"], stream["stamps"]
        n = len(values)
        for begin in range(0, n, 500):  # chunks of 500 samples, as LabRecorder writes a few at a time
            body = bytearray(struct.pack("<I", sid) + _varlen(min(500, n - begin)))
            for i in range(begin, min(begin + 500, n)):
                body += (bytes([8]) + struct.pack("<d", stamps[i])) if stamps is not None else bytes([0])
                if stream["format"] == "string":
                    text = str(values[i]).encode()
                    body += _varlen(len(text)) + text
                else:
                    body += np.asarray(values[i], dtype="<f8").tobytes()
            out.append(_chunk(3, bytes(body)))
    for sid, stream in enumerate(streams, start=1):
        stamps = stream["stamps"]
        first, last = (stamps[0], stamps[-1]) if stamps is not None and len(stamps) else (0.0, 0.0)
        footer = (f'<?xml version="1.0"?><info><first_timestamp>{first}</first_timestamp><last_timestamp>{last}'
                  f"</last_timestamp><sample_count>{len(stream['values'])}</sample_count></info>")
        out.append(_chunk(6, struct.pack("<I", sid) + footer.encode()))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"".join(out))


def write_c3d(path: Path, markers: dict[str, np.ndarray] | None, marker_rate: float, analogs: dict[str, np.ndarray] | None,
              analog_rate: float | None = None, events: list[tuple[float, str, str]] = (), units: str = "mm") -> None:
    """A C3D file by ezc3d: ``markers`` (name → 3 × frames), ``analogs`` (label → samples at
    ``analog_rate``, a multiple of ``marker_rate``), ``events`` (time s, context, label)."""
    import ezc3d

    c3d = ezc3d.c3d()
    c3d["parameters"]["POINT"]["RATE"]["value"] = [marker_rate]
    names = list(markers or {})
    c3d["parameters"]["POINT"]["LABELS"]["value"] = tuple(names)
    c3d["parameters"]["POINT"]["UNITS"]["value"] = (units,)
    frames = next(iter(markers.values())).shape[1] if markers else len(next(iter(analogs.values()))) * marker_rate // analog_rate
    points = np.ones((4, len(names), int(frames)))
    for i, name in enumerate(names):
        points[:3, i] = markers[name]
    c3d["data"]["points"] = points
    if analogs:
        c3d["parameters"]["ANALOG"]["RATE"]["value"] = [analog_rate]
        c3d["parameters"]["ANALOG"]["LABELS"]["value"] = tuple(analogs)
        c3d["parameters"]["ANALOG"]["UNITS"]["value"] = tuple("uV" for _ in analogs)
        c3d["data"]["analogs"] = np.array(list(analogs.values()))[None]
    for time, context, label in events:
        c3d.add_event(time=[int(time // 60), time % 60], context=context, label=label)
    path.parent.mkdir(parents=True, exist_ok=True)
    c3d.write(str(path))


def write_trc(path: Path, markers: dict[str, np.ndarray], rate: float, units: str = "mm") -> None:
    """A TRC file of ``markers`` (name → 3 × frames); NaN is written as an empty field."""
    frames = next(iter(markers.values())).shape[1]
    lines = [f"PathFileType\t4\t(X/Y/Z)\t{path.name}",
             "DataRate\tCameraRate\tNumFrames\tNumMarkers\tUnits\tOrigDataRate\tOrigDataStartFrame\tOrigNumFrames",
             f"{rate:g}\t{rate:g}\t{frames}\t{len(markers)}\t{units}\t{rate:g}\t1\t{frames}",
             "Frame#\tTime\t" + "\t\t\t".join(markers) + "\t\t",
             "\t\t" + "\t".join(f"{a}{i + 1}" for i in range(len(markers)) for a in "XYZ"),
             ""]
    for t in range(frames):
        cells = [f"{v:.10g}" if np.isfinite(v) else "" for name in markers for v in markers[name][:, t]]
        lines.append("\t".join([str(t + 1), f"{t / rate:.6f}", *cells]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
