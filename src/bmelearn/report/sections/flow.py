"""The flow of the data, as a STARD-style diagram drawn in HTML boxes (no script, no image): what
was read (recordings.csv), what was left out and why (exclusions.csv), the analysis
windows per class (windows.csv) and, per protocol, the windows tested (predictions.parquet)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from bmelearn.report import tables, text
from bmelearn.report.page import Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

EXCLUSION_COLUMNS = ("level", "count", "reason")
#: The plural of each level, as a box says it.
LEVEL_WORDS = {"subject": ("participant", "participants"), "session": ("session", "sessions"),
               "trial": ("trial", "trials"), "window": ("window", "windows"), "channel": ("channel", "channels")}


@dataclass
class Exclusion:
    """``count`` units of ``level`` (subject, session, trial, window or channel) left out, and why."""

    level: str
    count: int
    reason: str

    @property
    def words(self) -> str:
        """``2 trials: shorter than one 200 ms window``."""
        one, many = LEVEL_WORDS.get(self.level, (self.level, f"{self.level}s"))
        return f"{text.plural(self.count, one, many)}: {self.reason}" if self.reason else text.plural(self.count, one, many)


@dataclass
class Box:
    """One box of the diagram: a bold ``title`` and its ``lines``."""

    title: str
    lines: list[str] = field(default_factory=list)


@dataclass
class Step:
    """A row of the diagram: the ``main`` box(es) of the data, and the ``side`` boxes beside the arrow that leads
    on from them (what was left out on the way, or flagged and kept)."""

    main: list[Box]
    side: list[Box] = field(default_factory=list)


def exclusions(run: RunData) -> list[Exclusion]:
    """What was left out: the rows of exclusions.csv (none in a folder without it)."""
    table = run.table(run_folder.EXCLUSIONS)
    if table is None:
        return []
    tables.require_columns(table, EXCLUSION_COLUMNS, "exclusions")
    return [Exclusion(str(row.level), int(row.count), "" if pd.isna(row.reason) else str(row.reason))
            for row in table.itertuples()]


def flagged_channels(run: RunData) -> list[str]:
    """``EMG1 (3 sessions)``: each channel the quality checks flagged, with the number of sessions where they did."""
    quality = run.channel_quality
    if quality is None or quality.empty:
        return []
    flagged = quality[quality["flagged"].astype(bool)].drop_duplicates(["subject", "session", "modality", "channel"])
    counts = flagged.groupby("channel").size()
    return [f"{channel} ({text.plural(int(counts[channel]), 'session')})" for channel in tables.natural_order(counts.index)]


def tested(run: RunData) -> pd.DataFrame:
    """Per protocol (the index): windows and participants tested (``windows``, ``participants``), from predictions.parquet;
    empty if the run saved no predictions."""
    predictions = run.table(run_folder.PREDICTIONS)
    if predictions is None or predictions.empty:
        return pd.DataFrame(columns=["windows", "participants"])
    counts = predictions.groupby("protocol", sort=False).agg(windows=("window", "nunique"), participants=("subject", "nunique"))
    return counts.reindex([p for p in run.protocols.index if p in counts.index])


def steps(run: RunData) -> list[Step]:
    """The rows of the diagram, top to bottom."""
    recordings, overview = run.require(run_folder.RECORDINGS), run.overview
    n_sessions = len(recordings[["subject", "session"]].drop_duplicates())
    flagged, left = flagged_channels(run), exclusions(run)
    unrated = sum(e.count for e in left if e.level == "trial" and e.reason == run_folder.UNRATED)
    read = Box("Read", [text.plural(overview.n_subjects, "participant"), text.plural(n_sessions, "recording session"),
                        text.plural(overview.n_trials + unrated, "trial"),
                        text.plural(len(recordings), "recording") + (" of the rated trials" if unrated else "")])
    counts = run.window_counts
    analysed = Box(f"Analysed: {text.plural(int(counts.sum()), 'window')}", [f"{c}: {int(n)}" for c, n in counts.items()])
    rows = [Step([read], [Box("Left out", [e.words for e in left] or ["Nothing was left out"])]
                 + ([Box("Flagged by the channel checks, kept in the analysis", flagged)] if flagged else [])),
            Step([analysed])]
    protocols = tested(run)
    if not protocols.empty:
        rows.append(Step([Box(text.protocol_label(p), [f"{text.plural(int(row.windows), 'window')} tested "
                                                        f"({row.windows / counts.sum():.0%} of those analysed)",
                                                        f"from {text.plural(int(row.participants), 'participant')}"])
                          for p, row in protocols.iterrows()]))
    return rows


def section(run: RunData) -> Section:
    intro = ("How the data went from the files to the tests, in the manner of a STARD flow diagram: what was read, what "
             "was left out and why, the analysis windows of each class, and how many windows each evaluation tested "
             "(each once, by a model that had not seen them).")
    return Section("flow", "Flow of the data", intro=[intro], template="flow.html", extra={"steps": steps(run)})
