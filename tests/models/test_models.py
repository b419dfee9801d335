import importlib.util
import json

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score
from sklearn.preprocessing import StandardScaler

from bmelearn.errors import ConfigError
from bmelearn.models import MODELS, capabilities, make_model, model_task
from bmelearn.serving import load_model, save_model

ON_FEATURES = [n for n in sorted(MODELS) if capabilities(make_model(n)).input == "features"]
CLASSIFIERS_ON_FEATURES = [n for n in ON_FEATURES if model_task(n) == "classification"]
REGRESSORS = sorted(n for n in MODELS if model_task(n) == "regression")


@pytest.mark.parametrize("name", CLASSIFIERS_ON_FEATURES)  # models on raw windows: tests/models/test_deep.py
def test_every_classifier_on_features_fits_and_predicts(name):
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (40, 4)), rng.normal(3, 1, (40, 4))])
    y = np.array(["rest"] * 40 + ["grip"] * 40)
    model = make_model(name, random_state=0).fit(X, y)
    assert (model.predict(X) == y).mean() > 0.9
    scaled = isinstance(model.steps[0][1], StandardScaler)
    assert scaled == (name in {"svm", "knn", "logreg"})
    assert clone(model).get_params().keys() == model.get_params().keys()


def simulated_linear_target(n=400, seed=0, noise=0.3):
    """Simulated features (n, 6) and a target linear in them: 3 + 2 x0 − x1 + 0.5 x2 + 1.5 x5 plus
    Gaussian noise of SD ``noise`` (R² of the true line ≈ 0.99 for noise 0.3)."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 6))
    return X, 3.0 + X @ np.array([2.0, -1.0, 0.5, 0.0, 0.0, 1.5]) + noise * rng.standard_normal(n)


def test_ridge_learns_a_simulated_linear_target_on_held_out_data():
    X, y = simulated_linear_target()
    X_test, y_test = simulated_linear_target(seed=1)
    model = make_model("ridge", random_state=0).fit(X, y)
    assert r2_score(y_test, model.predict(X_test)) > 0.95  # measured 0.990
    assert isinstance(model.steps[0][1], StandardScaler)
    np.testing.assert_allclose(model.steps[-1][1].coef_ / model.steps[0][1].scale_, [2, -1, 0.5, 0, 0, 1.5], atol=0.1)


def test_random_forest_regressor_learns_a_simulated_linear_target_the_same_way_for_one_seed():
    X, y = simulated_linear_target()
    X_test, y_test = simulated_linear_target(seed=1)
    model = make_model("rf_regressor", random_state=0, n_estimators=50).fit(X, y)
    assert r2_score(y_test, model.predict(X_test)) > 0.8  # measured 0.92 with 100 trees
    again = make_model("rf_regressor", random_state=0, n_estimators=50).fit(X, y)
    # the same trees; their mean is summed by threads in any order: equal to rounding (1e-15)
    np.testing.assert_allclose(again.predict(X_test), model.predict(X_test), rtol=1e-12)
    assert model.steps[-1][1].n_jobs == -1 and len(model.steps) == 1


@pytest.mark.parametrize("name", ["ridge", "rf_regressor"])
def test_regressors_save_and_load_and_predict_the_same(name, tmp_path, deployable):
    X, y = simulated_linear_target(n=60)
    model = make_model(name, random_state=0).fit(X, y)
    save_model(deployable(model), tmp_path / f"{name}.skops")
    np.testing.assert_allclose(load_model(tmp_path / f"{name}.skops").estimator.predict(X), model.predict(X), rtol=1e-12)


def test_model_task_reads_the_registry():
    assert REGRESSORS == ["cnn_regressor", "mlp_regressor", "rf_regressor", "ridge"]
    assert {model_task(n) for n in ("lda", "svm", "rf", "mlp", "cnn", "ordinal_logit", "minirocket")} == {"classification"}
    assert all(MODELS[n].metadata["task"] == model_task(n) for n in MODELS)


def test_model_parameters_and_errors():
    assert make_model("svm", C=10).steps[-1][1].C == 10
    with pytest.raises(ConfigError, match="choose from"):
        make_model("xgboost")
    with pytest.raises(ConfigError, match="svm"):
        make_model("svm", gamma_typo=1)


def test_models_save_and_load_without_pickle(tmp_path, deployable):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 3)), np.array(["a", "b", "c"] * 10)
    model = make_model("rf", random_state=0, n_estimators=5).fit(X, y)
    save_model(deployable(model, ["a", "b", "c"]), tmp_path / "rf.skops")
    loaded = load_model(tmp_path / "rf.skops")
    np.testing.assert_array_equal(loaded.estimator.predict(X), model.predict(X))
    card = json.loads((tmp_path / "rf.json").read_text())
    assert card["classes"] == ["a", "b", "c"] and card["model"] == "Pipeline"
    assert card["signals"]["emg"] == {"fs": 1000.0, "channels": ["EMG1", "EMG2", "EMG3"], "types": ["emg"] * 3,
                                      "excluded": []}


def test_a_file_that_holds_a_bare_estimator_is_refused(tmp_path):
    import skops.io as sio

    from bmelearn.errors import DataError

    model = make_model("lda").fit(np.random.default_rng(1).normal(size=(30, 3)), np.array(["a", "b", "c"] * 10))
    sio.dump(model, tmp_path / "bare.skops")
    with pytest.raises(DataError, match="bare.skops: holds a Pipeline, not a bmelearn model"):
        load_model(tmp_path / "bare.skops")


NEEDS_SKORCH = pytest.mark.skipif(importlib.util.find_spec("skorch") is None, reason="the networks need PyTorch")
NEEDS_AEON = pytest.mark.skipif(importlib.util.find_spec("aeon") is None, reason="ROCKET needs aeon")


@pytest.mark.parametrize("name, params, message", [
    ("lda", {"solver": "notasolver"}, r"models.2.params.solver: The 'solver' parameter of LinearDiscriminantAnalysis must be"),
    ("logreg", {"solver": "notasolver"}, r"models.2.params.solver: The 'solver' parameter of LogisticRegression must be"),
    ("svm", {"C": -1}, r"models.2.params.C: The 'C' parameter of SVC must be a float in the range \(0.0, inf\]. Got -1"),
    ("knn", {"n_neighbors": 0}, r"models.2.params.n_neighbors: The 'n_neighbors' parameter of KNeighborsClassifier"),
    ("rf", {"max_depth": "deep"}, r"models.2.params.max_depth: The 'max_depth' parameter of RandomForestClassifier"),
    ("ridge", {"alpha": -1}, r"models.2.params.alpha: The 'alpha' parameter of Ridge must be"),
    ("rf_regressor", {"n_estimators": 0}, r"models.2.params.n_estimators: The 'n_estimators' parameter of RandomForestRegressor"),
    pytest.param("cnn_regressor", {"lr": 0}, r"models.2.params.lr: The 'lr' parameter of NeuralNetworkRegressor",
                 marks=NEEDS_SKORCH),
    pytest.param("mlp_regressor", {"augment": {"shift": 1}},
                 r"models.2.params.augment: .* of NeuralNetworkRegressor must be None", marks=NEEDS_SKORCH),
    pytest.param("mlp", {"hidden": [8, -1]}, r"models.2.params.hidden: The 'hidden' parameter of NeuralNetwork must be a list of layer",
                 marks=NEEDS_SKORCH),
    pytest.param("mlp", {"augment": {"shift": 1}}, r"models.2.params.augment: .* must be None for mlp",
                 marks=NEEDS_SKORCH),
    pytest.param("cnn", {"augment": {"warp": 1}}, r"models.2.params.augment: .* Got \{'warp': 1\} instead",
                 marks=NEEDS_SKORCH),
    pytest.param("gru", {"dropout": 1.5}, r"models.2.params.dropout: The 'dropout' parameter of NeuralNetwork",
                 marks=NEEDS_SKORCH),
    pytest.param("minirocket", {"n_kernels": 0}, r"models.2.params.n_kernels: The 'n_kernels' parameter of Rocket",
                 marks=NEEDS_AEON),
])
def test_model_parameters_are_checked_without_data_naming_the_key(name, params, message):
    with pytest.raises(ConfigError, match=message):
        make_model(name, None, "models.2", **params)


@NEEDS_SKORCH
def test_valid_network_parameters_are_kept():
    network = make_model("cnn", 0, hidden=[16, 32], augment={"shift": 1, "noise": 0.1}).steps[-1][1]
    assert network.hidden == (16, 32) and network.augment == {"shift": 1, "noise": 0.1}


@NEEDS_SKORCH
@NEEDS_AEON
def test_network_and_rocket_parameters_are_checked_without_importing_pytorch_or_aeon():
    import subprocess
    import sys

    code = ("import sys\nfrom bmelearn.runs.config import load_config\n"
            "try:\n    load_config(None, ['models=[{name: cnn, lr: -1}]'])\nexcept Exception as exc:\n    print(exc)\n"
            "load_config(None, ['models=[{name: cnn, hidden: [8]}, minirocket]'])\n"
            "print(sorted(m for m in ('torch', 'skorch', 'aeon') if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "models.0.params.lr: The 'lr' parameter of NeuralNetwork" in out and out.strip().endswith("[]")
