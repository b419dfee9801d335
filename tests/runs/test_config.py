import importlib.util

import pytest
import yaml

from bmelearn.errors import ConfigError
from bmelearn.runs.config import _UniqueKeyLoader, apply_overrides, load_config, validate_config


def _write(tmp_path, text):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return path


def test_demo_config_is_valid_and_complete():
    cfg = load_config(None)
    assert cfg.dataset.name == "simulator"
    assert [m.key for m in cfg.models] == ["lda", "svm", "rf"]
    assert [next(iter(p)) for p in cfg.protocols] == ["within_session", "cross_session", "loso"]
    assert cfg.features.per_modality == {"emg": ["HTD", "RMS"], "acc": ["MAV"]}


def test_examples_are_valid():
    for name in ("3dc", "one-subject-myo", "emg-rps"):
        cfg = load_config(f"examples/{name}.yaml")
        assert cfg.features.per_modality == {"emg": ["HTD"]}
        assert [m.name for m in cfg.models] == ["lda"]
    compare = load_config("examples/3dc-compare.yaml")
    assert [m.name for m in compare.models] == ["lda", "svm", "rf"]
    assert compare.evaluation.robustness.levels == {"electrode_shift": [0, 1, 2]}
    tabular = load_config("examples/breast-cancer.yaml")
    assert tabular.windows.whole and tabular.evaluation.operating_point.value == 0.95


def test_shorthands_and_model_parameters(tmp_path):
    cfg = load_config(
        _write(
            tmp_path,
            """
dataset: {name: simulator, n_subjects: 2}
features: {emg: [MAV, ZC], params: {ZC: {threshold: 0.01}}}
models: [lda, {name: svm, label: svm-c10, C: 10}]
protocols: [loso, {within_session: {n_splits: 2}}]
preprocessing: [rectify, {lowpass: {cutoff: 10}}]
""",
        )
    )
    assert cfg.dataset.options == {"n_subjects": 2}
    assert cfg.features.params == {"ZC": {"threshold": 0.01}}
    assert cfg.models[1].key == "svm-c10" and cfg.models[1].params == {"C": 10}
    assert cfg.protocols == [{"loso": {}}, {"within_session": {"n_splits": 2}}]
    assert cfg.preprocessing == [{"rectify": {}}, {"lowpass": {"cutoff": 10}}]


@pytest.mark.parametrize(
    "text, message",
    [
        ("windows: {lenght: 0.2}", r"windows.lenght: unknown key; allowed keys: \['length', 'step', 'whole'\]"),
        ("datset: {name: 3dc}", r"datset: unknown key"),
        ("windows: {length: -1}", r"windows.length: Input should be greater than 0"),
        ("dataset: {name: ninapro}", r"dataset: unknown dataset 'ninapro'; choose from \['3dc', 'bids', 'breast-cancer', 'daphnet', 'emg-rps'"),
        ("dataset: {name: 3dc}", r"set dataset.path"),
        ("dataset: {name: 3dc, path: x, subject: [1]}", r"dataset: dataset 3dc has no parameter\(s\) \['subject'\]; allowed: \['path', 'subjects'"),
        ("features: [HTD, MAVV]", r"unknown feature or group 'MAVV'"),
        ("features: {emg: [ZC], params: {ZC: {thresh: 1}}}", r"features.params: feature ZC has no parameter\(s\) \['thresh'\]; allowed: \['threshold'\]"),
        ("models: [lda, xgboost]", r"models.1: .*unknown model 'xgboost'; choose from"),
        ("models: [{name: svm, gama: 2}]", r"models.0: model svm has no parameter\(s\) \['gama'\]; allowed: \['C',"),
        ("models: [lda, lda]", r"two models share a name"),
        ("protocols: [kfold]", r"protocols.0: .*unknown protocol 'kfold'"),
        ("protocols: [{within_session: {k: 3}}]", r"protocols.0: protocol within_session has no parameter\(s\) \['k'\]; allowed: \['n_splits'\]"),
        ("preprocessing: [{bandpass: {lo: 20}}]", r"preprocessing.0: step bandpass has no parameter\(s\) \['lo'\]; allowed: \['low', 'high'"),
        ("preprocessing: [{smooth: {}}]", r"preprocessing.0: unknown step 'smooth'; choose from \['bandpass'"),
        ("models: []", r"models: List should have at least 1 item"),
    ],
)
def test_bad_configs_name_the_key(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(_write(tmp_path, text))


def test_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "windows: [unclosed"))
    with pytest.raises(ConfigError, match="YAML mapping"):
        validate_config(["a", "b"])


