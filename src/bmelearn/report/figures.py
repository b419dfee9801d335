"""Figures of the report, drawn with matplotlib's Agg canvas and returned as PNG data URIs.

No pyplot: each figure is a standalone :class:`~matplotlib.figure.Figure`, so building a
report neither changes the caller's backend nor leaves figures open.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import io
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

import joblib
import matplotlib
import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from PIL import Image

from bmelearn import __version__
from bmelearn.compute.arrays import load_arrays, save_arrays
from bmelearn.signals.recording import Recording

DPI = 100
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
CHANNEL_COLOURS = {"emg": "#1f4e79", "acc": "#2ca02c", "gyro": "#d95f02", "quat": "#7570b3", "misc": "#555555"}
ENVELOPE_BINS = 800  # about one bin per pixel column of a trace


#: The folder that keeps drawn figures (inside :func:`figure_cache`), or None.
_CACHE: ContextVar[Path | None] = ContextVar("bmelearn_figure_cache", default=None)
#: What else a figure depends on: this module's code, bmelearn's and matplotlib's versions.
_DRAWING = hashlib.sha256(Path(__file__).read_bytes()).hexdigest() + __version__ + matplotlib.__version__


@contextlib.contextmanager
def figure_cache(folder: Path | None) -> Iterator[None]:
    """Keep the figures drawn inside the block in ``folder`` (None: none kept), and read those
    drawn before from the same data: a report written again (a second run of a study) draws
    only what changed. Rendering a PNG is most of a report's time (the example signals of 3DC:
    0.4-0.7 s each)."""
    token = _CACHE.set(folder)
    try:
        yield
    finally:
        _CACHE.reset(token)


def kept(draw: Callable[..., str]) -> Callable[..., str]:
    """``draw`` (a figure function returning a data URI), its figure read from the figure cache
    when it was drawn from the same arguments (:func:`figure_cache`), else drawn and kept there."""

    @functools.wraps(draw)
    def cached(*args, **kwargs) -> str:
        folder = _CACHE.get()
        if folder is None:
            return draw(*args, **kwargs)
        path = folder / f"{joblib.hash((draw.__qualname__, args, kwargs, _DRAWING))}.npz"
        with contextlib.suppress(Exception):  # a damaged entry is drawn again
            if (stored := load_arrays(path)) is not None:
                return stored["uri"].tobytes().decode("ascii")
        uri = draw(*args, **kwargs)
        with contextlib.suppress(OSError):  # a folder that cannot be written: the figure was drawn, only not kept
            save_arrays(path, uri=np.frombuffer(uri.encode("ascii"), dtype=np.uint8))
        return uri

    return cached


def to_data_uri(fig: Figure) -> str:
    """The figure as a ``data:image/png;base64,...`` URI (a 256-colour PNG, a third the size of a full-colour one)."""
    FigureCanvasAgg(fig)
    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=DPI, facecolor="white")
    image = Image.open(rendered).convert("RGB").quantize(colors=256, dither=Image.Dither.NONE)
    packed = io.BytesIO()
    image.save(packed, format="png", optimize=True)
    return "data:image/png;base64," + base64.b64encode(packed.getvalue()).decode("ascii")


@kept
def subject_accuracy_figure(scores: pd.DataFrame, chance: float | None = None, ylabel: str = "Accuracy (%)",
                            low: pd.DataFrame | None = None, high: pd.DataFrame | None = None) -> str:
    """Dot plot of one score per subject (x) and pipeline (colour), with interval bars from
    ``low``/``high`` (same shape) when given; all fractions."""
    n_subjects, n_pipelines = scores.shape
    fig = Figure(figsize=(min(max(4.5, 0.45 * n_subjects + 2.5), 10.0), 3.2), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(n_subjects)
    spread = min(0.15, 0.6 / max(n_pipelines, 1))
    for i, pipeline in enumerate(scores.columns):
        offset = (i - (n_pipelines - 1) / 2) * spread
        y = 100 * scores[pipeline].to_numpy(dtype=float)
        colour = PALETTE[i % len(PALETTE)]
        if low is not None and high is not None:
            bars = np.vstack([y - 100 * low[pipeline].to_numpy(dtype=float), 100 * high[pipeline].to_numpy(dtype=float) - y])
            ax.errorbar(x + offset, y, yerr=np.clip(np.nan_to_num(bars), 0, None), fmt="none", ecolor=colour, elinewidth=1.2,
                        capsize=2)
        ax.plot(x + offset, y, "o", ms=6, color=colour, label=str(pipeline))
    if chance is not None:
        ax.axhline(100 * chance, color="0.35", ls="--", lw=1, label="chance level")
    ax.set_xticks(x, labels=[str(s) for s in scores.index], rotation=45 if n_subjects > 12 else 0)
    ax.set_xlim(-0.6, n_subjects - 0.4)
    ax.set_ylim(0, 102)
    ax.set_xlabel("Participant")
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    return to_data_uri(fig)


@kept
def curve_figure(curves: dict[str, pd.DataFrame], xlabel: str, ylabel: str, diagonal: bool = False,
                 percent_x: bool = False, ylim: tuple[float, float] = (0, 102), zero: str | None = None,
                 reference: str | None = None) -> str:
    """One line per pipeline with its interval band: each frame has columns x, y, low, high
    (fractions for y), drawn within ``ylim`` (%); ``zero`` labels a line at y = 0; the curve
    named ``reference`` (treat all) is drawn grey and dashed, so each model keeps its colour
    of the other figures."""
    fig = Figure(figsize=(5.6, 3.4), layout="constrained")
    ax = fig.add_subplot()
    models = [name for name in curves if name != reference]
    for pipeline, c in curves.items():
        x = c["x"].to_numpy(dtype=float) * (100 if percent_x else 1)
        if pipeline == reference:
            ax.plot(x, 100 * c["y"].to_numpy(dtype=float), ls="--", color="0.45", lw=1.2, label=str(pipeline))
            continue
        colour = PALETTE[models.index(pipeline) % len(PALETTE)]
        ax.fill_between(x, 100 * c["low"].to_numpy(dtype=float), 100 * c["high"].to_numpy(dtype=float), color=colour,
                        alpha=0.18, lw=0)
        ax.plot(x, 100 * c["y"].to_numpy(dtype=float), "-o" if len(c) < 12 else "-", color=colour, ms=4, label=str(pipeline))
    if diagonal:
        ax.plot([0, 100], [0, 100], ls="--", color="0.5", lw=1)
    if zero is not None:
        ax.axhline(0, ls="--", color="0.3", lw=1, label=zero)
    ax.set_ylim(*ylim)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if all(np.all(np.mod(c["x"].to_numpy(dtype=float), 1) == 0) for c in curves.values()):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # counts (repetitions, electrodes): no 0.5 ticks
    ax.grid(alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=9)
    return to_data_uri(fig)


@kept
def training_figure(history: pd.DataFrame) -> str:
    """Loss by epoch (training, and validation where there was a validation split) and the
    validation accuracy on a second axis; a fine-tuning stage continues the epoch count."""
    fig = Figure(figsize=(5.6, 3.2), layout="constrained")
    ax = fig.add_subplot()
    epoch = np.arange(1, len(history) + 1)
    ax.plot(epoch, history["train_loss"], color=PALETTE[0], label="training loss")
    if "valid_loss" in history and history["valid_loss"].notna().any():
        ax.plot(epoch, history["valid_loss"], color=PALETTE[1], label="validation loss")
    if "stage" in history and (history["stage"] == "fine_tune").any():
        ax.axvline(int(np.argmax(history["stage"].to_numpy() == "fine_tune")) + 0.5, color="0.5", ls="--", lw=1)
    ax.set_xlabel("Epoch")
    ax.set_ylabel("Cross-entropy loss")
    ax.grid(alpha=0.3)
    handles, labels = ax.get_legend_handles_labels()
    if "valid_acc" in history and history["valid_acc"].notna().any():
        right = ax.twinx()
        right.plot(epoch, 100 * history["valid_acc"], color=PALETTE[2], ls=":", label="validation accuracy")
        right.set_ylabel("Validation accuracy (%)")
        right.set_ylim(0, 102)
        more = right.get_legend_handles_labels()
        handles, labels = handles + more[0], labels + more[1]
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.12, 1.0), frameon=False, fontsize=9)
    return to_data_uri(fig)


@kept
def signal_figure(recording: Recording, seconds: float = 5.0, max_channels: int = 16) -> str:
    """The first ``seconds`` of a recording, one stacked trace per channel with its own scale and unit."""
    n_samples = min(recording.n_samples, max(int(round(seconds * recording.fs)), 1))
    n_channels = max(min(recording.n_channels, max_channels), 1)
    fig = Figure(figsize=(8.0, 0.4 + 0.55 * n_channels), layout="constrained")
    axes = fig.subplots(n_channels, 1, sharex=True, squeeze=False)[:, 0]
    for i, ax in enumerate(axes):
        if i < recording.n_channels:
            colour = CHANNEL_COLOURS.get(recording.ch_types[i], "#555555")
            _trace(ax, recording.times[:n_samples], recording.data[i, :n_samples], colour)
            ax.set_ylabel(f"{recording.ch_names[i]}\n({recording.units[i]})", rotation=0, ha="right",
                          va="center", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(x=0)
    axes[-1].set_xlim(0, max(n_samples - 1, 1) / recording.fs)
    axes[-1].set_xlabel("Time (s)")
    return to_data_uri(fig)


def _trace(ax, times: np.ndarray, values: np.ndarray, colour: str) -> None:
    """A line, or for long traces its min/max envelope per pixel column: it looks the same and compresses far better."""
    if len(values) <= 2 * ENVELOPE_BINS:
        ax.plot(times, values, lw=0.6, color=colour)
        return
    edges = np.linspace(0, len(values), ENVELOPE_BINS + 1).astype(int)
    low = np.minimum.reduceat(values, edges[:-1])
    high = np.maximum.reduceat(values, edges[:-1])
    centres = times[(edges[:-1] + edges[1:]) // 2]
    ax.fill_between(centres, low, high, color=colour, lw=0.6, edgecolor=colour)


@kept
def agreement_figure(true: np.ndarray, predicted: np.ndarray, unit: str, limits: tuple[float, float, float]) -> str:
    """Two panels for a continuous target, one point per trial (its windows' mean prediction):
    predicted against true with the identity line, and Bland–Altman's difference (predicted −
    true) against the mean of the two, with the bias and the limits of agreement (``limits``:
    lower, bias, upper) as lines; ``unit`` labels the axes."""
    true, predicted = np.asarray(true, dtype=float), np.asarray(predicted, dtype=float)
    fig = Figure(figsize=(8.4, 3.4), layout="constrained")
    scatter, bland = fig.subplots(1, 2)
    low, high = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    scatter.plot([low, high], [low, high], ls="--", color="0.5", lw=1, label="prediction = truth")
    scatter.scatter(true, predicted, s=12, color=PALETTE[0], alpha=0.7)
    scatter.set_xlabel(f"True ({unit})")
    scatter.set_ylabel(f"Predicted ({unit})")
    mean, difference = (true + predicted) / 2, predicted - true
    bland.scatter(mean, difference, s=12, color=PALETTE[0], alpha=0.7)
    for value, name, style in zip(limits, ("lower limit", "bias", "upper limit"), (":", "-", ":"), strict=True):
        if np.isfinite(value):
            bland.axhline(value, ls=style, color=PALETTE[3] if name == "bias" else "0.3", lw=1.2,
                          label=f"{name} {value:+.3g}")
    bland.axhline(0, color="0.7", lw=0.8)
    bland.set_xlabel(f"Mean of true and predicted ({unit})")
    bland.set_ylabel(f"Predicted − true ({unit})")
    for ax in (scatter, bland):
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
    scatter.legend(loc="upper left", frameon=False, fontsize=8)
    bland.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False, fontsize=8)
    return to_data_uri(fig)
