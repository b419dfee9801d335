"""The TRIPOD+AI checklist of the report (issue 21): every item of the statement by its number,
filled from the run where the run knows it (data source, participants, sample size, exclusions,
methods, performance with its interval, software version), the others visibly marked as needing
the author's input, with a count that agrees with the table and links to sections on the page."""

from __future__ import annotations

import json
import re

import pytest

from bmelearn.report.sections.tripod import NEEDS_INPUT
from bmelearn.runs import folder as run_folder
from tests.report.test_flow import page_with_exclusions
from tests.report.test_report import page_tables, section_of, visible_text, write

#: The items of TRIPOD+AI (Collins et al., BMJ 2024;385:e078378), in order.
NUMBERS = ["1", "2", "3a", "3b", "3c", "4", "5a", "5b", "6a", "6b", "6c", "7", "8a", "8b", "8c", "9a", "9b", "9c", "10", "11",
           "12a", "12b", "12c", "12d", "12e", "12f", "12g", "13", "14", "15", "16", "17", "18a", "18b", "18c", "18d", "18e",
           "18f", "19", "20a", "20b", "20c", "21", "22", "23a", "23b", "24", "25", "26", "27a", "27b", "27c"]
#: Items no run folder can answer.
ALWAYS_OPEN = ["1", "2", "3a", "3b", "3c", "5b", "6a", "6b", "6c", "8b", "8c", "9c", "14", "18a", "18b", "18c", "18d", "19",
               "20c", "25", "26", "27a", "27b", "27c"]


def checklist(page: str) -> dict[str, tuple[str, str, str]]:
    """Item number → (topic, what the run says, where it is shown) of the checklist's table."""
    rows = page_tables(page)["tripod-table"]
    items = [row for row in rows[1:] if len(row) == 4]
    return {number: (topic, says, where) for number, topic, says, where in items}


@pytest.fixture(scope="module")
def demo_page(demo_runs) -> str:
    return (demo_runs / "demo" / run_folder.REPORT).read_text(encoding="utf-8")


def test_every_item_in_the_statements_order_under_its_part(demo_page):
    assert list(checklist(demo_page)) == NUMBERS
    parts = [row[0] for row in page_tables(demo_page)["tripod-table"] if len(row) == 1]
    assert parts == ["Title and abstract", "Introduction", "Methods", "Open science and ethics", "Results", "Discussion"]


def test_items_the_run_cannot_know_are_marked_and_counted(demo_page):
    items = checklist(demo_page)
    open_items = [n for n, (_, says, _) in items.items() if says == NEEDS_INPUT]
    assert open_items == ALWAYS_OPEN  # ethics is not asked of simulated data
    text = visible_text(section_of(demo_page, "tripod"))
    assert f"{len(NUMBERS) - len(open_items)} of {len(NUMBERS)} items filled from the run; {len(open_items)} need your input." in text
    assert section_of(demo_page, "tripod").count(f'<span class="needs-input">{NEEDS_INPUT}</span>') == len(open_items)
    assert "table.checklist" in demo_page and ".needs-input {" in demo_page  # a style of its own


def test_filled_items_say_what_the_run_holds(demo_runs, demo_page):
    items = checklist(demo_page)
    assert items["5a"][1] == "The simulator dataset. Built-in simulated armband. Simulated data, not recordings of people."
    assert items["10"][1] == ("3 participants, 84 trials, 1176 analysis windows: rest (168), hand close (168), hand open (168), "
                              "wrist flexion (168), wrist extension (168), pronation (168) and supination (168).")
    assert items["9a"][1] == "Features of each window, chosen in the experiment file (EMG: HTD, RMS; ACC: MAV); no selection."
    assert items["9b"][1].startswith("Signals: EMG: 8 channels at 1000 Hz; ACC: 3 channels at 50 Hz.")
    assert items["11"][1] == "Left out before the analysis: nothing was left out."
    assert items["12c"][1] == ("Models: LDA, SVM and random forest; internal validation: cross-session and "
                               "leave-one-subject-out; every random step seeded from seed 0.")
    assert items["13"][1].endswith("largest to smallest class 1 to 1. Balanced accuracy weighs every class the same.")
    assert items["15"][1] == "The probability of each class for each window, and the predicted class (the most probable one)."
    assert items["17"][1] == "Not applicable: the data were simulated, no person was recorded."
    assert items["21"][1] == ("Cross-session: 588 windows of 3 participants tested; Leave-one-subject-out: 1176 windows of "
                              "3 participants tested.")
    assert items["22"][1].startswith("LDA, random forest and SVM, each saved as one file in the run folder's models folder")
    version = json.loads((demo_runs / "demo" / run_folder.RUN).read_text())["bmelearn"]
    assert items["18f"][1].startswith(f"Run with bmelearn {version};")


def test_performance_is_the_best_models_mean_with_its_interval(demo_runs, demo_page):
    summary = json.loads((demo_runs / "demo" / run_folder.SUMMARY).read_text())
    protocol = summary[run_folder.SUMMARY_PRIMARY]
    means = {p: m["balanced_accuracy"] for p, m in summary[run_folder.SUMMARY_PROTOCOLS][protocol].items()}
    best = max(means, key=lambda p: means[p]["mean"])
    stats = means[best]
    label = {"lda": "LDA", "svm": "SVM", "rf": "random forest"}[best]
    items = checklist(demo_page)
    assert protocol == "loso"
    assert items["23a"][1] == (f"Balanced accuracy of {label} (leave-one-subject-out): {100 * stats['mean']:.1f}\u00a0% "
                               f"(95% interval {100 * stats['ci_low']:.1f}–{100 * stats['ci_high']:.1f}\u00a0%).")
    assert items["23b"][1] == (f"Balanced accuracy of {label} from {100 * stats['min']:.1f} to {100 * stats['max']:.1f}\u00a0% "
                               "over 3 participants.")


def test_every_pointer_leads_to_a_section_of_the_page(demo_page):
    table = section_of(demo_page, "tripod")
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', table)
    assert {"data", "flow", "methods", "headline", "per-subject"} <= {id for id, _ in links}
    for id, title in links:
        assert re.search(rf'<section id="{id}">\s*<details( open)?>\s*<summary><h2>{re.escape(title)}</h2>', demo_page), id
    assert '<section id="tripod">\n<details>' in demo_page  # folded, like the other reference material


def test_the_rows_of_exclusions_csv_fill_the_missing_data_item(demo_runs, tmp_path):
    page = page_with_exclusions(demo_runs, tmp_path)
    assert checklist(page)["11"][1] == ("Left out before the analysis: 1 participant: withdrew consent; 3 trials: no "
                                        "movement onset found; 12 windows: saturated amplifier; 2 channels: EMG3 and EMG7 "
                                        "detached.")


def test_recorded_data_leave_ethics_to_the_author_and_name_the_path(tmp_path):
    items = checklist(write(tmp_path))  # the toy dataset of /data/toy: not simulated
    assert items["17"][1] == NEEDS_INPUT
    assert items["5a"][1] == "The toy dataset, read from /data/toy."
    assert items["15"][1] == "The predicted class of each window."  # no predictions.parquet: no probabilities known
    assert items["22"][1] == NEEDS_INPUT  # no models folder
    assert items["18e"][1] == NEEDS_INPUT  # not a dataset bmelearn knows: only the author knows whether it is shared
