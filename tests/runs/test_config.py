import pytest
import yaml

from bmelearn.errors import ConfigError
from bmelearn.runs.config import apply_overrides, load_config, validate_config


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
        ("dataset: {name: ninapro}", r"dataset: unknown dataset 'ninapro'; choose from \['3dc', 'breast-cancer', 'daphnet', 'emg-rps'"),
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
