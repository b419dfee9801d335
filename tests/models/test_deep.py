"""Neural networks: tiny ones, few epochs (full-size runs live in examples/ and benchmarks/)."""

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.metrics import r2_score

from bmelearn.datasets.simulator import simulate
from bmelearn.errors import ConfigError
from bmelearn.models import make_model
from bmelearn.models.deep import NeuralNetwork, NeuralNetworkRegressor
from bmelearn.runs.config import load_config
from tests.models.test_models import simulated_linear_target

pytest.importorskip("torch", reason="the neural networks need PyTorch (pip install -e '.[test]')")


def _two_tones(n=120, channels=3, times=64, seed=0):
    """Windows of class 'low' (a 3-cycle sine) and 'high' (a 12-cycle sine), with noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(times) / times
    y = np.array(["low", "high"] * (n // 2))
    cycles = np.where(y == "low", 3, 12)[:, None, None]
    X = np.sin(2 * np.pi * cycles * t) * rng.uniform(0.5, 2, (n, channels, 1)) + 0.3 * rng.standard_normal((n, channels, times))
    return X, y


@pytest.mark.parametrize("architecture", ["cnn", "lstm", "gru"])
def test_raw_window_networks_learn_two_tones(architecture):
    X, y = _two_tones()
    model = NeuralNetwork(architecture, hidden=(8,), blocks=2, max_epochs=15, lr=1e-2, patience=15).fit(X, y)
    X_test, y_test = _two_tones(seed=1)
    assert np.mean(model.predict(X_test) == y_test) > 0.9
    assert set(model.classes_) == {"low", "high"} and model.predict_proba(X_test).shape == (120, 2)
    assert model.history_[0]["epoch"] == 1 and "valid_loss" in model.history_[0] and model.train_seconds_ > 0


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "rmsprop", "adam"])
def test_mlp_every_activation_and_optimizer(activation, optimizer):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((160, 4))
    y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    model = make_model("mlp", 0, hidden=[16], activation=activation, optimizer=optimizer, lr=0.05, max_epochs=40, patience=40)
    model.fit(X, y)
    assert np.mean(model.predict(X) == y) > 0.8


def test_same_seed_same_network_and_clone():
    X, y = _two_tones(n=40)
    a = NeuralNetwork("cnn", hidden=(4,), blocks=1, max_epochs=3, random_state=3).fit(X, y).predict_proba(X)
    b = NeuralNetwork("cnn", hidden=(4,), blocks=1, max_epochs=3, random_state=3).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert clone(NeuralNetwork("gru", hidden=(5,))).get_params()["hidden"] == (5,)


def test_validation_windows_are_the_last_of_each_class():
    mask = NeuralNetwork(validation=0.25)._validation_mask(np.array([0] * 8 + [1] * 4))
    assert list(np.flatnonzero(mask)) == [6, 7, 11]


def test_bad_network_settings_are_config_errors():
    X, y = _two_tones(n=20)
    with pytest.raises(ConfigError, match="models.mlp: The 'optimizer' parameter of NeuralNetwork must be a str among"):
        NeuralNetwork(optimizer="adagrad").fit(X, y)
    with pytest.raises(ConfigError, match="takes raw windows"):
        NeuralNetwork("cnn").fit(X.reshape(20, -1), y)
    with pytest.raises(ConfigError, match=r"models: model mlp has no parameter\(s\) \['width'\]; allowed: \['activation'"):
        make_model("mlp", width=3)


def test_mlp_in_an_experiment(tmp_path):
    from bmelearn.runs.experiment import run

    cfg = load_config(None, ["dataset.n_subjects=2", "dataset.duration=1.0", "protocols=[cross_session]", "evaluation.n_boot=50",
                             "models=[{name: mlp, hidden: [16], max_epochs: 20}]"])
    result = run(cfg, tmp_path / "mlp")
    assert result.results.query("metric == 'accuracy'")["value"].mean() > 0.5


def test_saved_network_loads_without_pickle_and_predicts_the_same(tmp_path, deployable):
    from bmelearn.serving import load_model, save_model

    X, y = _two_tones(n=40)
    model = make_model("mlp", 0, hidden=[8], max_epochs=3).fit(X.reshape(40, -1), y)
    save_model(deployable(model, ["high", "low"]), tmp_path / "mlp.skops")
    loaded = load_model(tmp_path / "mlp.skops")
    np.testing.assert_allclose(loaded.estimator.predict_proba(X.reshape(40, -1)), model.predict_proba(X.reshape(40, -1)),
                               rtol=1e-6)
    assert loaded.classes == ["high", "low"]


def test_raw_window_network_beside_a_classical_model_in_an_experiment(tmp_path):
    from bmelearn.runs.experiment import run
    from bmelearn.serving import load_model

    cfg = load_config(None, [
        "dataset.n_subjects=2", "dataset.duration=1.0", "protocols=[cross_session]", "evaluation.n_boot=50",
        "models=[lda, {name: cnn, hidden: [8], blocks: 2, max_epochs: 5}]",
        "evaluation.robustness={electrode_shift: [0, 1]}", "evaluation.learning_curve=[1]",
    ])
    result = run(cfg, tmp_path / "cnn")
    assert set(result.results["pipeline"]) == {"lda", "cnn"}
    assert set(result.robustness["pipeline"]) == {"lda", "cnn"} and set(result.comparisons["pipeline_b"]) == {"cnn"}
    model = load_model(result.folder / "models" / "cnn.skops")
    assert model.card()["input"] == "raw emg windows" and model.estimator.steps[-1][1].input_shape_ == (8, 200)
    trial = simulate(n_subjects=1, n_repetitions=1, duration=1.0, seed=5).select(labels="hand close")
    table = model.predict({"emg": next(r for r in trial if r.modality == "emg")})  # raw EMG windows: no acc needed
    assert len(table) == 9 and np.allclose(table.filter(like="p:").sum(axis=1), 1.0)


def test_augmentation_draws_new_variants_and_keeps_labels():
    from bmelearn.models.networks import Augmented

    X = np.arange(2 * 4 * 10, dtype=np.float32).reshape(2, 4, 10)
    rolled = Augmented(X, np.array([0, 1]), {"shift": 1}, seed=0)
    draws = {tuple(rolled[0][0][:, 0]) for _ in range(30)}
    assert draws == {tuple(np.roll(X[0], k, axis=0)[:, 0]) for k in (-1, 0, 1)}  # rotations by −1, 0, +1 electrodes
    dropped = Augmented(X + 1, np.array([0, 1]), {"dropout": 2}, seed=0)
    assert all((dropped[1][0] == 0).all(axis=1).sum() <= 2 for _ in range(20)) and dropped[1][1] == 1
    model = NeuralNetwork("cnn", hidden=(8,), blocks=2, max_epochs=5, augment={"shift": 1, "noise": 0.1, "scale": 0.2})
    X2, y2 = _two_tones(n=60)
    assert set(model.fit(X2, y2).predict(X2)) <= {"low", "high"}
    with pytest.raises(ConfigError, match="The 'augment' parameter of NeuralNetwork must be a mapping of .* Got {'warp': 1}"):
        NeuralNetwork("cnn", augment={"warp": 1}).fit(X2, y2)


def test_fine_tuning_starts_from_the_trained_weights_and_goes_on_training():
    X, y = _two_tones(n=80)
    features = X.std(axis=2) * np.where(y == "low", 1, -1)[:, None]  # a linearly separable MLP input
    model = NeuralNetwork("mlp", hidden=(8,), optimizer="sgd", lr=0.1, max_epochs=30, patience=30).fit(features, y)
    before = model.predict_proba(features)
    model.fine_tune(features, y, lr=0.0, max_epochs=2)  # no step: the same network, two more epochs in the history
    np.testing.assert_allclose(model.predict_proba(features), before, rtol=1e-5)
    assert [h["stage"] for h in model.history_[-2:]] == ["fine_tune"] * 2 and model.history_[0]["stage"] == "fit"
    swapped = np.where(y == "low", "high", "low")
    model.fine_tune(features, swapped, lr=0.1, max_epochs=30)  # it learns: the labels swap
    assert np.mean(model.predict(features) == swapped) > 0.9
    with pytest.raises(ConfigError, match="classes \\['other'\\] were not in the pretraining data"):
        model.fine_tune(features, np.array(["other"] * len(y)))


def test_no_validation_split_trains_every_epoch_on_all_windows():
    X, y = _two_tones(n=40)
    model = NeuralNetwork("cnn", hidden=(4,), blocks=1, max_epochs=4, validation=0).fit(X, y)
    assert len(model.history_) == 4 and "valid_loss" not in model.history_[0]
    with pytest.raises(ConfigError, match=r"The 'validation' parameter of NeuralNetwork must be a float in the range \[0.0, 1.0\)"):
        NeuralNetwork(validation=1.0).fit(X, y)


def test_every_epoch_is_reported_to_the_progress_listener():
    from bmelearn.models.deep import training_progress

    X, y = _two_tones(n=40)
    seen = []
    with training_progress(seen.append):
        NeuralNetwork("gru", hidden=(4,), max_epochs=3, patience=5).fit(X, y)
    NeuralNetwork("gru", hidden=(4,), max_epochs=2).fit(X, y)  # outside the block: nobody listens
    assert [s["epoch"] for s in seen] == [1, 2, 3] and {s["network"] for s in seen} == {"gru"}
    assert all(s["max_epochs"] == 3 and 0 <= s["valid_acc"] <= 1 and s["train_loss"] > 0 for s in seen)


def _subjects_with_one_swapped(n_subjects=3, swapped="3"):
    """Two-tone windows of subjects 1..n (2 sessions × 2 repetitions × 2 classes, 10 windows per
    trial); for subject ``swapped`` the tones of the two classes are exchanged."""
    rows, arrays = [], []
    for s in range(1, n_subjects + 1):
        for session in ("train", "test"):
            for rep in range(2):
                for label in ("low", "high"):
                    tone = label if str(s) != swapped else {"low": "high", "high": "low"}[label]
                    X, _ = _two_tones(n=20, seed=len(rows))
                    X = X[np.array(["low", "high"] * 10) == tone]
                    arrays.append(X)
                    rows += [{"subject": str(s), "session": session, "repetition": rep, "label": label,
                              "trial": f"{s}/{session}/{rep}/{label}", "window": i} for i in range(len(X))]
    import pandas as pd

    return np.concatenate(arrays), pd.DataFrame(rows)


def test_transfer_curve_fine_tunes_a_pretrained_network_to_a_new_subject():
    from bmelearn.evaluation import make_protocol
    from bmelearn.evaluation.transfer import transfer_curve

    X, meta = _subjects_with_one_swapped()
    network = make_model("cnn", 0, hidden=[8], blocks=2, max_epochs=15, lr=0.01, patience=15, batch_size=8)
    curve = transfer_curve(X, meta, {"cnn": network}, {"cross_session": make_protocol("cross_session")}, [1, 2],
                           ["high", "low"], n_boot=20)
    accuracy = curve.query("metric == 'accuracy'").set_index(["subject", "training", "repetitions"])["value"]
    assert set(accuracy.index.get_level_values("repetitions")) == {0, 1, 2}
    assert accuracy["3", "subject-independent", 0] < 0.2  # pretrained on subjects whose tones are the other way round
    assert accuracy["3", "fine-tuned", 2] > 0.8 and accuracy["3", "from scratch", 2] > 0.8
    assert accuracy["1", "subject-independent", 0] < 0.8  # subjects 2 and 3 disagree: pretraining cannot learn both
    assert (curve["ci_low"] <= curve["value"]).all() and (curve["value"] <= curve["ci_high"]).all()


def test_transfer_needs_folds_that_train_and_test_within_one_subject():
    from bmelearn.evaluation import make_protocol
    from bmelearn.evaluation.transfer import transfer_curve

    X, meta = _subjects_with_one_swapped()
    network = make_model("mlp", 0, hidden=[4], max_epochs=1)
    with pytest.raises(ConfigError, match="trains on no window of the test subject"):
        transfer_curve(X.reshape(len(X), -1), meta, {"mlp": network}, {"loso": make_protocol("loso")}, [1], ["high", "low"])
    with pytest.raises(ConfigError, match="cannot be fine-tuned"):
        transfer_curve(X.reshape(len(X), -1), meta, {"lda": make_model("lda")}, {"loso": make_protocol("loso")}, [1],
                       ["high", "low"])


def test_transfer_curve_training_curves_and_timings_in_an_experiment(tmp_path):
    import pandas as pd

    from bmelearn.runs.experiment import run

    cfg = load_config(None, [
        "dataset.n_subjects=2", "dataset.duration=1.0", "protocols=[cross_session]", "evaluation.n_boot=20",
        "models=[lda, {name: cnn, hidden: [8], blocks: 2, max_epochs: 3}]", "evaluation.transfer=[1]",
    ])
    folder = run(cfg, tmp_path / "transfer").folder
    transfer = pd.read_csv(folder / "transfer.csv")
    assert set(transfer["pipeline"]) == {"cnn"} and set(transfer["training"]) == {"subject-independent", "from scratch",
                                                                                    "fine-tuned"}
    history = pd.read_csv(folder / "training_history.csv")
    assert set(history["pipeline"]) == {"cnn"} and len(history) >= 1
    timings = pd.read_csv(folder / "timings.csv")
    assert set(timings["pipeline"]) == {"lda", "cnn"} and (timings["fit_seconds"] > 0).all()
    html = (folder / "report.html").read_text()
    assert "Learning from other participants" in html and 'id="timings-table"' in html and "epochs" in html
    with pytest.raises(ConfigError, match="evaluation.transfer: no model can be fine-tuned"):
        run(load_config(None, ["dataset.n_subjects=2", "models=[lda]", "evaluation.transfer=[1]"]), tmp_path / "none")


@pytest.mark.parametrize("name", ["minirocket", "multirocket"])
def test_rocket_classifiers_learn_two_tones_and_reload_safely(name, tmp_path, deployable):
    pytest.importorskip("aeon", reason="ROCKET needs aeon (pip install -e '.[test]')")
    from bmelearn.serving import load_model, save_model

    X, y = _two_tones()
    model = make_model(name, 0, n_kernels=500).fit(X, y)
    X_test, y_test = _two_tones(seed=1)
    assert np.mean(model.predict(X_test) == y_test) > 0.9
    save_model(deployable(model), tmp_path / f"{name}.skops")
    loaded = load_model(tmp_path / f"{name}.skops").estimator
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))


def test_a_rocket_fit_too_large_for_memory_is_refused_with_a_size_that_fits():
    from bmelearn.models.rocket import check_memory

    check_memory("multirocket", 2_000, 10_000, total_bytes=24 * 10**9)  # 2.4 GB: fits
    with pytest.raises(ConfigError, match=r"multirocket: 17387 windows × 50000 features would need about 28 GB, more than "
                                          r"this machine's 24 GB; set n_kernels to 6888 or fewer"):
        check_memory("multirocket", 17_387, 10_000, total_bytes=24 * 10**9)


def test_transfer_units_give_one_curve_on_every_backend_and_resume_from_the_checkpoint(tmp_path):
    import pandas as pd

    from bmelearn.compute.backends import Execution, running
    from bmelearn.compute.checkpoint import Checkpoint
    from bmelearn.evaluation import make_protocol
    from bmelearn.evaluation.transfer import transfer_curve

    X, meta = _subjects_with_one_swapped()
    args = (X.reshape(len(X), -1), meta, {"mlp": make_model("mlp", 0, hidden=[4], max_epochs=5)},
            {"cross_session": make_protocol("cross_session")}, [1], ["high", "low"])
    with running(Execution("sequential")):
        sequential = transfer_curve(*args, n_boot=20, checkpoint=Checkpoint(tmp_path))
    n_subjects = meta["subject"].nunique()
    assert len(list(tmp_path.glob("*.npz"))) == n_subjects  # one unit per test subject
    with running(Execution("processes", 2)):
        pd.testing.assert_frame_equal(transfer_curve(*args, n_boot=20), sequential)
    steps = []
    resumed = transfer_curve(*args, n_boot=20, checkpoint=Checkpoint(tmp_path), on_fit=steps.append)
    assert len(steps) == n_subjects and all(s.endswith("(done before)") for s in steps)
    pd.testing.assert_frame_equal(resumed, sequential)


def _windows_of_random_amplitude(n=200, channels=2, times=32, seed=0):
    """Raw windows of white noise, each at its own amplitude (SD drawn uniformly in 0.2-2), and
    their RMS: a continuous target that only the windows' amplitude tells."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0.2, 2.0, (n, 1, 1)) * rng.standard_normal((n, channels, times))
    return X, np.sqrt((X**2).mean(axis=(1, 2)))


