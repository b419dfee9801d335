"""A run whose target is continuous (evaluation.task: regression), on the simulator's
continuous effort (simulated proportional control)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import r2_score

from bmelearn.errors import ConfigError, DataError
from bmelearn.evaluation.regression import bland_altman
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.serving import load_model
from bmelearn.serving.online import OnlineDecoder

SMALL = ["dataset.n_subjects=3", "dataset.n_repetitions=6", "dataset.duration=1.0", "models=[ridge, rf_regressor]",
         "evaluation.n_boot=50", "execution.cache=false"]


@pytest.fixture(scope="module")
def regression_run(tmp_path_factory):
    return run(load_config("examples/regression.yaml", SMALL), tmp_path_factory.mktemp("regression") / "run").folder


def test_a_continuous_target_is_scored_by_its_own_metrics(regression_run):
    results = run_folder.read_table(regression_run, run_folder.RESULTS)
    assert set(results["metric"]) == {"r2", "rmse", "mae", "pearson_r"}
    predictions = pd.read_parquet(regression_run / run_folder.PREDICTIONS)
    assert predictions["true"].dtype == float and predictions["predicted"].dtype == float
    # each subject's R² is that of its out-of-fold predictions
    r2 = results[results["metric"] == "r2"].set_index(["pipeline", "protocol", "subject"])
    for key, part in predictions.groupby(["pipeline", "protocol", "subject"]):
        row = r2.loc[[key]]
        assert row["value"].iloc[0] == pytest.approx(r2_score(part["true"], part["predicted"]))
        assert row["ci_low"].iloc[0] <= row["value"].iloc[0] <= row["ci_high"].iloc[0]
    summary = run_folder.read_json(regression_run, run_folder.SUMMARY)[run_folder.SUMMARY_PROTOCOLS]
    assert summary["loso"]["ridge"]["pearson_r"]["mean"] > 0.8  # the EMG amplitude follows the simulated effort


def test_a_second_run_reads_the_fitted_values_back_from_the_cache(tmp_path):
    config = load_config("examples/regression.yaml", [*SMALL[:3], "models=[ridge]", "protocols=[cross_session]",
                                                      "evaluation.n_boot=20"])
    first = run(config, tmp_path / "first").folder
    stages = []
    second = run(config, tmp_path / "second", lambda stage, done, total: stages.append(stage)).folder
    assert any("(done before)" in stage for stage in stages)
    pd.testing.assert_frame_equal(pd.read_parquet(first / run_folder.PREDICTIONS),
                                  pd.read_parquet(second / run_folder.PREDICTIONS))


def test_bland_altman_agreement_is_written_per_model_and_evaluation(regression_run):
    table = run_folder.read_table(regression_run, run_folder.BLAND_ALTMAN)
    assert len(table) == 4 and set(table["unit"]) == {"cluster"}
    predictions = pd.read_parquet(regression_run / run_folder.PREDICTIONS).query("pipeline == 'ridge' and protocol == 'loso'")
    by_hand = bland_altman(predictions["true"], predictions["predicted"], predictions["trial"])
    row = table.query("pipeline == 'ridge' and protocol == 'loso'").iloc[0]
    assert row["bias"] == pytest.approx(by_hand["bias"]) and row["upper"] == pytest.approx(by_hand["upper"])


def test_the_report_of_a_regression_speaks_of_values_not_classes(regression_run):
    report = (regression_run / run_folder.REPORT).read_text()
    assert 'id="regression"' in report and "Bland–Altman" in report
    assert 'id="headline"' not in report and 'id="confusion"' not in report
    assert "a continuous value of each trial to predict" in report
    assert re.search(r"R² of [a-z -]+ \((cross-session|leave-one-subject-out)\): 0\.\d+ \(95% interval", report)  # TRIPOD 23a
    assert 'href="#headline"' not in report  # the checklist points to the sections this report has
    assert "Paired over participants, R². Difference: the first model&#39;s mean minus the second&#39;s, in the metric" in report


def test_a_saved_regressor_predicts_values_and_is_refused_online(regression_run):
    from bmelearn.datasets.simulator import simulate

    model = load_model(regression_run / run_folder.MODELS / "ridge.skops")
    trial = simulate(n_subjects=1, n_repetitions=1, duration=1.0, continuous=True, seed=5).select(modalities="emg")[0]
    table = model.predict({"emg": trial})
    assert list(table.columns) == ["window", "start", "end", "predicted"]
    assert np.isfinite(table["predicted"]).all()
    with pytest.raises(DataError, match="online decoding takes a classifier"):
        OnlineDecoder(model)


@pytest.mark.parametrize(("settings", "message"), [
    (["evaluation.task=regression", "models=[lda]"], r"models: \['lda'\] do not do regression"),
    (["evaluation.task=regression", "models=[ridge]", "evaluation.positive=x"], "evaluation.positive: applies to classes"),
    (["models=[ridge]"], r"models: \['ridge'\] do not do classification"),
    (["evaluation.task=regression", "models=[ridge]", "evaluation.compare=accuracy"], "not a metric of regression"),
])
def test_a_task_and_its_models_and_metrics_must_agree(settings, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["dataset.continuous=true", *settings])


def test_a_regression_needs_a_value_for_every_trial(tmp_path):
    config = load_config(None, ["evaluation.task=regression", "models=[ridge]", *SMALL[:3], "protocols=[cross_session]"])
    with pytest.raises(DataError, match="trials have no numeric value to learn"):
        run(config, tmp_path / "run")
