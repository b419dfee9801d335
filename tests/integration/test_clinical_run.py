"""Runs for clinical reporting, on the simulator: ordered classes, what was left out (for the
flow diagram) and the labels to check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import bmelearn.runs.plan as plan
from bmelearn.datasets import load_dataset
from bmelearn.evaluation.ordinal import ordinal_scores
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.serving import load_model

SMALL = ["dataset.n_subjects=3", "dataset.n_repetitions=2", "dataset.duration=1.0", "evaluation.n_boot=50",
         "execution.cache=false"]


@pytest.fixture(scope="module")
def ordinal_run(tmp_path_factory):
    config = load_config("examples/ordinal.yaml", [*SMALL, "models=[ordinal_logit, lda]", "protocols=[loso]"])
    return run(config, tmp_path_factory.mktemp("ordinal") / "run").folder


def test_ordered_classes_are_scored_on_their_scale(ordinal_run):
    summary = run_folder.read_table(ordinal_run, run_folder.ORDINAL_SUMMARY)
    assert set(summary["metric"]) == {"quadratic_kappa", "mean_absolute_error"}
    assert set(summary["pipeline"]) == {"ordinal_logit", "lda"}
    predictions = pd.read_parquet(ordinal_run / run_folder.PREDICTIONS)
    per_subject, again = ordinal_scores(predictions, ["0", "1", "2", "3", "4"], 50, 0.95, 0)
    by_hand = per_subject.groupby(["pipeline", "metric"])["value"].mean()
    written = summary.set_index(["pipeline", "metric"])["mean"]
    for key, value in by_hand.items():
        assert written[key] == pytest.approx(value)
    report = (ordinal_run / run_folder.REPORT).read_text()
    assert 'id="ordinal"' in report and "0 &lt; 1 &lt; 2 &lt; 3 &lt; 4" in report


def test_an_ordinal_model_is_given_the_classes_order(ordinal_run):
    model = load_model(ordinal_run / run_folder.MODELS / "ordinal_logit.skops")
    assert [str(c) for c in model.estimator.get_params()["ordinal_logit__order"]] == ["0", "1", "2", "3", "4"]


def test_suspect_labels_are_written_for_the_report(ordinal_run):
    suspects = run_folder.read_table(ordinal_run, run_folder.SUSPECTS)
    assert list(suspects.columns[:5]) == ["rank", "trial", "subject", "label", "suggested"]
    assert len(suspects) and (suspects["label"] != suspects["suggested"]).all()
    assert suspects["p_label"].is_monotonic_increasing and list(suspects["rank"]) == list(range(1, len(suspects) + 1))
    assert 'id="suspects"' in (ordinal_run / run_folder.REPORT).read_text()


def test_channels_left_out_are_counted_with_their_reason(tmp_path, monkeypatch):
    def with_flat(name, **options):  # the simulator's EMG3 made flat
        recordings = load_dataset(name, **options)
        return recordings.like(r.with_data(np.where(np.arange(r.n_channels)[:, None] == 2, 0.0, r.data))
                               if r.modality == "emg" else r for r in recordings)

    monkeypatch.setattr(plan, "load_dataset", with_flat)
    config = load_config(None, [*SMALL, "models=[lda]", "protocols=[cross_session]", "bads={emg: [EMG5, EMG3]}"])
    folder = run(config, tmp_path / "run").folder
    excluded = run_folder.read_table(folder, run_folder.EXCLUSIONS)
    assert excluded.to_dict(orient="records") == [
        {"level": "channel", "count": 1, "reason": "EMG EMG3: flat (no signal)"},
        {"level": "channel", "count": 1, "reason": "EMG EMG5: excluded by name in the experiment file (bads)"}]
    assert "EMG EMG5: excluded by name" in (folder / run_folder.REPORT).read_text()


def test_labels_are_checked_on_models_that_knew_the_subject():
    from bmelearn.evaluation.protocols import CrossSession, LeaveOneSubjectOut
    from bmelearn.runs.study import within_subjects

    predictions = pd.DataFrame({"protocol": ["loso", "cross_session", "loso"], "trial": ["a", "a", "b"]})
    both = {"loso": LeaveOneSubjectOut(), "cross_session": CrossSession()}
    assert list(within_subjects(predictions, both)["protocol"]) == ["cross_session"]
    only_loso = predictions[predictions["protocol"] == "loso"]
    assert within_subjects(only_loso, {"loso": LeaveOneSubjectOut()}).equals(only_loso)  # nothing else to use


def test_an_ordinal_scale_is_given_or_made_of_numbers():
    from bmelearn.errors import ConfigError
    from bmelearn.runs.plan import make_plan

    ordinal = make_plan(load_config(None, ["evaluation.ordinal=true"]))
    assert ordinal.scale(["10", "2", "0"]) == ("0", "2", "10")  # numbers by value, not as text
    with pytest.raises(ConfigError, match=r"evaluation.ordinal: the classes \['low', 'high'\] are not numbers"):
        ordinal.scale(["low", "high"])
    given = make_plan(load_config(None, ["evaluation.ordinal=true", "dataset.classes=[rest, hand close]"]))
    assert given.scale(["rest", "hand close"]) == ("rest", "hand close")
    assert make_plan(load_config(None, [])).scale(["low", "high"]) == ()  # not ordinal