def test_mlp_regressor_learns_a_simulated_linear_target_in_its_units():
    X, y = simulated_linear_target()
    X_test, y_test = simulated_linear_target(seed=1)
    model = make_model("mlp_regressor", 0, hidden=[32], lr=0.01, max_epochs=40, patience=10).fit(X, 1000 * y + 5000)
    network = model.steps[-1][1]
    assert abs(network.target_mean_ - 1000 * y.mean() - 5000) < 1e-6 and abs(network.target_scale_ - 1000 * y.std()) < 1e-3
    predicted = model.predict(X_test)
    assert predicted.shape == (400,) and predicted.dtype == np.float64
    assert r2_score(1000 * y_test + 5000, predicted) > 0.9  # measured 0.985: predictions back in the target's units
    assert "valid_loss" in network.history_[0] and "valid_acc" not in network.history_[0]


def test_cnn_regressor_learns_the_amplitude_of_raw_windows_with_augmentation():
    X, y = _windows_of_random_amplitude()
    X_test, y_test = _windows_of_random_amplitude(seed=1)
    # rolling the electrodes or the time axis keeps a window's RMS: augmentations that keep the target
    model = make_model("cnn_regressor", 0, hidden=[8], blocks=2, lr=0.02, max_epochs=15, patience=15, batch_size=32,
                       augment={"shift": 1, "time_shift": 0.25}).fit(X, y)
    assert r2_score(y_test, model.predict(X_test)) > 0.8  # measured 0.99


