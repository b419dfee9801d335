"""Signal quality: the EMG channels flagged by the channel checks of each subject's session
(channel_quality.csv, see :mod:`bmelearn.signals.quality`)."""

from __future__ import annotations

import pandas as pd

from bmelearn.report.cells import Table
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.signals.quality import CHECK_NAMES, FLAGGED_FILES_SHARE, LOW_FREQUENCY_HZ, check_of


def section(run: RunData) -> Section | None:
    table = run.channel_quality
    if table is None or table.empty:
        return None
    table = table[table["check"].isin(CHECK_NAMES)]
    checks = [check_of(name, table.loc[table["check"] == name, "threshold"].iloc[0])
              for name in CHECK_NAMES if (table["check"] == name).any()]
    n_sessions = len(table.drop_duplicates(["subject", "session"]))
    n_channels = len(table.drop_duplicates(["modality", "channel"]))
    intro = [
        "Each EMG channel of each recording was checked as recorded, before preprocessing, for "
        + "; ".join(f"{c.label} (limit: {c.limit})" for c in checks) + f". Surface EMG carries little power below "
        f"{LOW_FREQUENCY_HZ:g} Hz (its usable band is about 20–450 Hz; De Luca et al. 2010, J Biomech 43:1573), so power there is "
        "baseline wander or movement artefact; a channel far stronger or weaker than the others has poor contact "
        "or a different gain; power at the mains frequency is interference.",
        f"A channel is flagged in a subject's session when more than {_share(FLAGGED_FILES_SHARE)} of its recordings "
        f"are beyond the limit; the value shown is its median over its recordings. {n_channels} channel(s) were "
        f"checked in {n_sessions} session(s). Flagged channels were kept in the analysis (leave one out with "
        "bads: {emg: [EMG2]} in the experiment file, naming it); flat channels are excluded automatically (see Notes "
        "and warnings).",
    ]
    rows = []
    for row in table[table["flagged"].astype(bool)].itertuples():
        check = check_of(row.check, row.threshold)
        others = "–" if pd.isna(row.others_low) else check.span(row.others_low, row.others_high)
        rows.append([row.subject or "–", row.session or "–", row.modality.upper(), row.channel, check.label,
                     check.show(row.value), others, check.limit, f"{row.files_flagged} of {row.files}"])
    items = [Item(table=Table(["Subject", "Session", "Signal", "Channel", "Check", "Value (median)", "Other channels",
                               "Limit", "Recordings beyond the limit"], rows, caption="Flagged channels",
                              id="quality-table"))] if rows else []
    return Section("quality", "Signal quality", intro=intro, items=items, folded=len(rows) > FOLD_ABOVE,
                   empty="No channel was flagged: every checked channel was within the limits in most of its recordings.")


#: Above this many flagged rows the section starts folded (its table is long; the notes sum it up).
FOLD_ABOVE = 12


def _share(fraction: float) -> str:
    return "half" if fraction == 0.5 else f"{100 * fraction:g} %"