def test_overrides():
    raw = yaml.safe_load("dataset: {name: simulator}\nmodels: [lda, svm]\n")
    out = apply_overrides(raw, ["windows.length=0.25", "dataset.n_subjects=3", "models.1=rf", "dataset.subjects=[1, 2]"])
    assert out["windows"] == {"length": 0.25}
    assert out["dataset"] == {"name": "simulator", "n_subjects": 3, "subjects": [1, 2]}
    assert out["models"] == ["lda", "rf"]
    with pytest.raises(ConfigError, match="key.path=value"):
        apply_overrides({}, ["windows.length"])
    with pytest.raises(ConfigError, match="not an index"):
        apply_overrides({"models": ["lda"]}, ["models.4=svm"])
    cfg = load_config(None, ["dataset.n_subjects=2", "protocols=[cross_session]"])
    assert cfg.dataset.options["n_subjects"] == 2 and cfg.protocols == [{"cross_session": {}}]


@pytest.mark.parametrize("label", ["../../../escaped", "/tmp/x", ".hidden", "a/b", "", "x" * 65])
def test_a_model_label_is_a_name_not_a_path(label):
    with pytest.raises(ConfigError, match=r"models\.0\.label: .* is not a name; a label names the model's files"):
        load_config(None, [f"models=[{{name: lda, label: '{label}'}}]"])
    assert load_config(None, ["models=[{name: svm, label: svm-c10.v2, C: 10}]"]).models[0].key == "svm-c10.v2"


# --- issue 16, items 8 and 9: the whole file checked before any work, one line naming the key ---------------------


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(ConfigError, match=r"exp.yaml: not UTF-8 text \(byte 0xe9 at position 9\); save the file as UTF-8"):
        load_config(path)


def test_a_set_value_that_is_not_yaml_names_the_set_argument():
    with pytest.raises(ConfigError, match=r"^--set 'windows.length=\[0.2': the value: not valid YAML: line 1, column 5: "
                                          r"expected ',' or '\]'"):
        load_config(None, ["windows.length=[0.2"])


@pytest.mark.parametrize("setting, message", [
    ("windows.length=.inf", r"windows.length: Input should be a finite number, got inf"),
    ("windows.step=0.0000001", r"windows.step: 1e-07 s is shorter than one sample of emg at 1000 Hz; use 0.001 s or more"),
    ("windows.length=0.001", r"windows.length: 0.001 s gives 1 sample\(s\) of emg at 1000 Hz"),
    ("windows.length=5", r"windows.length: 5 s is longer than the 3 s trials of 'simulator'"),
])
def test_windows_are_checked_against_the_sampling_rate_and_the_trials(setting, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [setting])


def test_a_step_longer_than_the_window_leaves_gaps_and_is_allowed():
    assert load_config(None, ["windows={length: 0.2, step: 0.5}"]).windows.step == 0.5


def test_subjects_must_be_a_list_of_subject_ids(tmp_path):
    with pytest.raises(ConfigError, match=r"dataset.subjects: 'one' is not valid \('str' instances are not allowed as a "
                                          r"Sequence value\); expected list\[integer\] \| null"):
        load_config(None, [f"dataset={{name: 3dc, path: {tmp_path}, subjects: one}}"])


def test_feature_parameters_are_checked_against_their_declared_types():
    with pytest.raises(ConfigError, match=r"features.params.ZC.threshold: 'abc' is not valid \(input should be a valid "
                                          r"number\); expected finite number"):
        load_config(None, ["features={emg: [ZC], params: {ZC: {threshold: abc}}}"])
    with pytest.raises(ConfigError, match=r"features.params.AR.order: 0 is not valid"):
        load_config(None, ["features={emg: [AR], params: {AR: {order: 0}}}"])


