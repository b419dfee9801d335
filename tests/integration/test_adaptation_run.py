"""A run with the adaptation curve (evaluation.adaptation) on simulated EMG whose second session
is recorded with the armband rotated by one electrode: the files, the report and the checks of
the configuration."""

from __future__ import annotations

import pytest

from bmelearn.errors import ConfigError
from bmelearn.runs import folder as run_folder
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run

SMALL = ["dataset.n_subjects=3", "dataset.n_repetitions=4", "dataset.duration=1.0", "evaluation.n_boot=50",
         "execution.cache=false"]


@pytest.fixture(scope="module")
def adaptation_run(tmp_path_factory):
    return run(load_config("examples/adaptation.yaml", SMALL), tmp_path_factory.mktemp("adaptation") / "run").folder


def test_the_run_writes_the_curve_its_means_the_comparisons_and_the_rotations(adaptation_run):
    curve = run_folder.read_table(adaptation_run, run_folder.ADAPTATION)
    assert set(curve["method"]) == {"none", "recentre", "self_train", "retrain", "scratch", "adaptive", "align",
                                    "align_adaptive"}
    assert set(curve["repetitions"]) == {0, 1, 2}
    summary = run_folder.read_table(adaptation_run, run_folder.ADAPTATION_SUMMARY)
    accuracy = summary[(summary["metric"] == "accuracy") & (summary["class"] == "")].set_index(
        ["pipeline", "shift", "method", "repetitions"])["mean"]
    # the simulated second session is rotated by 1 electrode: the alignment finds it and wins most of it back
    assert accuracy[("lda", 0.0, "align", 1)] > accuracy[("lda", 0.0, "none", 0)] + 0.3
    rotations = run_folder.read_table(adaptation_run, run_folder.ROTATIONS)
    assert set(rotations["rotation"]) == {-1.0}
    comparisons = run_folder.read_table(adaptation_run, run_folder.ADAPTATION_COMPARISONS)
    assert {"difference", "p_value", "p_holm"} <= set(comparisons.columns) and len(comparisons) > 0


def test_the_report_shows_the_adaptation_section(adaptation_run):
    page = (adaptation_run / run_folder.REPORT).read_text()
    assert 'id="adaptation"' in page and "Adapting to a new day" in page
    assert "Rotations found by the alignment" in page and "rotation aligned" in page
    assert "self-trained" in page and "<strong>Self-trained</strong>" in page
    assert "-1 in every one of the 3 sessions" in page  # each participant's second session, rotated by 1


@pytest.mark.parametrize("overrides, message", [
    (["evaluation.adaptation.methods=[tune]"], r"evaluation.adaptation.methods: .*unknown adaptation methods \['tune'\]"),
    (["evaluation.adaptation.repetitions=[-1]"], r"evaluation.adaptation.repetitions: .*0 or more"),
    (["protocols=[{within_session: {n_splits: 2}}]"], r"evaluation.adaptation: needs a protocol that tests other sessions"),
    (["evaluation.adaptation={repetitions: [0], methods: [adaptive]}"],
     r"evaluation.adaptation.repetitions: adaptive learns from the new session's first repetitions"),
    (["labels={simulate: [0.9, 0.8, 0.7], target: soft}"], r"labels.target: the adaptation curve .* one label per window"),
    (["evaluation.adaptation.electrode_shift=[x]"], r"evaluation.adaptation.electrode_shift.0"),
])
def test_a_bad_adaptation_setting_names_its_key(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config("examples/adaptation.yaml", overrides)


def test_a_regression_refuses_the_adaptation_curve():
    with pytest.raises(ConfigError, match="evaluation.adaptation: applies to classes"):
        load_config("examples/regression.yaml", ["evaluation.adaptation={repetitions: [0, 1]}"])


def test_too_many_calibration_repetitions_are_refused_before_any_fit(tmp_path):
    config = load_config("examples/adaptation.yaml", [*SMALL, "evaluation.adaptation.repetitions=[0, 4]"])
    stages = []
    with pytest.raises(ConfigError, match="4 calibration repetitions leave nothing to test"):
        run(config, tmp_path / "run", lambda stage, done, total: stages.append(stage))
    assert not any(stage.startswith("evaluating") for stage in stages)
    assert not (tmp_path / "run" / run_folder.SUMMARY).exists()


def test_the_guide_settings_of_the_adaptation_are_valid():
    import json
    import re
    from pathlib import Path

    import yaml

    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "adaptation.md").read_text(encoding="utf-8")
    section = page[page.index("# Adapting to a new day"):]
    settings = yaml.safe_load(re.search(r"```yaml\n(.*?)```", section, re.DOTALL).group(1))["evaluation"]["adaptation"]
    config = load_config("examples/adaptation.yaml", [f"evaluation.adaptation={json.dumps(settings)}"])
    assert config.evaluation.adaptation.repetitions == [0, 1, 2, 4]
    assert config.evaluation.adaptation.methods == settings["methods"]


def test_a_second_run_reads_the_adaptation_units_back_from_the_checkpoint(tmp_path):
    config = load_config("examples/adaptation.yaml", [*SMALL[:4], "models=[lda]",
                                                      "evaluation.adaptation.methods=[none, adaptive, align]"])
    first = run(config, tmp_path / "first").folder
    stages = []
    second = run(config, tmp_path / "second", lambda stage, done, total: stages.append(stage)).folder
    assert any(stage.startswith("evaluating: adaptation:") and stage.endswith("(done before)") for stage in stages)
    for name in (run_folder.ADAPTATION, run_folder.ROTATIONS):
        a, b = run_folder.read_table(first, name), run_folder.read_table(second, name)
        assert a.equals(b), name
