"""The README as a new user follows it: every command of its first screen and its Python quick
start run on a fresh install without any data (simulated recordings only), and its list of
public datasets is the one ``bmelearn datasets`` prints."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from bmelearn.cli import app
from bmelearn.datasets import DATASETS
from bmelearn.runs.config import read_yaml, validate_config

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def block(heading: str, language: str) -> str:
    """The first ``language`` code block under the README's ``heading``."""
    section = README[README.index(heading):]
    return re.search(rf"```{language}\n(.*?)```", section, re.DOTALL).group(1)


def test_every_command_of_the_first_screen_runs_without_data(tmp_path):
    commands = [line for line in block("## The main command", "bash").splitlines() if line.strip()]
    assert len(commands) >= 6 and commands[0].startswith("bmelearn run ")
    shutil.copytree(ROOT / "examples", tmp_path / "examples")  # as in a clone, without ../shared/data
    env = os.environ | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}", "COLUMNS": "200"}
    env.pop("BMELEARN_DATA", None)
    for command in commands[1:]:  # the first is the demo, run by tests of its own
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    predictions = pd.read_csv(tmp_path / "predictions.csv")
    assert len(predictions) == 18  # 2 s at 1000 Hz: 0.25 s windows every 0.1 s, 1 + floor(1.75 / 0.1)
    assert (predictions["predicted"] == "pronation").mean() > 0.5
    validate_config(read_yaml((tmp_path / "my-experiment.yaml").read_text(), "my-experiment.yaml"))


def test_the_python_quick_start_runs_on_the_simulator(capsys):
    code = block("## Quick start from Python", "python")
    assert "../shared/data" not in code.split("#")[0]
    exec(compile(code, "README quick start", "exec"), {})
    mean = float(re.search(r"'mean': (?:np\.float64\()?([0-9.]+)", capsys.readouterr().out).group(1))
    assert 0.8 < mean < 0.9  # simulated, 3 subjects, HTD and LDA across sessions: 0.838


def test_public_datasets_say_where_they_come_from():
    listing = CliRunner().invoke(app, ["datasets"], env={"COLUMNS": "400"})
    assert listing.exit_code == 0
    section = README[README.index("## Public datasets"):]
    for entry in DATASETS.values():
        assert f"`{entry.name}`" in section, entry.name
        first_words = " ".join(entry.metadata["source"].split()[:4])
        assert first_words in " ".join(listing.output.split()), entry.name


@pytest.mark.parametrize("command, expected", [(["--version"], r"^\d+\.\d+\.\d+$"), (["version"], r"^\d+\.\d+\.\d+$")])
def test_version(command, expected):
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0 and re.match(expected, result.output.strip())
