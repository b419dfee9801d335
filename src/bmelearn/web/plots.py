"""Interactive figures (Plotly) for the dashboard: zoom into signals, hover on points.

Figures are returned as HTML fragments; the page loads plotly.js once from the server itself
(``/static/plotly.min.js``), so nothing is fetched from the internet.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.offline import get_plotlyjs

from bmelearn.report.text import model_label, protocol_label
from bmelearn.signals.recording import Recording

#: Most samples per channel drawn in a signal plot (longer signals are decimated for display).
MAX_POINTS = 2000


@functools.cache
def plotly_js() -> str:
    """plotly.js from the installed plotly package."""
    return get_plotlyjs()


def _html(fig: go.Figure) -> str:
    fig.update_layout(margin={"l": 60, "r": 20, "t": 40, "b": 50}, template="plotly_white")
    return fig.to_html(full_html=False, include_plotlyjs=False, config={"displaylogo": False, "responsive": True})


def class_colours(classes: list[str]) -> dict[str, str]:
    palette = qualitative.Plotly + qualitative.D3 + qualitative.Set3
    return {c: palette[i % len(palette)] for i, c in enumerate(classes)}


def per_subject(table: pd.DataFrame, metric: str) -> str:
    """Each participant's ``metric`` (%) with its interval, one trace per run/protocol/model: markers
    side by side per participant, not joined (participants are not a sequence)."""
    fig = go.Figure()
    for (run, protocol, pipeline), part in table.groupby(["run", "protocol", "pipeline"], sort=False):
        value = 100 * part["value"]
        fig.add_trace(go.Scatter(
            x=part["subject"].astype(str), y=value, mode="markers",
            name=f"{run} · {protocol_label(protocol)} · {model_label(pipeline)}",
            error_y={"type": "data", "symmetric": False, "array": 100 * part["ci_high"] - value,
                     "arrayminus": value - 100 * part["ci_low"]},
            hovertemplate="participant %{x}: %{y:.1f} %<extra>%{fullData.name}</extra>",
        ))
    fig.update_layout(xaxis_title="participant", yaxis_title=f"{metric.replace('_', ' ')} (%)", height=420,
                      scattermode="group", legend={"orientation": "h", "y": -0.25})
    return _html(fig)


def prediction_timeline(recording: Recording, predictions: pd.DataFrame, classes: list[str], score: str) -> str:
    """The signal (channels stacked, each scaled to its own range) over coloured bands of the
    predicted class; hovering a window shows its class and its confidence, called ``score``."""
    colours = class_colours(classes)
    data = recording.data
    step = max(1, data.shape[1] // MAX_POINTS)
    t = np.arange(0, data.shape[1], step) / recording.fs
    fig = go.Figure()
    for i, name in enumerate(recording.ch_names):
        x = data[i, ::step]
        span = float(np.ptp(x)) or 1.0
        fig.add_trace(go.Scattergl(x=t, y=(x - x.mean()) / span - i, mode="lines", name=name,
                                   line={"width": 1, "color": "#333"}, hoverinfo="skip", showlegend=False))
    for start, end, label in _segments(predictions):
        fig.add_vrect(x0=start, x1=end, fillcolor=colours.get(label, "#ccc"), opacity=0.25, line_width=0, layer="below")
    middle = (predictions["start"] + predictions["end"]) / 2
    for label in classes:
        mask = predictions["predicted"] == label
        if mask.any():
            fig.add_trace(go.Scatter(
                x=middle[mask], y=np.full(mask.sum(), 0.8), mode="markers", name=label,
                marker={"color": colours[label], "size": 8, "symbol": "square"},
                customdata=predictions.loc[mask, ["start", "end", "confidence"]].to_numpy(),
                hovertemplate=f"{label}<br>%{{customdata[0]:.2f}}–%{{customdata[1]:.2f}} s<br>"
                              f"{score} %{{customdata[2]:.0%}}<extra></extra>",
            ))
    n = len(recording.ch_names)
    fig.update_layout(xaxis_title="time (s)", height=160 + 40 * n, hovermode="closest",
                      yaxis={"tickvals": [-i for i in range(n)], "ticktext": list(recording.ch_names), "zeroline": False},
                      legend={"orientation": "h", "y": 1.12})
    return _html(fig)


def _segments(predictions: pd.DataFrame) -> list[tuple[float, float, str]]:
    """Runs of consecutive windows with the same predicted class, as (start s, end s, class);
    overlapping windows hand over at the middle of their overlap."""
    labels = predictions["predicted"].to_numpy()
    starts = predictions["start"].to_numpy(dtype=float)
    ends = predictions["end"].to_numpy(dtype=float)
    change = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    bounds = np.r_[0, change, len(labels)]
    out = []
    for a, b in itertools.pairwise(bounds):
        left = starts[a] if a == 0 else (starts[a] + ends[a - 1]) / 2
        right = ends[b - 1] if b == len(labels) else (starts[b] + ends[b - 1]) / 2
        out.append((float(left), float(right), str(labels[a])))
    return out
