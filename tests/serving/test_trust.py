"""Model files load only when every type they hold is one bmelearn saves (crafted files refused)."""

import json
import zipfile

import numpy as np
import pytest
import skops.io as sio
from sklearn.preprocessing import FunctionTransformer

from bmelearn.errors import DataError
from bmelearn.evaluation.operating_point import with_operating_point
from bmelearn.features.selection import with_selection
from bmelearn.models import MODELS, capabilities, make_model, model_task
from bmelearn.models.deep import ARCHITECTURES, REGRESSION_NETWORKS
from bmelearn.serving import DeployableModel, load_model, save_model

WINDOWS = np.random.default_rng(0).normal(size=(60, 3, 50))
LABELS = np.array(["x", "y"] * 30)
WINDOWS[LABELS == "y"] += 1.0
FEATURES = WINDOWS.std(axis=2).repeat(4, axis=1)  # 12 columns
TARGET = WINDOWS.std(axis=(1, 2))  # a continuous target for the regressors
NETWORKS = {*ARCHITECTURES, *REGRESSION_NETWORKS}


def _fitted(name, wrap=None):
    params = {"max_epochs": 1} if name in NETWORKS else {"n_kernels": 84} if "rocket" in name else {}
    model = make_model(name, 0, **params)
    model = wrap(model) if wrap is not None else model
    X = WINDOWS if capabilities(model).input == "windows" else FEATURES
    return model.fit(X, TARGET if model_task(name) == "regression" else LABELS)


def _variants():
    for name in MODELS:
        yield name, None
        if model_task(name) == "classification":  # a threshold on a class's probability
            yield f"{name}+operating point", lambda m: with_operating_point(m, "y", "sensitivity", 0.9)
    for method in ("forward", "mutual_info", "anova"):
        yield f"lda+{method}", lambda m, method=method: with_selection(m, method, 2, [f"g{i // 3}" for i in range(12)], 2)


@pytest.mark.parametrize(("label", "wrap"), list(_variants()), ids=[label for label, _ in _variants()])
def test_every_model_bmelearn_makes_loads(label, wrap, tmp_path, deployable):
    name = label.split("+")[0]
    if "rocket" in name:
        pytest.importorskip("aeon", reason="ROCKET needs aeon (pip install -e '.[test]')")
    if name in NETWORKS:
        pytest.importorskip("torch", reason="the networks need PyTorch (pip install -e '.[test]')")
    model = _fitted(name, wrap)
    save_model(deployable(model, ["x", "y"] if model_task(name) == "classification" else []), tmp_path / "m.skops")
    loaded = load_model(tmp_path / "m.skops")
    X = WINDOWS if capabilities(model).input == "windows" else FEATURES
    if model_task(name) == "regression":  # a forest's mean is summed by threads in any order: equal up to rounding
        np.testing.assert_allclose(loaded.estimator.predict(X), model.predict(X), rtol=1e-12)
    else:
        np.testing.assert_array_equal(loaded.estimator.predict(X), model.predict(X))


def test_a_function_step_that_writes_files_is_refused(tmp_path, deployable):
    """The attack: a step that calls a library function writing to a path of the attacker's choice."""
    from sklearn.datasets import dump_svmlight_file
    from sklearn.pipeline import Pipeline

    target = tmp_path / "written.txt"
    model = _fitted("lda")
    step = FunctionTransformer(dump_svmlight_file, kw_args={"y": np.zeros(1), "f": str(target)})
    sio.dump(DeployableModel(deployable(model).signal, Pipeline([("leak", step), *model.steps]), ["x", "y"], {}),
             tmp_path / "evil.skops")
    with pytest.raises(DataError, match=r"evil.skops: refusing to load a model file that holds "
                                        r"\['sklearn.datasets._svmlight_format_io.dump_svmlight_file', "
                                        r"'sklearn.preprocessing._function_transformer.FunctionTransformer'\]"):
        load_model(tmp_path / "evil.skops")
    assert not target.exists()


def _rewrite_schema(source, destination, change):
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(destination, "w") as new:
        for item in old.infolist():
            data = old.read(item.filename)
            if item.filename == "schema.json":
                data = json.dumps(change(json.loads(data))).encode()
            new.writestr(item, data)


def test_tampered_truncated_and_foreign_files_are_refused_with_a_message(tmp_path, deployable):
    save_model(deployable(_fitted("lda"), ["x", "y"]), tmp_path / "good.skops")

    def popen(schema):
        schema["__module__"], schema["__class__"] = "subprocess", "Popen"
        return schema

    _rewrite_schema(tmp_path / "good.skops", tmp_path / "tampered.skops", popen)
    with pytest.raises(DataError, match=r"tampered.skops: refusing to load .* \['subprocess.Popen'\]"):
        load_model(tmp_path / "tampered.skops")
    data = (tmp_path / "good.skops").read_bytes()
    (tmp_path / "truncated.skops").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="truncated.skops: not a model file written by bmelearn"):
        load_model(tmp_path / "truncated.skops")
    (tmp_path / "text.skops").write_text("not a zip")
    with pytest.raises(DataError, match="text.skops: not a model file written by bmelearn"):
        load_model(tmp_path / "text.skops")
    _rewrite_schema(tmp_path / "good.skops", tmp_path / "broken.skops", lambda schema: schema | {"content": 5})
    with pytest.raises(DataError, match="broken.skops: the model file is damaged"):
        load_model(tmp_path / "broken.skops")
