"""The flow diagram of the data (issue 21): its boxes give the exact counts of a simulated run
(subjects, sessions, trials, windows per class, windows tested per protocol), the rows of
exclusions.csv when the run wrote one, and otherwise what the folder tells (trials shorter than
one window, channels excluded by name); the page draws it with CSS boxes, no script."""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from bmelearn.report import write_report
from bmelearn.report.run import RunData
from bmelearn.report.sections import flow
from bmelearn.runs import folder as run_folder
from tests.conftest import DEMO_SMALL
from tests.report.test_report import CONFIG, make_confusion, make_results, section_of, write_run_folder

# The demo run of conftest: 3 simulated participants, 2 sessions, 2 repetitions of 7 gestures, 1.5 s trials,
# windows of 0.2 s every 0.1 s: floor((1.5 - 0.2) / 0.1) + 1 = 14 windows per trial.
N_SUBJECTS, N_SESSIONS, N_REPETITIONS, N_CLASSES, WINDOWS_PER_TRIAL = 3, 2, 2, 7, 14
N_TRIALS = N_SUBJECTS * N_SESSIONS * N_REPETITIONS * N_CLASSES  # 84
N_WINDOWS = N_TRIALS * WINDOWS_PER_TRIAL  # 1176
EXCLUSIONS = pd.DataFrame({"level": ["subject", "trial", "window", "channel"], "count": [1, 3, 12, 2],
                           "reason": ["withdrew consent", "no movement onset found", "saturated amplifier",
                                      "EMG3 and EMG7 detached"]})


def demo_run(demo_runs: Path) -> RunData:
    folder = demo_runs / "demo"
    return RunData(folder, yaml.safe_load((folder / run_folder.CONFIG).read_text(encoding="utf-8")))


def boxes(page: str) -> list[tuple[str, list[str], bool]]:
    """(title, lines, beside the arrow) of every box of the flow diagram, top to bottom."""
    found = re.findall(r'<div class="flow-box( flow-side)?">\s*<strong>(.*?)</strong>\s*<ul>(.*?)</ul>', section_of(page, "flow"),
                       re.S)
    return [(html.unescape(title), [html.unescape(li) for li in re.findall(r"<li>(.*?)</li>", items)], bool(side))
            for side, title, items in found]


def test_the_demo_settings_are_those_the_counts_assume():
    assert DEMO_SMALL == ["dataset.n_subjects=3", "dataset.n_repetitions=2", "dataset.duration=1.5",
                          "protocols=[cross_session, loso]"]


def test_boxes_count_what_was_read_analysed_and_tested(demo_runs):
    steps = flow.steps(demo_run(demo_runs))
    read, analysed, tested = steps
    assert read.main[0].lines == [f"{N_SUBJECTS} participants", f"{N_SUBJECTS * N_SESSIONS} recording sessions",
                                  f"{N_TRIALS} trials", f"{2 * N_TRIALS} recordings"]  # EMG and accelerometer
    assert read.side[0].title == "Left out" and read.side[0].lines == ["Nothing was left out"]
    per_class = N_WINDOWS // N_CLASSES
    assert analysed.main[0].title == f"Analysed: {N_WINDOWS} windows"
    assert analysed.main[0].lines == [f"{c}: {per_class}" for c in ("rest", "hand close", "hand open", "wrist flexion",
                                                                    "wrist extension", "pronation", "supination")]
    assert analysed.side == []
    # cross-session trains on session 1 and tests on session 2: half the windows; leave-one-subject-out tests them all
    assert [(b.title, b.lines) for b in tested.main] == [
        ("Cross-session", [f"{N_WINDOWS // 2} windows tested (50% of those analysed)", f"from {N_SUBJECTS} participants"]),
        ("Leave-one-subject-out", [f"{N_WINDOWS} windows tested (100% of those analysed)", f"from {N_SUBJECTS} participants"])]


def test_channels_flagged_but_kept_are_named_beside_the_arrow_not_as_left_out(demo_runs):
    run = demo_run(demo_runs)
    quality = run.channel_quality
    flagged = quality[quality["flagged"].astype(bool)].drop_duplicates(["subject", "session", "channel"])
    sessions = flagged.groupby("channel").size()
    read = flow.steps(run)[0]
    kept = read.side[1]
    assert kept.title == "Flagged by the channel checks, kept in the analysis"
    assert kept.lines == [f"{c} ({n} session{'s' * (n > 1)})" for c, n in sorted(sessions.items(), key=lambda x: int(x[0][3:]))]


def test_the_page_draws_the_diagram_in_boxes_without_script(demo_runs):
    page = (demo_runs / "demo" / run_folder.REPORT).read_text(encoding="utf-8")
    where = [page.index(f'<section id="{i}">') for i in ("data", "flow", "examples")]
    assert where == sorted(where)
    drawn = boxes(page)
    assert [(title, side) for title, _, side in drawn][:3] == [("Read", False), ("Left out", True),
                                                              ("Flagged by the channel checks, kept in the analysis", True)]
    assert [title for title, _, _ in drawn][3:] == [f"Analysed: {N_WINDOWS} windows", "Cross-session", "Leave-one-subject-out"]
    assert section_of(page, "flow").count('class="flow-arrow"') == 2
    assert "<script" not in page and ".flow-arrow::after" in page


def page_with_exclusions(demo_runs: Path, tmp_path: Path) -> str:
    """The demo run's report written again with the rows of :data:`EXCLUSIONS` in its exclusions.csv."""
    folder = tmp_path / "demo"
    shutil.copytree(demo_runs / "demo", folder)
    run_folder.write_table(folder, run_folder.EXCLUSIONS, EXCLUSIONS)
    config = yaml.safe_load((folder / run_folder.CONFIG).read_text(encoding="utf-8"))
    return write_report(folder, config=config, title="with exclusions").read_text(encoding="utf-8")


def test_the_rows_of_exclusions_csv_are_shown(demo_runs, tmp_path):
    page = page_with_exclusions(demo_runs, tmp_path)
    left_out = [lines for title, lines, _ in boxes(page) if title == "Left out"]
    assert left_out == [["1 participant: withdrew consent", "3 trials: no movement onset found",
                         "12 windows: saturated amplifier", "2 channels: EMG3 and EMG7 detached"]]


def test_exclusions_csv_without_its_columns_is_named(tmp_path):
    write_run_folder(tmp_path, make_results(), make_confusion())
    run_folder.write_table(tmp_path, run_folder.EXCLUSIONS, pd.DataFrame({"level": ["trial"], "n": [2]}))
    with pytest.raises(Exception, match="exclusions table lacks the columns"):
        flow.exclusions(RunData(tmp_path, CONFIG))


def test_a_run_folder_without_predictions_ends_with_the_analysed_windows(tmp_path):
    write_run_folder(tmp_path, make_results(), make_confusion())
    steps = flow.steps(RunData(tmp_path, CONFIG))
    assert [s.main[0].title for s in steps] == ["Read", "Analysed: 39 windows"]
    assert steps[0].main[0].lines == ["3 participants", "6 recording sessions", "36 trials", "72 recordings"]
    assert steps[1].main[0].lines == ["rest: 12", "fist: 15", "open hand: 12"]
