"""An optional dependency that is not installed is a one-line error at validation, with the
install command, before any data is read (issue 17, item 14)."""

import importlib.util

import pytest

from bmelearn.errors import ConfigError
from bmelearn.runs.config import validate_config


@pytest.fixture
def without(monkeypatch):
    """``without(module)``: validation as on a machine where ``module`` is not installed."""
    real = importlib.util.find_spec

    def hide(module: str):
        monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))

    return hide


@pytest.mark.parametrize("config, module, extra", [
    ({"models": ["cnn"]}, "skorch", "bmelearn[deep]"),
    ({"models": [{"name": "lstm", "max_epochs": 3}]}, "skorch", "bmelearn[deep]"),
    ({"models": ["minirocket"]}, "aeon", "bmelearn[rocket]"),
    ({"execution": {"backend": "dask"}}, "distributed", "bmelearn[dask]"),
])
def test_a_missing_extra_is_named_with_its_install_command(without, config, module, extra):
    without(module)
    with pytest.raises(ConfigError) as error:
        validate_config(config)
    message = str(error.value)
    assert f"pip install '{extra}'" in message or f'pip install "{extra}"' in message
    assert "\n" not in message