@pytest.mark.parametrize("model, message", [
    ("{name: lda, solver: notasolver}", r"models.0.params.solver: The 'solver' parameter of LinearDiscriminantAnalysis"),
    ("{name: logreg, solver: notasolver}", r"models.0.params.solver: The 'solver' parameter of LogisticRegression"),
    ("{name: svm, C: -1}", r"models.0.params.C: The 'C' parameter of SVC must be a float in the range \(0.0, inf\]. Got -1"),
    ("{name: knn, n_neighbors: 0}", r"models.0.params.n_neighbors: The 'n_neighbors' parameter of KNeighborsClassifier"),
    pytest.param("{name: cnn, lr: -1}", r"models.0.params.lr: The 'lr' parameter of NeuralNetwork",
                 marks=pytest.mark.skipif(importlib.util.find_spec("skorch") is None, reason="needs PyTorch")),
    pytest.param("{name: minirocket, n_kernels: 0}", r"models.0.params.n_kernels: The 'n_kernels' parameter of Rocket",
                 marks=pytest.mark.skipif(importlib.util.find_spec("aeon") is None, reason="needs aeon")),
])
def test_model_parameters_are_checked_when_the_file_is_read(model, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, [f"models=[{model}]"])


def test_an_empty_file_is_an_error_not_the_demo(tmp_path):
    with pytest.raises(ConfigError, match=r"exp.yaml is empty; write an experiment in it .* or run `bmelearn run` with no "
                                          r"file for the demo"):
        load_config(_write(tmp_path, "# just a comment\n"))


def test_a_key_given_twice_is_an_error_naming_it_and_its_line(tmp_path):
    with pytest.raises(ConfigError, match=r"exp.yaml: not valid YAML: line 3, column 1: key 'windows' is given twice "
                                          r"\(first on line 1\)"):
        load_config(_write(tmp_path, "windows: {length: 0.2}\nname: x\nwindows: {step: 0.1}\n"))
    anchors = "base: &base {length: 0.2, step: 0.1}\n"  # a merge key may be overridden: not a duplicate
    raw = yaml.load(anchors + "windows: {<<: *base, step: 0.05}\n", Loader=_UniqueKeyLoader)
    assert raw["windows"] == {"length": 0.2, "step": 0.05}


def test_more_folds_than_repetitions_is_an_error_when_the_dataset_says_so():
    with pytest.raises(ConfigError, match=r"protocols.0.within_session.n_splits: 100 is not a number of folds here; "
                                          r"'simulator' has 3 repetitions of each class in a session, so choose 2 to 3"):
        load_config(None, ["protocols=[{within_session: {n_splits: 100}}]"])


def test_session_lists_are_lists_not_strings():
    with pytest.raises(ConfigError, match=r"protocols.0.cross_session.train: 'session1' is not a list of sessions; write "
                                          r"e.g. train: \[session1\]"):
        load_config(None, ["protocols=[{cross_session: {train: session1}}]"])


def test_forward_selection_of_more_features_than_configured_is_an_error():
    with pytest.raises(ConfigError, match=r"features.selection.n_features: 1000, but forward selection picks whole features "
                                          r"and only 4 are configured; choose 1 to 4"):
        load_config(None, ["features={emg: [HTD], selection: {method: forward, n_features: 1000}}"])


def test_session_names_are_checked_before_loading(tmp_path):
    with pytest.raises(ConfigError, match=r"protocols.0.cross_session.test: sessions \['day2'\] are not sessions of "
                                          r"'simulator'; choose from \['session1', 'session2'\]"):
        load_config(None, ["protocols=[{cross_session: {train: [session1], test: [day2]}}]"])
    with pytest.raises(ConfigError, match=r"protocols.0.cross_session.train: sessions \['training'\] are not sessions of "
                                          r"'3dc'; choose from \['train', 'test'\]"):
        load_config(None, [f"dataset={{name: 3dc, path: {tmp_path}}}", "features=[HTD]",
                           "protocols=[{cross_session: {train: [training]}}]"])


def test_validation_errors_are_one_line():
    with pytest.raises(ConfigError) as error:
        load_config(None, ["windows={lenght: 0.2}", "seed=-1"])
    assert "\n" not in str(error.value)
    assert str(error.value) == ("demo: invalid configuration: seed: Input should be greater than or equal to 0, got -1; "
                                "windows.lenght: unknown key; allowed keys: ['length', 'step', 'whole']")


