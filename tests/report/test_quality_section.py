"""The report on the EMG channel checks: the "Signal quality" section lists the flagged channels,
and the notes name them instead of saying that no warning was raised, both from the run folder
alone (a report made again without the run's warnings) and in a run (issue 17)."""

from __future__ import annotations

import json
import warnings

import pytest

from bmelearn.datasets.simulator import simulate
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.signals.quality import check_quality
from tests.report.test_report import TableParser, write
from tests.signals.test_quality import DRIFT, GAIN, MAINS, spoiled

NO_WARNINGS = "No warnings were raised"


def quality_table(bad: bool):
    """The channel checks of one simulated subject's session (14 recordings of 8 EMG channels),
    with EMG2, EMG4 and EMG6 spoiled when ``bad``."""
    recordings = simulate(n_subjects=1, n_sessions=1, n_repetitions=2, duration=2.0, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return check_quality(spoiled(recordings) if bad else recordings).channels


def section(page: str, id: str) -> str:
    start = page.index(f'<section id="{id}">')
    return page[start:page.index("</section>", start)]


@pytest.fixture(scope="module")
def flagged_page(tmp_path_factory) -> str:
    folder = tmp_path_factory.mktemp("flagged")
    run_folder.write_table(folder, run_folder.CHANNEL_QUALITY, quality_table(bad=True))
    # the folder alone: no warnings handed to the report
    return write(folder, notes=[], examples=[])


def test_flagged_channels_are_listed_after_the_data(flagged_page):
    where = [flagged_page.index(f'<section id="{i}">') for i in ("notes", "data", "quality", "examples")]
    assert where == sorted(where)
    parser = TableParser()
    parser.feed(flagged_page)
    rows = parser.tables["quality-table"]
    assert [(r[3], r[4]) for r in rows[1:]] == [(DRIFT, "power below 20 Hz"), (MAINS, "power within 1 Hz of 50 Hz"),
                                                (GAIN, "RMS relative to the median EMG channel")]
    drift = rows[1]
    assert drift[:3] == ["1", "session1", "EMG"] and drift[7] == "above 25 %" and drift[8] == "14 of 14"
    assert drift[5].endswith(" %") and 35 <= float(drift[5][:-2]) <= 60
    assert rows[3][7] == "above 8 times or below 1/8"
    text = section(flagged_page, "quality")
    assert "De Luca et al. 2010" in text and "kept in the analysis" in text and "No channel was flagged" not in text


def test_notes_name_the_flagged_channels_even_without_the_runs_warnings(flagged_page):
    notes = section(flagged_page, "notes")
    assert NO_WARNINGS not in notes
    for channel in (DRIFT, MAINS, GAIN):
        assert f"Channel {channel} (EMG) of subject 1, session 1, was flagged." in notes


def test_the_runs_warnings_and_the_table_give_each_note_once(tmp_path):
    table = quality_table(bad=True)
    run_folder.write_table(tmp_path, run_folder.CHANNEL_QUALITY, table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        notes = check_quality(spoiled(simulate(n_subjects=1, n_sessions=1, n_repetitions=2, duration=2.0,
                                               seed=11))).notes
    page = write(tmp_path, notes=["Another warning.", *notes], examples=[])
    text = section(page, "notes")
    assert text.count("Another warning.") == 1
    assert all(text.count(f"Channel {c} (EMG)") == 1 for c in (DRIFT, MAINS, GAIN))


def test_clean_channels_give_an_empty_quality_section_and_no_warnings(tmp_path):
    run_folder.write_table(tmp_path, run_folder.CHANNEL_QUALITY, quality_table(bad=False))
    page = write(tmp_path, notes=[], examples=[])
    assert "No channel was flagged" in section(page, "quality") and 'id="quality-table"' not in page
    assert NO_WARNINGS in section(page, "notes")


def test_a_run_folder_without_channel_checks_has_no_quality_section(tmp_path):
    assert '<section id="quality">' not in write(tmp_path, notes=[], examples=[])


def test_a_run_with_a_flagged_channel_reports_it(tmp_path, monkeypatch):
    """A whole (small) run on simulated data with EMG2 drifting, EMG4 picking up 50 Hz and EMG6 amplified."""
    import bmelearn.runs.plan as plan

    real_load = plan.load_dataset
    monkeypatch.setattr(plan, "load_dataset", lambda name, **options: spoiled(real_load(name, **options)))
    config = load_config(None, ["dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.5", "dataset.powerline=0",
                                "models=[lda]", "protocols=[cross_session]", "evaluation.n_boot=0",
                                "execution.backend=sequential"])
    folder = run(config, tmp_path / "spoiled").folder
    info = json.loads((folder / run_folder.RUN).read_text())
    flagged = {(r["subject"], r["session"], r["channel"], r["check"]) for r in info[run_folder.RUN_FLAGGED_CHANNELS]}
    assert {(c, k) for *_, c, k in flagged} == {(DRIFT, "low_frequency"), (MAINS, "powerline_50hz"), (GAIN, "amplitude")}
    assert {s for s, *_ in flagged} == {"1", "2"}
    assert any(n.startswith(f"Channel {DRIFT} (EMG) of subject 1, session 1, was flagged.") for n in info["notes"])
    table = run_folder.read_table(folder, run_folder.CHANNEL_QUALITY)
    assert set(table["modality"]) == {"emg"} and (table["files"] == 7 * 2).all()
    page = (folder / run_folder.REPORT).read_text(encoding="utf-8")
    assert NO_WARNINGS not in page and f"Channel {DRIFT} (EMG) of subject 2, session 2, was flagged." in page
    assert 'id="quality-table"' in page
