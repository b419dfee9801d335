"""The one registry pattern: lookups and parameter checks that name the key, and every kind built on it."""

from collections.abc import Sequence

import numpy as np
import pytest
from typer.testing import CliRunner

from bmelearn.cli import KINDS, app
from bmelearn.datasets import DATASETS
from bmelearn.errors import ConfigError
from bmelearn.evaluation.metrics import METRICS, OVERALL, classification_metrics
from bmelearn.evaluation.protocols import PROTOCOLS
from bmelearn.evaluation.robustness import PERTURBATIONS
from bmelearn.features import FEATURES
from bmelearn.models import MODELS
from bmelearn.registry import REQUIRED, Entry, PositiveFloat, Registry
from bmelearn.signals.preprocessing import STEPS, preprocessing_steps


def smooth(rec, width: float = 0.1, mode="mean", *args, **kwargs):
    """Moving average over ``width`` seconds.

    More text that is not the description."""
    return rec


def cut(rec, at):
    """Keep the samples before ``at`` seconds."""
    return rec


@pytest.fixture
def steps():
    return Registry("step", [Entry.of(smooth, data_args=1), Entry.of(cut, data_args=1, unit="s")])


def test_entry_from_a_function(steps):
    entry = steps["smooth"]
    assert entry.name == "smooth" and entry.obj is smooth
    assert entry.description == "Moving average over width seconds."
    assert dict(entry.parameters) == {"width": 0.1, "mode": "mean"}  # data and *args, **kwargs left out
    assert steps["cut"].parameters == {"at": REQUIRED} and steps["cut"].metadata == {"unit": "s"}
    assert Entry.of(smooth, "avg", "Average.", {"n": 3}).parameters == {"n": 3}
    assert list(steps) == ["smooth", "cut"] and len(steps) == 2 and "cut" in steps and "trim" not in steps


def test_get_names_the_key_and_the_choices(steps):
    assert steps.get("cut", "preprocessing.1") is steps["cut"]
    with pytest.raises(ConfigError, match=r"^preprocessing\.1: unknown step 'trim'; choose from \['cut', 'smooth'\]\.$"):
        steps.get("trim", "preprocessing.1")


def test_check_parameters_names_the_unknown_and_the_allowed(steps):
    assert steps.check_parameters("smooth", {"width": 0.2}, "preprocessing.0") is steps["smooth"]
    with pytest.raises(ConfigError, match=r"^preprocessing\.0: step smooth has no parameter\(s\) \['size', 'wide'\]; "
                                          r"allowed: \['width', 'mode'\]\.$"):
        steps.check_parameters("smooth", {"wide": 1, "size": 2, "width": 3}, "preprocessing.0")
    with pytest.raises(ConfigError, match="allowed: none"):
        Registry("step", [Entry("rectify", "Rectify.")]).check_parameters("rectify", {"x": 1}, "preprocessing.0")
    with pytest.raises(ConfigError, match=r"preprocessing\.0: unknown step 'trim'"):
        steps.check_parameters("trim", {}, "preprocessing.0")


def test_an_entry_may_need_a_package_and_a_name_is_registered_once(steps):
    registry = Registry("model", [Entry("fancy", "Needs a package.", metadata={"requires": ("no_such_module_x", "bmelearn[x]")})])
    with pytest.raises(ConfigError, match=r'models\.0: model fancy needs no_such_module_x: pip install "bmelearn\[x\]"'):
        registry.get("fancy", "models.0")
    with pytest.raises(ValueError, match="registered twice"):
        steps.add(Entry("cut", "Again."))


@pytest.mark.parametrize("registry", [STEPS, FEATURES, PROTOCOLS, MODELS, DATASETS, PERTURBATIONS, METRICS])
def test_every_kind_is_a_registry_of_described_entries(registry):
    assert isinstance(registry, Registry) and len(registry)
    for name, entry in registry.items():
        assert entry.name == name and entry.description and "\n" not in entry.description


