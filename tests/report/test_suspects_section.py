"""The "Labels to check" section: the most suspect trials of suspect_labels.csv as the run folder
holds them (a hand-made table and one found on simulated flipped labels), folded; none without them."""

from __future__ import annotations

import pandas as pd

from bmelearn.evaluation.suspects import COLUMNS, suspect_labels
from bmelearn.report.page import Report
from bmelearn.report.run import RunData
from bmelearn.report.sections.suspects import SHOWN, section
from bmelearn.runs import folder as run_folder
from tests.evaluation.test_suspects import CLASSES, simulated_flips
from tests.report.test_report import page_tables, section_of, visible_text

HEADER = ["Rank", "Trial", "Subject", "Given label", "Suggested", "Probability of the given label (%)",
          "Probability of the suggested class (%)", "Windows"]


def page_of(folder, table: pd.DataFrame | None) -> tuple[RunData, str | None]:
    """The run folder with ``table`` as its suspects table (none when None), and the page of the section alone."""
    if table is not None:
        run_folder.write_table(folder, run_folder.SUSPECTS, table)
    run = RunData(folder, config={})
    found = section(run)
    return run, None if found is None else Report([found]).render()


def test_hand_made_suspects_are_shown_with_their_probabilities_in_percent(tmp_path):
    table = pd.DataFrame([[1, "T3", "7", "fist", "rest", 0.125, 0.75, 4, 8, "logreg", "loso"],
                          [2, "T8", "", "rest", "fist", 0.25, 0.6875, 5, 8, "logreg", "loso"]], columns=COLUMNS)
    _, page = page_of(tmp_path, table)
    rows = page_tables(page)["suspects-table"]
    assert rows == [HEADER, ["1", "T3", "7", "fist", "rest", "12.5", "75.0", "4"],
                    ["2", "T8", "–", "rest", "fist", "25.0", "68.8", "5"]]
    text = visible_text(section_of(page, "suspects"))
    assert "Labels to check" in text and "logistic regression" in text and "leave-one-subject-out" in text
    assert "Northcutt" in text and "2 of 8 trials (25.0 %) were flagged." in text
    assert '<section id="suspects">\n<details>' in page  # folded: it opens on a click


def test_simulated_suspects_show_the_twenty_most_suspect_of_all_flagged(tmp_path):
    predictions, flipped = simulated_flips(0)
    table = suspect_labels(predictions, CLASSES)
    assert len(table) > SHOWN
    _, page = page_of(tmp_path, table)
    rows = page_tables(page)["suspects-table"][1:]
    assert [r[1] for r in rows] == table["trial"].head(SHOWN).tolist()
    assert all(r[1] in flipped and r[4] == flipped[r[1]] for r in rows)
    assert [float(r[5]) for r in rows] == sorted(float(r[5]) for r in rows)
    assert (f"{len(table)} of 600 trials ({100 * len(table) / 600:.1f} %) were flagged; the 20 most suspect are shown"
            in visible_text(page))


def test_no_section_without_suspects(tmp_path):
    assert page_of(tmp_path, None)[1] is None  # the run wrote no table
    assert page_of(tmp_path, pd.DataFrame(columns=COLUMNS))[1] is None  # no trial was flagged
