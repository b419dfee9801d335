import numpy as np
import pytest
from sklearn.base import clone
from sklearn.discriminant_analysis import LinearDiscriminantAnalysis

from bmelearn.errors import ConfigError
from bmelearn.features.selection import ForwardSelection
from bmelearn.runs.config import load_config
from bmelearn.runs.experiment import run
from bmelearn.serving import load_model


def informative_data(seed=0):
    """Groups A and B carry the class (B only given A), C and D are noise; 2 columns per group."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 60)
    a = (y % 2)[:, None] * 2.0 + rng.normal(size=(240, 2))
    b = (y // 2)[:, None] * 2.0 + rng.normal(size=(240, 2))
    noise = rng.normal(size=(240, 4))
    order = rng.permutation(240)
    return np.hstack([noise[:, :2], a, noise[:, 2:], b])[order], y[order], ["C", "C", "A", "A", "D", "D", "B", "B"]


def test_forward_selection_finds_the_informative_features_and_stops():
    X, y, groups = informative_data()
    selector = ForwardSelection(LinearDiscriminantAnalysis(), groups=groups, n_features=4, tol=0.05).fit(X, y)
    assert sorted(selector.selected_) == ["A", "B"]  # noise groups add nothing: selection stops at two
    np.testing.assert_array_equal(selector.get_support(), np.isin(groups, ["A", "B"]))
    assert selector.transform(X).shape == (240, 4)
    assert selector.scores_[1][1] > selector.scores_[0][1] + 0.2  # the second group adds ~ 45 points
    assert clone(selector).get_params()["n_features"] == 4


def test_selection_from_the_yaml_runs_inside_each_training_fold(tmp_path):
    cfg = load_config(None, [
        "dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.5", "models=[lda]", "protocols=[cross_session]",
        "features={emg: [HTD, RMS, SKEW], selection: {method: forward, n_features: 2}}",
    ])
    result = run(cfg, tmp_path / "forward")
    model = load_model(result.folder / "models" / "lda.skops").estimator
    selector = model.named_steps["select"]
    assert len(selector.selected_) <= 2 and all(g.startswith("emg:") for g in selector.selected_)
    assert result.summary["cross_session"]["lda"]["accuracy"]["mean"] > 0.6

    cfg = load_config(None, ["dataset.n_subjects=2", "dataset.n_repetitions=2", "dataset.duration=1.5", "models=[lda]",
                             "protocols=[cross_session]", "features={emg: [HTD], selection: {method: mutual_info, n_features: 5}}"])
    model = load_model(run(cfg, tmp_path / "mi").folder / "models" / "lda.skops").estimator
    assert model.named_steps["select"].get_support().sum() == 5


def test_bad_selection_is_a_clear_config_error():
    with pytest.raises(ConfigError, match="selection.method"):
        load_config(None, ["features={emg: [HTD], selection: {method: lasso, n_features: 2}}"])
    with pytest.raises(ConfigError, match="n_features"):
        load_config(None, ["features={emg: [HTD], selection: {method: anova, n_features: 0}}"])
