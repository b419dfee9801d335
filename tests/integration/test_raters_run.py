"""Runs whose labels come from several raters (``labels:``), on the simulator."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from bmelearn.errors import ConfigError, DataError
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run

SMALL = ["dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.0", "models=[lda]",
         "protocols=[cross_session]", "evaluation.n_boot=50", "execution.cache=false"]
SIMULATED = "labels={simulate: [0.9, 0.8, 0.7, 0.6, 0.55], target: soft}"


@pytest.fixture(scope="module")
def soft_run(tmp_path_factory):
    return run(load_config(None, [*SMALL, SIMULATED]), tmp_path_factory.mktemp("raters") / "soft").folder


def test_a_run_on_simulated_raters_scores_the_model_against_each(soft_run):
    scores = run_folder.read_table(soft_run, run_folder.RATER_SCORES)
    references = set(scores["reference"])
    assert {f"rater {i}" for i in range(1, 6)} | {"consensus", "soft labels", "dataset labels"} == references
    assert set(scores.loc[scores["reference"] == "soft labels", "metric"]) == {"expected accuracy", "cross-entropy",
                                                                                 "Brier score"}
    accuracy = scores[scores["metric"] == "accuracy"].set_index("reference")["value"]
    assert accuracy["rater 1"] > accuracy["rater 5"]  # the careful rater agrees with a good model more often
    predictions = pd.read_parquet(soft_run / run_folder.PREDICTIONS)
    # the consensus is the results' target: the same accuracy over all windows
    assert accuracy["consensus"] == pytest.approx((predictions["true"] == predictions["predicted"]).mean())
    agreement = run_folder.read_table(soft_run, run_folder.RATER_AGREEMENT).fillna({"pipeline": ""})
    assert len(agreement[agreement["pipeline"] == ""]) == 10 + 2  # ten pairs, Fleiss' kappa, Krippendorff's alpha
    assert len(agreement[agreement["pipeline"] == "lda"]) == 5
    report = (soft_run / run_folder.REPORT).read_text()
    assert 'id="raters"' in report and "5 simulated raters of accuracy 0.9, 0.8, 0.7, 0.6, 0.55" in report
    assert "Labelled by 5 simulated raters of accuracy 0.9, 0.8, 0.7, 0.6, 0.55 (not people)." in report  # TRIPOD+AI 8b
    target = run_folder.read_table(soft_run, run_folder.RATER_SCORES).query("metric == 'target accuracy'")
    assert len(target) == 1 and 0.7 < target["value"].iloc[0] < 1  # the majority of 5 noisy raters: mostly right


def test_ratings_from_a_file_left_out_trials_are_counted(soft_run, tmp_path):
    recordings = pd.read_csv(soft_run / run_folder.RECORDINGS)
    trials = recordings.drop_duplicates("trial")
    ratings = pd.concat([pd.DataFrame({"trial": trials["trial"], "rater": rater, "label": trials["label"]})
                         for rater in ("A", "B")])
    ratings = ratings[ratings["trial"] != trials["trial"].iloc[0]]  # one trial not rated
    path = tmp_path / "ratings.csv"
    ratings.to_csv(path, index=False)
    folder = run(load_config(None, [*SMALL, f"labels={{file: {path}, target: 'rater:B'}}"]), tmp_path / "run").folder
    excluded = run_folder.read_table(folder, run_folder.EXCLUSIONS)
    assert excluded.to_dict(orient="records") == [{"level": "trial", "count": 1, "reason": "no rating"}]
    assert pd.read_csv(folder / run_folder.RECORDINGS)["trial"].nunique() == len(trials) - 1
    notes = run_folder.read_json(folder, run_folder.RUN)["notes"]
    assert any(f"1 of {len(trials)} trials have no rating" in n for n in notes)
    from bmelearn.report.run import RunData
    from bmelearn.report.sections import flow

    config = yaml.safe_load((folder / run_folder.CONFIG).read_text(encoding="utf-8"))
    read, *_ = flow.steps(RunData(folder, config))
    assert f"{len(trials)} trials" in read.main[0].lines  # every trial read, the unrated one included
    assert read.side[0].lines == ["1 trial: no rating"]


@pytest.mark.parametrize(("labels", "message"), [
    ("{target: soft}", "either file .* or simulate"),
    ("{simulate: [0.9, 0.8], file: x.csv}", "either file .* or simulate"),
    ("{file: no-such-file.csv}", "labels.file: no-such-file.csv is not a file"),
    ("{simulate: [0.9, 0.8], target: best}", "labels.target: 'best' is not majority"),
    ("{simulate: [0.9, 0.8], target: 'rater:C'}", r"no rater 'C'; the raters are \['rater 1', 'rater 2'\]"),
    ("{simulate: [0.9, 1.5]}", "less than or equal to 1"),
])
def test_bad_labels_settings_name_the_key(labels, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [*SMALL, f"labels={labels}"])


def test_soft_labels_are_refused_with_inner_folds():
    with pytest.raises(ConfigError, match="soft labels train on a copy of each window per rater"):
        load_config(None, [*SMALL, SIMULATED, "models=[{name: lda, calibrate: sigmoid}]"])


def test_ratings_of_no_trial_of_the_data_are_a_clear_error(tmp_path):
    path = tmp_path / "ratings.csv"
    pd.DataFrame({"trial": ["x", "x"], "rater": ["A", "B"], "label": ["rest", "rest"]}).to_csv(path, index=False)
    with pytest.raises(DataError, match="none of the rated trials is one of the data's"):
        run(load_config(None, [*SMALL, f"labels={{file: {path}}}"]), tmp_path / "run")