def test_same_seed_same_network_regressor_and_another_seed_another():
    X, y = _windows_of_random_amplitude(n=40)

    def predictions(seed):
        network = NeuralNetworkRegressor("cnn", hidden=(4,), blocks=1, max_epochs=3, random_state=seed)
        return network.fit(X, y).predict(X)

    np.testing.assert_array_equal(predictions(3), predictions(3))
    assert not np.allclose(predictions(3), predictions(4))


def test_regressor_validation_windows_are_the_last_in_their_order():
    assert list(np.flatnonzero(NeuralNetworkRegressor(validation=0.25)._validation_mask(np.linspace(5, 0, 12)))) == [9, 10, 11]
    assert not NeuralNetworkRegressor(validation=0)._validation_mask(np.ones(12)).any()
    X, y = _windows_of_random_amplitude(n=40)
    model = NeuralNetworkRegressor("cnn", hidden=(4,), blocks=1, max_epochs=4, validation=0).fit(X, y)
    assert len(model.history_) == 4 and "valid_loss" not in model.history_[0]


def test_bad_regressor_targets_and_settings_are_refused():
    X, y = _windows_of_random_amplitude(n=20)
    with pytest.raises(ValueError, match="Input y contains NaN"):
        NeuralNetworkRegressor("cnn").fit(X, np.where(np.arange(20) == 3, np.nan, y))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NeuralNetworkRegressor("cnn").fit(X, y[:-1])
    with pytest.raises(ConfigError, match="models.cnn_regressor takes raw windows"):
        NeuralNetworkRegressor("cnn").fit(X.reshape(20, -1), y)
    with pytest.raises(ConfigError, match="models.mlp_regressor: The 'augment' parameter of NeuralNetworkRegressor must be None"):
        NeuralNetworkRegressor("mlp", augment={"noise": 0.1}).fit(X.reshape(20, -1), y)