def test_what_the_report_reads_from_the_registries():
    from bmelearn.report.text import step_words

    required = {"resample": {"fs": 500}, "joint_angles": {"angles": {"elbow": ["RSHO", "RELB", "RWRI"]}}}
    words = {name: step_words({name: required.get(name, {})}) for name in STEPS}
    assert words["bandpass"] == "band-pass filtered between 20 and 450 Hz"
    assert words["joint_angles"] == ("low-pass filtered at 6 Hz and turned into the joint angle elbow at RELB (between RSHO "
                                     "and RWRI), with its angular velocity")
    assert all(words.values())
    assert all(PROTOCOLS[name].metadata["label"] for name in PROTOCOLS)
    assert PROTOCOLS["loso"].description == PROTOCOLS["loso"].obj.description
    y = np.array(["a", "b", "a", "b"])
    computed = {metric for metric, _, _ in classification_metrics(y, y[::-1], ["a", "b"], np.eye(2)[[0, 1, 1, 0]])}
    assert computed == set(METRICS)  # every metric computed is described, and only those
    assert OVERALL == ("accuracy", "balanced_accuracy", "kappa", "macro_f1")


def test_preprocessing_steps_from_python_are_checked_once_by_the_registry():
    assert preprocessing_steps([{"bandpass": {"low": 10}}, {"rectify": None}]) == [("bandpass", {"low": 10}), ("rectify", {})]
    with pytest.raises(ConfigError, match=r"preprocessing\.1: step notch has no parameter\(s\) \['hz'\]; allowed: \['freq'"):
        preprocessing_steps([{"rectify": {}}, {"notch": {"hz": 60}}])


@pytest.mark.parametrize("kind", list(KINDS))
def test_list_command(kind):
    result = CliRunner().invoke(app, ["list", kind], env={"COLUMNS": "300"})
    assert result.exit_code == 0, result.output
    assert {"steps": "bandpass", "features": "MAV", "protocols": "loso", "models": "svm", "datasets": "simulator",
            "perturbations": "powerline_hz=50.0", "adaptations": "align_adaptive",
            "metrics": "balanced_accuracy"}[kind] in result.output


def test_list_command_refuses_an_unknown_kind():
    result = CliRunner().invoke(app, ["list", "widgets"])
    assert result.exit_code == 2 and "choose from ['steps', 'features'" in result.output


def limit(rec, width: PositiveFloat = 0.1, mode: str = "mean", channels: Sequence[int] | None = None):
    """Keep ``channels`` and limit them over ``width`` seconds."""
    return rec


@pytest.mark.parametrize("params, message", [
    ({"width": "abc"}, r"^preprocessing\.0\.limit\.width: 'abc' is not valid \(input should be a valid number\); "
                       r"expected finite number > 0\.$"),
    ({"width": 0}, r"limit\.width: 0 is not valid \(input should be greater than 0\)"),
    ({"width": float("inf")}, r"limit\.width: inf is not valid \(input should be a finite number\)"),
    ({"width": True}, r"limit\.width: True is not valid"),
    ({"mode": 5}, r"limit\.mode: 5 is not valid \(input should be a valid string\); expected text\.$"),
    ({"channels": "12"}, r"limit\.channels: '12' is not valid \('str' instances are not allowed as a Sequence value\); "
                         r"expected list\[integer\] \| null\.$"),
    ({"channels": [1, "a"]}, r"limit\.channels\[1\]: 'a' is not valid \(input should be a valid integer\)"),
])
def test_parameter_values_are_checked_against_their_types(params, message):
    steps = Registry("step", [Entry.of(limit, data_args=1)])
    assert set(steps["limit"].types) == {"width", "mode", "channels"}
    assert steps.check_parameters("limit", {"width": 2, "channels": [1, 2], "mode": "max"}, "preprocessing.0")
    with pytest.raises(ConfigError, match=message):
        steps.check_parameters("limit", params, "preprocessing.0")
    with pytest.raises(ConfigError, match=r"^options\.width: 'x'"):
        steps.check_parameters("limit", {"width": "x"}, "preprocessing.0", at="options")


@pytest.mark.parametrize("registry", [STEPS, FEATURES, PROTOCOLS, DATASETS])
def test_every_parameter_of_an_experiment_file_has_a_type(registry):
    for name, entry in registry.items():
        assert set(entry.types) == set(entry.parameters), (registry.kind, name)