@pytest.mark.parametrize("overrides, message", [
    (["evaluation.primary=loso"], r"evaluation.primary: 'loso' is not a protocol of this experiment; choose one of "
                                  r"\['within_session', 'cross_session'\] \(the protocols list\)"),
    (["models=[{name: lda, calibrate: platt}]"], r"models.0.calibrate: Input should be 'sigmoid', 'isotonic' or "
                                                 r"'temperature', got 'platt'"),
    pytest.param(["models=[lda, {name: minirocket, calibrate: sigmoid}]"],
                 r"models.1.calibrate: minirocket gives one-hot votes, not scores, so there is nothing to calibrate",
                 marks=pytest.mark.skipif(importlib.util.find_spec("aeon") is None, reason="needs aeon")),
])
def test_the_primary_protocol_and_calibration_are_checked_when_the_file_is_read(overrides, message):
    with pytest.raises(ConfigError, match=message):
        load_config(None, ["protocols=[{within_session: {n_splits: 3}}, cross_session]", *overrides])


def test_the_primary_protocol_and_calibrated_models_reach_the_plan():
    from bmelearn.models import capabilities
    from bmelearn.runs.plan import make_plan

    config = load_config(None, ["evaluation.primary=within_session",
                                "models=[lda, {name: logreg, label: calibrated, calibrate: isotonic, C: 0.5}]"])
    assert config.models[1].calibrate == "isotonic" and config.models[1].params == {"C": 0.5}  # the rest: parameters
    plan = make_plan(config)
    assert plan.scoring.primary == "within_session"
    assert [capabilities(m).probabilities for m in plan.models.values()] == ["uncalibrated", "calibrated"]
    calibrated = plan.models["calibrated"].steps[-1][1]
    assert (calibrated.method, calibrated.estimator.steps[-1][1].C) == ("isotonic", 0.5)
    assert make_plan(load_config(None)).scoring.primary is None  # the study then takes the hardest


def test_dataset_classes_may_map_label_numbers_for_datasets_that_read_them(tmp_path):
    """A MATLAB or HDF5 file's labels are numbers: dataset.classes maps them to names, given to the
    loader, and those names are the classes kept; a dataset that names its classes takes a list."""
    (tmp_path / "S1").mkdir()
    config = load_config(None, [f"dataset={{name: files, path: {tmp_path}, pattern: 'S{{subject}}/{{session}}.mat', "
                                "events: labels, fs: 1000.0, ch_names: [A, B], classes: {1: fist, 2: open}}",
                                "features=[HTD]"])
    assert config.dataset.kept == ["fist", "open"]
    assert config.dataset.options["classes"] == {1: "fist", 2: "open"}
    with pytest.raises(ConfigError, match=r"dataset\.classes: 'simulator' names its classes itself; give a list"):
        load_config(None, ["dataset={name: simulator, classes: {1: rest, 2: pronation}}"])


def test_features_log_beside_the_modalities_reaches_the_signal_spec():
    from bmelearn.runs.plan import make_plan

    cfg = load_config(None, ["features={emg: [HTD, LS9], acc: [MAV], log: [MAV, WL]}"])
    assert cfg.features.per_modality == {"emg": ["HTD", "LS9"], "acc": ["MAV"]} and cfg.features.log == ["MAV", "WL"]
    assert make_plan(cfg).signal.log == ["MAV", "WL"]
    assert load_config(None, ["features={emg: [HTD], log: [htd]}"]).features.log == ["htd"]  # a group: its members
    assert load_config(None, ["features=[HTD]"]).features.log == []
    with pytest.raises(ConfigError, match=r"features.log: \['RMS'\] are not among the selected features \['MAV', 'SSC', "
                                          r"'WL', 'ZC'\]"):
        load_config(None, ["features={emg: [HTD], log: [MAV, RMS]}"])
    with pytest.raises(ConfigError, match=r"features.log: \['LS4'\] are not among the selected features"):
        load_config(None, ["features={emg: [HTD, LS], log: [LS4]}"])  # a group whose members are not all selected


def test_an_unknown_feature_to_log_is_named_under_features_log():
    with pytest.raises(ConfigError, match=r"features.log: \['FOO'\] are not among the selected features"):
        load_config(None, ["features={emg: [HTD], log: [FOO]}"])
