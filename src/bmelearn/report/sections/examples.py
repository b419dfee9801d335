"""What the signals look like: example recordings, raw and after preprocessing."""

from __future__ import annotations

from bmelearn.report import figures
from bmelearn.report.page import Figure, Item, Section
from bmelearn.report.run import RunData
from bmelearn.signals.recording import Recording, session_label

SECONDS = 5.0  # drawn of each example
MAX_CHANNELS = 16  # drawn of each example


def example(caption: str, recording: Recording) -> Figure:
    """An example recording: a plot of its first seconds and a line saying what it is."""
    meta = recording.meta
    names = {"subject": "subject", "label": "class", "trial": "trial"}
    facts = [f"{name} {meta[key]}" for key, name in names.items() if meta.get(key) is not None]
    if meta.get("session") is not None:
        facts.insert(1, session_label(meta["session"]))
    shown = (f"first {SECONDS:g} s of {recording.duration:.3g} s shown" if recording.duration > SECONDS
             else f"whole recording ({recording.duration:.3g} s) shown")
    description = (
        f"{recording.modality.upper()}, {recording.n_channels} channels at {recording.fs:g} Hz"
        + (f"; {', '.join(facts)}" if facts else "")
        + f"; {shown}. Each channel has its own vertical scale."
    )
    if recording.n_channels > MAX_CHANNELS:
        description += f" Only the first {MAX_CHANNELS} of {recording.n_channels} channels are drawn."
    return Figure(figures.signal_figure(recording, SECONDS, MAX_CHANNELS), f"Example signal: {caption}", description,
                  lead=str(caption))


def section(run: RunData) -> Section:
    return Section("examples", "What the signals look like", items=[Item(figure=example(*e)) for e in run.examples], folded=True,
                   empty="No example recordings were given.")