def test_fine_tuning_a_regressor_keeps_its_target_units_and_goes_on_training():
    X, y = simulated_linear_target(n=200)
    model = NeuralNetworkRegressor("mlp", hidden=(16,), lr=0.01, max_epochs=20, patience=20).fit(X, y)
    before, units = model.predict(X), (model.target_mean_, model.target_scale_)
    model.fine_tune(X, y, lr=0.0, max_epochs=2)  # no step: the same predictions, two more epochs
    np.testing.assert_allclose(model.predict(X), before, rtol=1e-5)
    assert (model.target_mean_, model.target_scale_) == units and [h["stage"] for h in model.history_[-2:]] == ["fine_tune"] * 2
    mirrored = 2 * units[0] - y  # the same mean and SD
    model.fine_tune(X, mirrored, lr=0.02, max_epochs=40)  # it learns the mirrored target, in the same units
    assert r2_score(mirrored, model.predict(X)) > 0.9


def test_regressor_epochs_are_reported_under_its_registry_name():
    from bmelearn.models.deep import training_progress

    X, y = _windows_of_random_amplitude(n=40)
    seen = []
    with training_progress(seen.append):
        make_model("cnn_regressor", 0, hidden=[4], blocks=1, max_epochs=2, patience=5).fit(X, y)
    assert [s["epoch"] for s in seen] == [1, 2] and {s["network"] for s in seen} == {"cnn_regressor"}
    assert all("valid_loss" in s and "valid_acc" not in s for s in seen)


def test_a_saved_network_regressor_loads_without_pickle_and_predicts_the_same(tmp_path, deployable):
    from bmelearn.serving import load_model, save_model

    X, y = _windows_of_random_amplitude(n=40)
    model = make_model("cnn_regressor", 0, hidden=[4], blocks=1, max_epochs=3).fit(X, y)
    save_model(deployable(model), tmp_path / "cnn_regressor.skops")
    loaded = load_model(tmp_path / "cnn_regressor.skops").estimator
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    assert loaded.steps[-1][1].target_scale_ == model.steps[-1][1].target_scale_
